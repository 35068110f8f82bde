#!/bin/sh
# afk's reference agent entrypoint (contrib/agent-image, docs/kubernetes.md):
# the agent's wrapper, in one of two modes.
#
# With afk's workspace (runner.workspace = "afk", docs/how-it-works.md: afk sets
# AFK_WORKSPACE=afk) afk made the checkout, on $AFK_BRANCH, and pushes and
# opens the pull request itself: this script clones nothing, pushes nothing,
# reads no token (a GIT_TOKEN in the environment is not handed on) and writes
# no git configuration. It runs the agent command (its arguments) in the
# current directory, the prompt ($AFK_PROMPT_FILE) on its standard input,
# and exits with the agent's status. It may run anywhere (the command runner
# starts it on afk's host).
#
# Otherwise (runner.workspace = "agent": the agent brings its own git) it is
# the container command of an agent's Job, and it
#   1. configures git from GIT_TOKEN with a credential helper for the forge's
#      address only: the token stays in this process's environment, never on
#      a command line, in a URL, in .git/config or in any file;
#   2. clones $AFK_REPO from the forge and checks out $AFK_BRANCH (the remote
#      one when a turn before this one pushed it);
#   3. runs the agent command (this script's arguments) in the checkout, the
#      prompt ($AFK_PROMPT_FILE) on its standard input;
#   4. pushes $AFK_BRANCH when it holds commits the forge does not have, and
#      opens the pull request (GitLab: the merge request) through the forge's
#      API when the agent did not: "Closes #$AFK_ISSUE", so afk finds it;
#   5. exits with the agent's status.
# Steps 1 and 2 write git's global configuration in $HOME and a checkout in
# $AGENT_WORKDIR: harmless in a container made for it, harmful in a person's
# or afk's own home. So this mode runs only with AGENT_IN_CONTAINER=1, which
# contrib/agent-image/Containerfile sets (set it only in an image of your own
# made for this script), and it clones only into a folder that is missing or
# empty: it removes nothing, so it never removes what it did not create.
#
# Set by afk (docs/runners.md): AFK_REPO, AFK_BRANCH, AFK_ISSUE, AFK_PROMPT_FILE,
# AFK_PROGRESS_FILE, AFK_WORKSPACE. From the agents' Secret: GIT_TOKEN (and
# the model's key). Set in the image or the Job's env:
#   AGENT_IN_CONTAINER  1: this is a container made for this script (the Containerfile sets it)
#   AGENT_FORGE_URL   the forge's web root, e.g. https://git.example.org (clone: $AGENT_FORGE_URL/$AFK_REPO.git)
#   AGENT_FORGE_API   its API root: https://git.example.org/api/v1 (Gitea), https://api.github.com (GitHub),
#                     https://gitlab.example.org/api/v4 (GitLab)
#   AGENT_FORGE_KIND  gitea (default; forgejo too) | github | gitlab
#   GIT_USER          the user name git sends with the token (default x-access-token, GitLab's oauth2;
#                     Gitea: the agent's login)
#   AGENT_BASE        the pull request's base branch (default: the repository's default branch)
#   AGENT_WORKDIR     where the checkout goes, missing or empty (default $HOME/work)
#   AGENT_GIT_NAME, AGENT_GIT_EMAIL   the commits' author (default "afk agent", agent@afk.invalid)
set -eu

say() { printf 'agent-entrypoint: %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }
progress() { if [ -n "${AFK_PROGRESS_FILE:-}" ]; then printf '%s\n' "$1" >> "$AFK_PROGRESS_FILE"; fi; }

[ "$#" -gt 0 ] || die "no agent command: give it as this script's arguments"

# afk's workspace: the checkout is afk's, and so are the push and the PR
if [ "${AFK_WORKSPACE:-}" = afk ]; then
  unset GIT_TOKEN
  say "afk's workspace: running the agent in $(pwd) (no clone, no push, no token)"
  if [ -n "${AFK_PROMPT_FILE:-}" ] && [ -r "$AFK_PROMPT_FILE" ]; then
    exec "$@" < "$AFK_PROMPT_FILE"
  fi
  exec "$@"
fi

[ "${AGENT_IN_CONTAINER:-}" = 1 ] || die "refusing to run outside its container: without AFK_WORKSPACE=afk it writes git's global config in \$HOME and clones into \$AGENT_WORKDIR; set AGENT_IN_CONTAINER=1 only in an image made for it (contrib/agent-image/Containerfile), or use runner.workspace = \"afk\""

for v in GIT_TOKEN AFK_REPO AFK_BRANCH AFK_ISSUE AGENT_FORGE_URL AGENT_FORGE_API; do
  eval "val=\${$v:-}"
  [ -n "$val" ] || die "$v is not set: see contrib/agent-image/entrypoint.sh"
done
case "${AGENT_FORGE_KIND:-gitea}" in
  gitea|forgejo) kind=gitea ;;
  github) kind=github ;;
  gitlab) kind=gitlab ;;
  *) die "AGENT_FORGE_KIND must be gitea, forgejo, github or gitlab" ;;
esac
# owner/repo; on GitLab a project's full path, groups nested at any depth
case "$AFK_REPO" in
  /*|*/|*//*|*..*|*[!A-Za-z0-9._/-]*) die "AFK_REPO is not owner/repo" ;;
  */*/*) [ "$kind" = gitlab ] || die "AFK_REPO is not owner/repo" ;;
  */*) ;;
  *) die "AFK_REPO is not owner/repo" ;;
esac
case "$AFK_ISSUE" in ''|*[!0-9]*) die "AFK_ISSUE is not a number" ;; esac
case "$AFK_BRANCH" in *[!A-Za-z0-9._/-]*|-*) die "AFK_BRANCH is not a plain branch name" ;; esac
forge=${AGENT_FORGE_URL%/}
api=${AGENT_FORGE_API%/}

export HOME="${HOME:-/home/agent}"
work=${AGENT_WORKDIR:-$HOME/work}
# a checkout goes only where nothing is: nothing is removed to make room
if [ -e "$work" ] || [ -L "$work" ]; then
  [ -d "$work" ] && [ ! -L "$work" ] && [ -z "$(ls -A "$work")" ] ||
    die "$work exists and is not an empty folder: the entrypoint removes nothing; give AGENT_WORKDIR a new path"
fi

# 1. git: the helper answers only for the forge's address, from the
# environment; `printf` is the shell's own, so the token is on no argv.
# GitLab takes a token as the password of user oauth2.
if [ "$kind" = gitlab ]; then export GIT_USER="${GIT_USER:-oauth2}"; fi
export GIT_TERMINAL_PROMPT=0
git config --global --unset-all credential.helper >/dev/null 2>&1 || true
# shellcheck disable=SC2016 # expanded by the helper's shell, when git asks
git config --global credential."$forge".helper \
  '!f() { [ "$1" = get ] || exit 0; printf "username=%s\npassword=%s\n" "${GIT_USER:-x-access-token}" "$GIT_TOKEN"; }; f'
# an authenticated request is not sent on to another host
git config --global http.followRedirects false
git config --global user.name "${AGENT_GIT_NAME:-afk agent}"
git config --global user.email "${AGENT_GIT_EMAIL:-agent@afk.invalid}"

# 2. the checkout
git clone -q "$forge/$AFK_REPO.git" "$work"
cd "$work"
base=${AGENT_BASE:-$(git symbolic-ref --short refs/remotes/origin/HEAD 2>/dev/null | sed 's|^origin/||')}
base=${base:-main}
if git ls-remote --exit-code --heads origin "$AFK_BRANCH" >/dev/null 2>&1; then
  git checkout -q -B "$AFK_BRANCH" "origin/$AFK_BRANCH"
else
  git checkout -q -b "$AFK_BRANCH"
fi

# 3. the agent
status=0
if [ -n "${AFK_PROMPT_FILE:-}" ] && [ -r "$AFK_PROMPT_FILE" ]; then
  "$@" < "$AFK_PROMPT_FILE" || status=$?
else
  "$@" < /dev/null || status=$?
fi
say "the agent exited $status"
cd "$work"

# 4. push what the forge does not have, then the pull request
git checkout -q "$AFK_BRANCH" 2>/dev/null || true
if git rev-parse -q --verify "refs/remotes/origin/$AFK_BRANCH" >/dev/null; then
  ahead=$(git rev-list --count "origin/$AFK_BRANCH..$AFK_BRANCH")
else
  ahead=$(git rev-list --count "origin/$base..$AFK_BRANCH")
fi
if [ "$ahead" -gt 0 ]; then
  git push -q origin "$AFK_BRANCH:refs/heads/$AFK_BRANCH" || { say "push failed"; exit "$([ "$status" -ne 0 ] && echo "$status" || echo 1)"; }
  if [ "$ahead" -eq 1 ]; then commits="1 commit"; else commits="$ahead commits"; fi
  say "pushed $AFK_BRANCH ($commits)"
  progress '{"phase":"pushed"}'
fi
if ! git ls-remote --exit-code --heads origin "$AFK_BRANCH" >/dev/null 2>&1; then
  say "nothing pushed to $AFK_BRANCH: no pull request"
  exit "$status"
fi

# the token reaches curl on its standard input (--config -), never its argv
api_call() { # method path [body]
  case "$kind" in
    github) auth="Authorization: Bearer $GIT_TOKEN"; accept="Accept: application/vnd.github+json" ;;
    gitlab) auth="PRIVATE-TOKEN: $GIT_TOKEN"; accept="Accept: application/json" ;;
    *) auth="Authorization: token $GIT_TOKEN"; accept="Accept: application/json" ;;
  esac
  printf 'header = "%s"\nheader = "%s"\n' "$auth" "$accept" |
    curl -sS --proto '=http,https' --max-redirs 0 --config - -o /dev/null -w '%{http_code}' \
      -X "$1" -H 'Content-Type: application/json' ${3:+--data-binary "$3"} "$api$2"
}
if [ "$kind" = gitlab ]; then
  # the project's full path as one segment; a merge request of the same project
  body=$(printf '{"source_branch":"%s","target_branch":"%s","title":"Fix #%s","description":"Closes #%s"}' "$AFK_BRANCH" "$base" "$AFK_ISSUE" "$AFK_ISSUE")
  code=$(api_call POST "/projects/$(printf '%s' "$AFK_REPO" | sed 's|/|%2F|g')/merge_requests" "$body" || echo 000)
else
  body=$(printf '{"head":"%s","base":"%s","title":"Fix #%s","body":"Closes #%s"}' "$AFK_BRANCH" "$base" "$AFK_ISSUE" "$AFK_ISSUE")
  code=$(api_call POST "/repos/$AFK_REPO/pulls" "$body" || echo 000)
fi
case "$code" in
  201) say "opened the pull request for $AFK_BRANCH" ;;
  409|422) say "a pull request for $AFK_BRANCH is open already" ;;
  *) say "opening the pull request answered $code" ;;
esac
exit "$status"
