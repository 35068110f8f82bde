//! The scheduling files in contrib/ work as written: the Kubernetes manifests
//! parse and hang together (schedules, deadlines, security context, one
//! volume, the Secret), the crontab lines are /etc/cron.d lines that export the
//! env file, the systemd units avoid the known traps, and every config they
//! carry is one afk accepts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use yaml_rust2::{Yaml, YamlLoader};

fn contrib() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
    out.sort();
}

fn all_files() -> Vec<PathBuf> {
    let mut v = vec![];
    files(&contrib(), &mut v);
    v
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Every document of every YAML file in contrib/, with the file it came from.
fn yaml_docs() -> Vec<(PathBuf, Yaml)> {
    let mut docs = vec![];
    for p in all_files() {
        if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            let parsed = YamlLoader::load_from_str(&read(&p))
                .unwrap_or_else(|e| panic!("{}: not YAML: {e}", p.display()));
            assert!(!parsed.is_empty(), "{}: empty", p.display());
            docs.extend(parsed.into_iter().map(|d| (p.clone(), d)));
        }
    }
    docs
}

fn kind_of<'a>(docs: &'a [(PathBuf, Yaml)], kind: &str) -> Vec<&'a (PathBuf, Yaml)> {
    docs.iter()
        .filter(|(_, d)| d["kind"].as_str() == Some(kind))
        .collect()
}

fn name(d: &Yaml) -> &str {
    d["metadata"]["name"].as_str().expect("metadata.name")
}

fn int(y: &Yaml, what: &str) -> i64 {
    y.as_i64()
        .unwrap_or_else(|| panic!("{what} is not a number: {y:?}"))
}

/// The interval of a cron schedule that runs every N minutes
/// (`*/N * * * *` or `A-59/N * * * *`), in seconds.
fn interval_seconds(schedule: &str) -> i64 {
    let f: Vec<&str> = schedule.split_whitespace().collect();
    assert_eq!(f.len(), 5, "{schedule}: five fields");
    assert!(
        f[1..].iter().all(|x| *x == "*"),
        "{schedule}: every hour and day"
    );
    let (range, step) = f[0].split_once('/').expect("a step in the minute field");
    assert!(range == "*" || range.ends_with("-59"), "{schedule}");
    step.parse::<i64>().expect("minutes") * 60
}

fn interval_cases() -> [(&'static str, i64); 3] {
    [
        ("*/5 * * * *", 300),
        ("2-59/5 * * * *", 300),
        ("*/15 * * * *", 900),
    ]
}

#[test]
fn schedule_intervals_are_read_right() {
    for (schedule, want) in interval_cases() {
        assert_eq!(interval_seconds(schedule), want, "{schedule}");
    }
}

/// Whether this build of afk has the kubernetes runner (docs/kubernetes.md): it
/// accepts a config with `runner.kind = "kubernetes"` and an image.
/// The config carried by the ConfigMap, as TOML, after afk itself accepted it.
fn configmap_config(docs: &[(PathBuf, Yaml)], cm_name: &str) -> toml::Table {
    let cm = kind_of(docs, "ConfigMap")
        .into_iter()
        .find(|(_, d)| name(d) == cm_name)
        .unwrap_or_else(|| panic!("no ConfigMap {cm_name} in contrib/"));
    let text = cm.1["data"]["afk.toml"].as_str().expect("data.afk.toml");
    afk::config::Config::parse(text, Path::new("/etc/afk"))
        .unwrap_or_else(|e| panic!("ConfigMap {cm_name}: afk refuses its afk.toml: {e:#}"));
    text.parse().unwrap()
}

#[test]
fn every_yaml_file_in_contrib_parses() {
    let docs = yaml_docs();
    assert!(docs.len() >= 4, "the manifests are there: {}", docs.len());
    for (p, d) in &docs {
        let k = d["kind"].as_str();
        assert!(k.is_some(), "{}: a document without kind", p.display());
    }
}

#[test]
fn cronjobs_run_in_time_as_non_root_on_one_shared_volume() {
    let docs = yaml_docs();
    let jobs = kind_of(&docs, "CronJob");
    let names: Vec<&str> = jobs.iter().map(|(_, d)| name(d)).collect();
    let mut ticks: Vec<&str> = names.clone();
    ticks.sort();
    assert_eq!(
        ticks,
        ["afk-harvest", "afk-poll", "afk-upgrade", "afk-watch"],
        "a CronJob per tick"
    );
    let upgrade = jobs
        .iter()
        .find(|(_, d)| name(d) == "afk-upgrade")
        .unwrap_or_else(|| panic!("an upgrade CronJob: {names:?}"));
    assert_eq!(
        interval_seconds(upgrade.1["spec"]["schedule"].as_str().unwrap()),
        900,
        "upgrade every 15 minutes"
    );
    let pvcs: BTreeMap<&str, &Yaml> = kind_of(&docs, "PersistentVolumeClaim")
        .into_iter()
        .map(|(_, d)| (name(d), d))
        .collect();
    let image_user = containerfile_user();
    let mut claims = vec![];
    for (p, job) in &jobs {
        let at = format!("{} ({})", name(job), p.display());
        let spec = &job["spec"];
        let interval = interval_seconds(spec["schedule"].as_str().expect("schedule"));
        assert_eq!(spec["concurrencyPolicy"].as_str(), Some("Forbid"), "{at}");
        // the CronJob controller looks every 10 s: a shorter deadline can miss a tick
        let starting = int(&spec["startingDeadlineSeconds"], "startingDeadlineSeconds");
        assert!(
            (10..interval).contains(&starting),
            "{at}: startingDeadlineSeconds {starting}"
        );
        let job_spec = &spec["jobTemplate"]["spec"];
        let active = int(&job_spec["activeDeadlineSeconds"], "activeDeadlineSeconds");
        assert!(
            active > 0 && active < interval,
            "{at}: activeDeadlineSeconds {active} vs {interval}"
        );
        assert_eq!(
            job_spec["backoffLimit"].as_i64(),
            Some(0),
            "{at}: a failed tick is not retried"
        );

        let pod = &job_spec["template"]["spec"];
        assert_eq!(pod["restartPolicy"].as_str(), Some("Never"), "{at}");
        let sc = &pod["securityContext"];
        assert_eq!(sc["runAsNonRoot"].as_bool(), Some(true), "{at}");
        let uid = int(&sc["runAsUser"], "runAsUser");
        assert!(uid > 0, "{at}");
        assert_eq!(
            uid, image_user,
            "{at}: runAsUser is the Containerfile's USER"
        );
        assert!(
            int(&sc["fsGroup"], "fsGroup") > 0,
            "{at}: fsGroup makes the volume writable"
        );

        let containers = pod["containers"].as_vec().expect("containers");
        assert_eq!(containers.len(), 1, "{at}");
        let c = &containers[0];
        let args: Vec<&str> = c["args"]
            .as_vec()
            .expect("args")
            .iter()
            .filter_map(|a| a.as_str())
            .collect();
        let tick = args.last().copied().unwrap_or_default();
        assert_eq!(format!("afk-{tick}"), name(job), "{at}: runs its own tick");
        assert_eq!(
            c["securityContext"]["allowPrivilegeEscalation"].as_bool(),
            Some(false),
            "{at}"
        );

        // volumes: the config from the ConfigMap, the state on a RWO claim
        let volumes: BTreeMap<&str, &Yaml> = pod["volumes"]
            .as_vec()
            .expect("volumes")
            .iter()
            .map(|v| (v["name"].as_str().unwrap(), v))
            .collect();
        let mounts: BTreeMap<&str, &str> = c["volumeMounts"]
            .as_vec()
            .expect("volumeMounts")
            .iter()
            .map(|m| {
                (
                    m["name"].as_str().unwrap(),
                    m["mountPath"].as_str().unwrap(),
                )
            })
            .collect();
        let config_dir = args
            .windows(2)
            .find(|w| w[0] == "--config")
            .map(|w| {
                Path::new(w[1])
                    .parent()
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_string()
            })
            .expect("--config");
        let (cfg_vol, _) = mounts
            .iter()
            .find(|(_, path)| **path == config_dir)
            .expect("the config directory is mounted");
        let cm_name = volumes[cfg_vol]["configMap"]["name"]
            .as_str()
            .expect("a ConfigMap");
        let cfg = configmap_config(&docs, cm_name);

        let state_path = cfg["state_path"].as_str().expect("state_path is explicit");
        let (state_vol, _) = mounts
            .iter()
            .find(|(_, path)| Path::new(state_path).starts_with(path))
            .unwrap_or_else(|| panic!("{at}: state_path {state_path} is on no mounted volume"));
        let claim = volumes[state_vol]["persistentVolumeClaim"]["claimName"]
            .as_str()
            .unwrap_or_else(|| panic!("{at}: the state volume is a PVC"));
        let pvc = pvcs
            .get(claim)
            .unwrap_or_else(|| panic!("{at}: no PVC {claim} in contrib/"));
        let modes: Vec<&str> = pvc["spec"]["accessModes"]
            .as_vec()
            .unwrap()
            .iter()
            .filter_map(|m| m.as_str())
            .collect();
        assert_eq!(modes, ["ReadWriteOnce"], "{claim}");
        claims.push(claim);

        // in a pod the agent cannot be a local process: agents are Jobs
        assert_eq!(cfg["runner"]["kind"].as_str(), Some("kubernetes"), "{at}");
        assert_eq!(
            pod["serviceAccountName"].as_str(),
            Some("afk"),
            "{at}: the account rbac.yaml binds"
        );
        assert_ne!(
            pod["automountServiceAccountToken"].as_bool(),
            Some(false),
            "{at}: afk needs its token for the API"
        );

        // the forge token comes from a Secret; the agent's Secret never reaches afk
        let env: BTreeMap<&str, &Yaml> = c["env"]
            .as_vec()
            .expect("env")
            .iter()
            .map(|e| (e["name"].as_str().unwrap(), e))
            .collect();
        let var = cfg["forge"]["token_env"].as_str().expect("token_env");
        let r = &env
            .get(var)
            .unwrap_or_else(|| panic!("{at}: forge.token_env {var} is not set"))["valueFrom"]["secretKeyRef"];
        assert!(
            r["name"].as_str().is_some() && r["key"].as_str().is_some(),
            "{at}: {var} comes from a Secret"
        );
        let agent_secret = cfg["runner"]["kubernetes"]["env_secret"]
            .as_str()
            .expect("runner.kubernetes.env_secret");
        assert_ne!(r["name"].as_str(), Some(agent_secret), "{at}");
        for (var, e) in &env {
            assert_ne!(
                e["valueFrom"]["secretKeyRef"]["name"].as_str(),
                Some(agent_secret),
                "{at}: {var}: the agent's credentials are not afk's"
            );
        }
        assert!(c["envFrom"].is_badvalue(), "{at}: no envFrom");

        // RWO: pods on one node only. Each pod must follow any afk pod running.
        let aff = &pod["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"];
        let term = &aff.as_vec().expect("required pod affinity")[0];
        assert_eq!(
            term["topologyKey"].as_str(),
            Some("kubernetes.io/hostname"),
            "{at}"
        );
        let labels = &job_spec["template"]["metadata"]["labels"];
        for (k, v) in term["labelSelector"]["matchLabels"]
            .as_hash()
            .expect("matchLabels")
        {
            assert_eq!(
                &labels[k.as_str().unwrap()],
                v,
                "{at}: the pod matches its own affinity"
            );
        }
    }
    claims.dedup();
    assert_eq!(
        claims.len(),
        1,
        "one state volume for every tick: {claims:?}"
    );
}

#[test]
fn the_kustomization_names_every_manifest_and_the_image() {
    let dir = contrib().join("kubernetes");
    let k = &YamlLoader::load_from_str(&read(&dir.join("kustomization.yaml"))).unwrap()[0];
    let listed: Vec<&str> = k["resources"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(|r| r.as_str())
        .collect();
    for r in &listed {
        assert!(dir.join(r).is_file(), "{r}");
    }
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".yaml") && n != "kustomization.yaml")
        // an example with placeholder secrets is never applied: a second
        // apply would overwrite the real ones
        .filter(|n| !n.ends_with(".example.yaml"))
        .collect();
    on_disk.sort();
    let mut listed_sorted: Vec<String> = listed.iter().map(|s| s.to_string()).collect();
    listed_sorted.sort();
    assert_eq!(listed_sorted, on_disk);
    assert!(
        k["namespace"].is_badvalue(),
        "no namespace for all: afk's and the agents' are two (every manifest names its own)"
    );
    let images: Vec<&str> = k["images"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(|i| i["name"].as_str())
        .collect();
    for (_, job) in kind_of(&yaml_docs(), "CronJob") {
        let c = &job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0];
        let image = c["image"].as_str().unwrap();
        assert!(
            images.contains(&image),
            "{image} is set by the kustomization"
        );
    }
}

/// The numeric user of the runtime image.
fn containerfile_user() -> i64 {
    let text = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("Containerfile"));
    let user = text
        .lines()
        .filter_map(|l| l.strip_prefix("USER "))
        .next_back()
        .expect("a USER line");
    user.split(':')
        .next()
        .unwrap()
        .trim()
        .parse()
        .expect("a numeric USER")
}

#[test]
fn the_containerfile_builds_locked_and_runs_unprivileged() {
    let text = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("Containerfile"));
    let cases = [
        // the production build: no test world (Cargo.toml's `test-world`)
        "cargo build --release --locked --bin afk --no-default-features",
        "debian:bookworm-slim",
        "git ca-certificates",
        "VOLUME /var/lib/afk",
        "ENTRYPOINT [\"afk\"]",
        "podman build -t afk -f Containerfile .",
    ];
    for want in cases {
        assert!(text.contains(want), "Containerfile lacks {want}");
    }
    assert!(containerfile_user() > 0, "not root");
}

/// The build stage copies every path `cargo build` reads: the manifest and
/// lock, the build script (`afk --version`'s commit), the binary's sources and
/// embedded examples, and each workspace crate. A missing one is a build that
/// fails only in the image.
#[test]
fn the_containerfile_copies_everything_the_build_reads() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = read(&root.join("Containerfile"));
    let copied: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("COPY "))
        .filter(|l| !l.starts_with("--from"))
        .flat_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            words[..words.len() - 1].to_vec()
        })
        .collect();
    let manifest: toml::Table = read(&root.join("Cargo.toml")).parse().unwrap();
    let mut needed = vec!["Cargo.toml", "Cargo.lock", "build.rs", "src", "examples"];
    let members = manifest["workspace"]["members"].as_array().unwrap();
    let tops: Vec<String> = members
        .iter()
        .map(|m| m.as_str().unwrap().split('/').next().unwrap().to_string())
        .collect();
    needed.extend(tops.iter().map(String::as_str));
    for want in needed {
        assert!(
            copied.iter().any(|c| c.trim_end_matches('/') == want),
            "the Containerfile's build stage does not copy {want}: {copied:?}"
        );
    }
}

#[test]
fn crontab_lines_are_cron_d_lines_that_export_the_env_file() {
    let text = read(&contrib().join("crontab"));
    let mut ticks = vec![];
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // VAR=value lines set cron's environment
        let first = line.split_whitespace().next().unwrap();
        if first.contains('=') {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        assert!(f.len() >= 7, "five time fields, a user, a command: {line}");
        assert_eq!(f[5], "afk", "the user field of /etc/cron.d: {line}");
        let cmd = f[6..].join(" ");
        let (a, b, c) = (
            cmd.find("set -a;").expect("set -a"),
            cmd.find(". /etc/afk/env;").expect("the env file"),
            cmd.find("set +a;").expect("set +a"),
        );
        assert!(
            a < b && b < c,
            "the env file is sourced between set -a and set +a: {line}"
        );
        assert!(cmd.contains(" -q "), "quiet on success: {line}");
        assert!(!cmd.contains('%'), "% is a newline to cron: {line}");
        ticks.push((f[..5].join(" "), f.last().unwrap().to_string()));
    }
    let kinds: Vec<&str> = ticks.iter().map(|(_, t)| t.as_str()).collect();
    for k in ["poll", "watch", "upgrade"] {
        assert!(kinds.contains(&k), "a line for {k}: {kinds:?}");
    }
    // upgrade ticks every 15 minutes: the registries are asked once per scan_every
    let (when, _) = ticks.iter().find(|(_, t)| t == "upgrade").unwrap();
    assert_eq!(
        interval_seconds(when),
        900,
        "upgrade every 15 minutes: {when}"
    );
}

/// `Key=value` pairs of a unit file, section by section (comments dropped).
fn unit(p: &Path) -> Vec<(String, String, String)> {
    let mut section = String::new();
    let mut out = vec![];
    for line in read(p).lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') {
            section = line.trim_matches(['[', ']']).to_string();
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("{}: {line}", p.display()));
        out.push((section.clone(), k.trim().to_string(), v.trim().to_string()));
    }
    out
}

fn get<'a>(u: &'a [(String, String, String)], section: &str, key: &str) -> Vec<&'a str> {
    u.iter()
        .filter(|(s, k, _)| s == section && k == key)
        .map(|(_, _, v)| v.as_str())
        .collect()
}

#[test]
fn systemd_units_avoid_the_known_traps() {
    let dir = contrib().join("systemd");
    let mut pages = vec![];
    let mut cmd = afk::cli::command();
    cmd.build();
    for sc in cmd.get_subcommands() {
        pages.push(format!("man:afk-{}(1)", sc.get_name()));
    }
    pages.push("man:afk(1)".into());
    let mut services = 0;
    for p in all_files().into_iter().filter(|p| p.starts_with(&dir)) {
        let at = p.display().to_string();
        let u = unit(&p);
        // Documentation= only where something is installed: the man pages of
        // `afk man --dir` (docs/operations.md) or the web
        for doc in get(&u, "Unit", "Documentation")
            .iter()
            .flat_map(|d| d.split_whitespace())
        {
            assert!(
                pages.iter().any(|m| m == doc) || doc.starts_with("https://"),
                "{at}: Documentation={doc} points at nothing installed"
            );
        }
        match p.extension().and_then(|e| e.to_str()) {
            Some("timer") => {
                assert!(
                    get(&u, "Timer", "OnUnitActiveSec").is_empty()
                        || get(&u, "Timer", "Persistent").is_empty(),
                    "{at}: Persistent= does nothing with OnUnitActiveSec"
                );
                assert!(
                    !get(&u, "Timer", "OnCalendar").is_empty(),
                    "{at}: on the clock"
                );
                let service = p.with_extension("service");
                assert!(service.is_file(), "{at}: its service is there");
                assert_eq!(get(&u, "Install", "WantedBy"), ["timers.target"], "{at}");
            }
            // afk hook's listener: one afk-hook@.service per connection
            Some("socket") => {
                assert_eq!(get(&u, "Socket", "Accept"), ["yes"], "{at}");
                assert!(p.with_file_name("afk-hook@.service").is_file(), "{at}");
                assert_eq!(get(&u, "Install", "WantedBy"), ["sockets.target"], "{at}");
            }
            Some("service") if at.ends_with("@.service") => {
                assert_eq!(get(&u, "Service", "Type"), ["oneshot"], "{at}");
                assert_eq!(get(&u, "Service", "StandardInput"), ["socket"], "{at}");
                assert_eq!(get(&u, "Service", "StandardOutput"), ["socket"], "{at}");
                assert_eq!(get(&u, "Service", "StateDirectory"), ["afk"], "{at}");
                assert_eq!(get(&u, "Service", "KillMode"), ["process"], "{at}");
                let exec = get(&u, "Service", "ExecStart").join(" ");
                assert!(
                    exec.contains("--config /etc/afk/afk.toml") && exec.ends_with(" hook"),
                    "{at}"
                );
                // the tick units' hardening, every line of it
                let poll = unit(&p.with_file_name("afk-poll.service"));
                let hardening = |k: &str| {
                    [
                        "Protect",
                        "Restrict",
                        "Private",
                        "NoNew",
                        "Capability",
                        "Ambient",
                    ]
                    .iter()
                    .any(|p| k.starts_with(p))
                        || [
                            "UMask",
                            "LockPersonality",
                            "SystemCallArchitectures",
                            "RemoveIPC",
                            "KeyringMode",
                        ]
                        .contains(&k)
                };
                for (_, k, v) in poll
                    .iter()
                    .filter(|(s, k, _)| s == "Service" && hardening(k))
                {
                    assert_eq!(
                        get(&u, "Service", k),
                        [v.as_str()],
                        "{at}: {k} as afk-poll.service has it"
                    );
                }
            }
            Some("service") => {
                services += 1;
                assert_eq!(get(&u, "Service", "Type"), ["oneshot"], "{at}");
                assert_eq!(get(&u, "Service", "StateDirectory"), ["afk"], "{at}");
                let exec = get(&u, "Service", "ExecStart").join(" ");
                assert!(exec.contains("--config /etc/afk/afk.toml"), "{at}");
                assert!(exec.contains(" -q "), "{at}: quiet on success");
                let tick = exec.split_whitespace().last().unwrap();
                // agents outlive the oneshot tick only with KillMode=process
                if ["poll", "watch", "upgrade"].contains(&tick) {
                    assert_eq!(get(&u, "Service", "KillMode"), ["process"], "{at}");
                }
                if tick == "upgrade" {
                    let timer = read(&p.with_extension("timer"));
                    assert!(
                        timer.contains("OnCalendar=*-*-* *:11/15:00"),
                        "{at}: its timer runs every 15 minutes"
                    );
                }
                assert!(
                    p.file_name().unwrap().to_str().unwrap() == format!("afk-{tick}.service"),
                    "{at}: runs its own tick"
                );
            }
            _ => panic!("{at}: not a unit"),
        }
    }
    assert!(services >= 4, "poll, watch, harvest, upgrade");
}

#[test]
fn the_shipped_config_keeps_its_state_where_systemd_and_cron_expect_it() {
    let text = read(&contrib().join("afk.toml"));
    afk::config::Config::parse(&text, Path::new("/etc/afk"))
        .unwrap_or_else(|e| panic!("afk refuses contrib/afk.toml: {e:#}"));
    let t: toml::Table = text.parse().unwrap();
    // StateDirectory=afk is /var/lib/afk
    assert_eq!(t["state_path"].as_str(), Some("/var/lib/afk/afk.db"));
    assert!(read(&contrib().join("crontab")).contains("/etc/afk/afk.toml"));
}

/// Every document of the files the kustomization lists.
fn kustomized_docs() -> Vec<(PathBuf, Yaml)> {
    let dir = contrib().join("kubernetes");
    let k = &YamlLoader::load_from_str(&read(&dir.join("kustomization.yaml"))).unwrap()[0];
    k["resources"]
        .as_vec()
        .unwrap()
        .iter()
        .flat_map(|r| {
            let p = dir.join(r.as_str().unwrap());
            YamlLoader::load_from_str(&read(&p))
                .unwrap_or_else(|e| panic!("{}: not YAML: {e}", p.display()))
                .into_iter()
                .map(move |d| (p.clone(), d))
        })
        .collect()
}

fn strs(y: &Yaml) -> Vec<&str> {
    y.as_vec()
        .unwrap_or_else(|| panic!("not a list: {y:?}"))
        .iter()
        .map(|v| v.as_str().expect("a string"))
        .collect()
}

#[test]
fn the_role_grants_the_kubernetes_runner_exactly_its_verbs() {
    let docs = kustomized_docs();
    // what the runner sends (core's VERBS, which a sandbox test holds its
    // requests to) and nothing more: no patch, no update, no pods by name
    let want: std::collections::BTreeSet<(&str, String, &str)> = afk::core::kube::VERBS
        .iter()
        .map(|(g, r, sub, v)| {
            let res = if sub.is_empty() {
                r.to_string()
            } else {
                format!("{r}/{sub}")
            };
            (*g, res, *v)
        })
        .collect();
    let roles = kind_of(&docs, "Role");
    assert_eq!(roles.len(), 1, "one Role");
    let role = &roles[0].1;
    let mut granted = std::collections::BTreeSet::new();
    for rule in role["rules"].as_vec().expect("rules") {
        for g in strs(&rule["apiGroups"]) {
            for r in strs(&rule["resources"]) {
                for v in strs(&rule["verbs"]) {
                    assert!(v != "*" && r != "*" && g != "*", "no wildcards");
                    assert!(
                        granted.insert((g, r.to_string(), v)),
                        "{g}/{r} {v} granted twice"
                    );
                }
            }
        }
        assert!(rule["resourceNames"].is_badvalue());
    }
    assert_eq!(granted, want);
    // namespaced only: SelfSubjectAccessReview is everyone's by default
    for (p, d) in yaml_docs() {
        let k = d["kind"].as_str().unwrap();
        assert!(
            k != "ClusterRole" && k != "ClusterRoleBinding",
            "{}: no cluster-wide grant",
            p.display()
        );
    }
    // bound to afk's account, the one every CronJob runs as
    let bindings = kind_of(&docs, "RoleBinding");
    assert_eq!(bindings.len(), 1);
    let b = &bindings[0].1;
    assert_eq!(b["roleRef"]["kind"].as_str(), Some("Role"));
    assert_eq!(b["roleRef"]["name"].as_str(), Some(name(role)));
    let subjects = b["subjects"].as_vec().unwrap();
    assert_eq!(subjects.len(), 1);
    assert_eq!(subjects[0]["kind"].as_str(), Some("ServiceAccount"));
    assert_eq!(subjects[0]["name"].as_str(), Some("afk"));
    let accounts: BTreeMap<&str, &Yaml> = kind_of(&docs, "ServiceAccount")
        .into_iter()
        .map(|(_, d)| (name(d), d))
        .collect();
    let afk_ns = accounts["afk"]["metadata"]["namespace"]
        .as_str()
        .expect("afk's namespace");
    assert_eq!(
        subjects[0]["namespace"].as_str(),
        Some(afk_ns),
        "afk's own account"
    );
    // the agents' account exists, is bound to nothing and carries no API token
    let cfg = configmap_config(&docs, "afk-config");
    let agent_sa = cfg["runner"]["kubernetes"]["service_account"]
        .as_str()
        .expect("runner.kubernetes.service_account");
    assert_ne!(agent_sa, "afk", "agents never run as afk");
    let sa = accounts
        .get(agent_sa)
        .unwrap_or_else(|| panic!("no ServiceAccount {agent_sa}"));
    assert_eq!(sa["automountServiceAccountToken"].as_bool(), Some(false));
    // agents' Jobs, their account, the Role and its binding in the agents'
    // namespace, never afk's (whose Secrets a pod there could mount)
    let agents_ns = cfg["runner"]["kubernetes"]["namespace"]
        .as_str()
        .expect("runner.kubernetes.namespace");
    assert_ne!(agents_ns, afk_ns, "agents apart from afk");
    for d in [role, b, *sa] {
        assert_eq!(
            d["metadata"]["namespace"].as_str(),
            Some(agents_ns),
            "{}",
            name(d)
        );
    }
}

#[test]
fn every_manifest_names_its_namespace_and_agents_run_apart_from_afk_s_secrets() {
    let docs = kustomized_docs();
    let spaces: Vec<&str> = kind_of(&docs, "Namespace")
        .iter()
        .map(|(_, d)| name(d))
        .collect();
    for (p, d) in &docs {
        if d["kind"].as_str() == Some("Namespace") {
            continue;
        }
        let ns = d["metadata"]["namespace"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: {} names no namespace", p.display(), name(d)));
        assert!(
            spaces.contains(&ns),
            "{}: namespace {ns} is not made here",
            p.display()
        );
    }
    let cfg = configmap_config(&docs, "afk-config");
    let agents_ns = cfg["runner"]["kubernetes"]["namespace"].as_str().unwrap();
    // the example Secrets: afk's tick token never in the agents' namespace;
    // there only the agent's own (env_secret) and the git containers'
    // (git_secret, mounted in the Job's checkout and forward containers alone)
    let secrets =
        YamlLoader::load_from_str(&read(&contrib().join("kubernetes/secrets.example.yaml")))
            .unwrap();
    for s in &secrets {
        let ns = s["metadata"]["namespace"]
            .as_str()
            .expect("a Secret's namespace");
        let k = &cfg["runner"]["kubernetes"];
        let is_agents =
            [k["env_secret"].as_str(), k["git_secret"].as_str()].contains(&Some(name(s)));
        assert_eq!(ns == agents_ns, is_agents, "{}: in {ns}", name(s));
    }
    // agents' egress limited to what the operator lists, DNS besides
    let policies = kind_of(&docs, "NetworkPolicy");
    assert_eq!(policies.len(), 1);
    let np = &policies[0].1;
    assert_eq!(np["metadata"]["namespace"].as_str(), Some(agents_ns));
    assert_eq!(
        np["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/managed-by"].as_str(),
        Some("afk")
    );
    assert!(strs(&np["spec"]["policyTypes"]).contains(&"Egress"));
    let rules = np["spec"]["egress"].as_vec().unwrap();
    assert!(
        rules.iter().all(|r| !r["to"].is_badvalue()),
        "every egress rule names where"
    );
}

#[test]
fn the_example_secrets_hold_placeholders_and_match_the_names_in_use() {
    let dir = contrib().join("kubernetes");
    let p = dir.join("secrets.example.yaml");
    let docs = YamlLoader::load_from_str(&read(&p)).unwrap();
    let secrets: BTreeMap<&str, &Yaml> = docs
        .iter()
        .map(|d| {
            assert_eq!(d["kind"].as_str(), Some("Secret"));
            for (k, v) in d["stringData"].as_hash().expect("stringData") {
                assert!(
                    v.as_str().unwrap().starts_with("REPLACE-ME"),
                    "{:?}: a placeholder, never a value",
                    k
                );
            }
            (name(d), d)
        })
        .collect();
    let kdocs = kustomized_docs();
    let cfg = configmap_config(&kdocs, "afk-config");
    let agent = cfg["runner"]["kubernetes"]["env_secret"].as_str().unwrap();
    assert!(secrets.contains_key(agent), "the agent's Secret {agent}");
    // the Secret and key every CronJob reads the forge token from
    for (_, job) in kind_of(&kdocs, "CronJob") {
        let c = &job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0];
        for e in c["env"].as_vec().unwrap() {
            let r = &e["valueFrom"]["secretKeyRef"];
            if let (Some(n), Some(k)) = (r["name"].as_str(), r["key"].as_str()) {
                let s = secrets
                    .get(n)
                    .unwrap_or_else(|| panic!("{}: no example Secret {n}", name(job)));
                assert!(!s["stringData"][k].is_badvalue(), "{n} has no key {k}");
            }
        }
    }
}

#[test]
fn the_kubernetes_config_loads_in_the_binary() {
    use crate::support::*;
    let kdocs = kustomized_docs();
    let cm = kind_of(&kdocs, "ConfigMap")
        .into_iter()
        .find(|(_, d)| name(d) == "afk-config")
        .unwrap();
    let text = cm.1["data"]["afk.toml"].as_str().unwrap();
    let scratch = Scratch::new();
    let config = scratch.write("afk.toml", text);
    // poll.enabled = false: the whole config is loaded and checked, then
    // nothing is touched (no state file, no forge)
    let out = std::process::Command::new(afk_bin())
        .env_remove("AFK_CONFIG")
        .env("AFK_FORGE_TOKEN", "t")
        .arg("--config")
        .arg(&config)
        .arg("poll")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_one_off_doctor_job_is_a_tick_pod_running_doctor() {
    let dir = contrib().join("kubernetes");
    let job = &YamlLoader::load_from_str(&read(&dir.join("once/doctor.job.yaml"))).unwrap()[0];
    assert_eq!(job["kind"].as_str(), Some("Job"));
    let pod = &job["spec"]["template"]["spec"];
    let poll = kind_of(&kustomized_docs(), "CronJob")
        .into_iter()
        .find(|(_, d)| name(d) == "afk-poll")
        .unwrap()
        .1
        .clone();
    let tick = &poll["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    // the same account, volumes, affinity and security as a tick
    for key in [
        "serviceAccountName",
        "volumes",
        "affinity",
        "securityContext",
    ] {
        assert_eq!(pod[key], tick[key], "{key}");
    }
    let c = &pod["containers"][0];
    let t = &tick["containers"][0];
    assert_eq!(
        strs(&c["args"]),
        ["--config", "/etc/afk/afk.toml", "doctor"]
    );
    for key in ["volumeMounts", "securityContext"] {
        assert_eq!(c[key], t[key], "{key}");
    }
    // kubectl create applies no kustomization: the image is the one it sets
    let k = &YamlLoader::load_from_str(&read(&dir.join("kustomization.yaml"))).unwrap()[0];
    let img = &k["images"][0];
    assert_eq!(
        c["image"].as_str().unwrap(),
        format!(
            "{}:{}",
            img["newName"].as_str().unwrap(),
            img["newTag"].as_str().unwrap()
        )
    );
}

/// The status page and the metrics in the cluster (status.yaml): a web
/// server that runs as non-root, reads one volume read-only (the one the
/// ticks write the page and the metrics file to, never the state's), holds
/// no token or Secret, and its Service reaches it.
#[test]
fn the_status_server_serves_the_page_read_only_as_non_root_without_a_token() {
    let docs = kustomized_docs();
    let cfg = configmap_config(&docs, "afk-config");
    let deploys = kind_of(&docs, "Deployment");
    assert_eq!(deploys.len(), 1, "one status server");
    let d = &deploys[0].1;
    assert_eq!(name(d), "afk-status");
    let pod = &d["spec"]["template"]["spec"];
    let sc = &pod["securityContext"];
    assert_eq!(sc["runAsNonRoot"].as_bool(), Some(true));
    assert!(int(&sc["runAsUser"], "runAsUser") > 0);
    assert_eq!(
        pod["automountServiceAccountToken"].as_bool(),
        Some(false),
        "no service account token in the pod"
    );
    let volumes: BTreeMap<&str, &Yaml> = pod["volumes"]
        .as_vec()
        .expect("volumes")
        .iter()
        .map(|v| (v["name"].as_str().unwrap(), v))
        .collect();
    for (n, v) in &volumes {
        assert!(v["secret"].is_badvalue(), "{n}: no Secret is mounted");
        assert_ne!(
            v["persistentVolumeClaim"]["claimName"].as_str(),
            Some("afk-state"),
            "{n}: the state file is not the server's"
        );
        assert_eq!(
            v["persistentVolumeClaim"]["readOnly"].as_bool(),
            Some(true),
            "{n}: claimed read-only"
        );
    }
    let containers = pod["containers"].as_vec().expect("containers");
    let mut served = vec![];
    for c in containers {
        let at = c["name"].as_str().unwrap();
        assert!(c["envFrom"].is_badvalue(), "{at}: no envFrom");
        for e in c["env"].as_vec().map(Vec::as_slice).unwrap_or_default() {
            assert!(
                e["valueFrom"]["secretKeyRef"].is_badvalue(),
                "{at}: no Secret in the environment"
            );
        }
        let csc = &c["securityContext"];
        assert_eq!(
            csc["allowPrivilegeEscalation"].as_bool(),
            Some(false),
            "{at}"
        );
        assert_eq!(csc["readOnlyRootFilesystem"].as_bool(), Some(true), "{at}");
        for m in c["volumeMounts"].as_vec().expect("volumeMounts") {
            assert_eq!(m["readOnly"].as_bool(), Some(true), "{at}: {m:?}");
            let claim = volumes[m["name"].as_str().unwrap()]["persistentVolumeClaim"]["claimName"]
                .as_str()
                .unwrap();
            served.push(claim);
        }
    }
    // the ticks write the page and the metrics file to that volume
    let poll = kind_of(&docs, "CronJob")
        .into_iter()
        .find(|(_, d)| name(d) == "afk-poll")
        .unwrap()
        .1
        .clone();
    let tick = &poll["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    let tick_claim_at = |path: &str| -> String {
        let c = &tick["containers"][0];
        let (vol, _) = c["volumeMounts"]
            .as_vec()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["name"].as_str().unwrap(),
                    m["mountPath"].as_str().unwrap(),
                )
            })
            .filter(|(_, at)| Path::new(path).starts_with(at))
            .max_by_key(|(_, at)| at.len())
            .unwrap_or_else(|| panic!("{path} is on no volume of the tick"));
        tick["volumes"]
            .as_vec()
            .unwrap()
            .iter()
            .find(|v| v["name"].as_str() == Some(vol))
            .unwrap()["persistentVolumeClaim"]["claimName"]
            .as_str()
            .unwrap()
            .to_string()
    };
    for key in ["status_page", "metrics_file"] {
        let path = cfg[key].as_str().unwrap_or_else(|| panic!("{key} is set"));
        let claim = tick_claim_at(path);
        assert!(
            served.contains(&claim.as_str()),
            "{key} {path}: on {claim}, which the server reads"
        );
        assert_ne!(claim, "afk-state", "{key}: not beside the state file");
    }
    // the Service selects the server's pod
    let svc = kind_of(&docs, "Service")
        .into_iter()
        .find(|(_, s)| name(s) == "afk-status")
        .expect("a Service afk-status")
        .1
        .clone();
    let labels = &d["spec"]["template"]["metadata"]["labels"];
    for (k, v) in svc["spec"]["selector"].as_hash().expect("selector") {
        assert_eq!(
            &labels[k.as_str().unwrap()],
            v,
            "the Service selects the pod"
        );
    }
}

/// Every tick in minutes of its own: no two CronJobs (nor two crontab lines,
/// nor two systemd timers) ever start in the same minute, so ticks never
/// contend for the state file's lock at the same moment.
#[test]
fn no_two_shipped_schedules_fire_in_the_same_minute() {
    use afk::core::schedule::{calendar_minutes, cron_minutes, shared_minutes};
    let minute_field = |at: &str, schedule: &str| {
        let f: Vec<&str> = schedule.split_whitespace().collect();
        assert!(f.len() >= 5, "{at}: {schedule}");
        cron_minutes(f[0]).unwrap_or_else(|e| panic!("{at}: {e}"))
    };
    let cronjobs: Vec<(String, std::collections::BTreeSet<u8>)> = kind_of(&yaml_docs(), "CronJob")
        .into_iter()
        .map(|(_, d)| {
            let s = d["spec"]["schedule"].as_str().expect("schedule");
            (name(d).to_string(), minute_field(name(d), s))
        })
        .collect();
    assert_eq!(cronjobs.len(), 4, "{cronjobs:?}");
    let crontab: Vec<(String, std::collections::BTreeSet<u8>)> = read(&contrib().join("crontab"))
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit() || c == '*'))
        .map(|l| {
            let tick = l.split_whitespace().last().unwrap().to_string();
            let m = minute_field(&tick, l);
            (tick, m)
        })
        .collect();
    assert_eq!(crontab.len(), 4, "{crontab:?}");
    let timers: Vec<(String, std::collections::BTreeSet<u8>)> = all_files()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "timer"))
        .map(|p| {
            let u = unit(&p);
            let mut minutes = std::collections::BTreeSet::new();
            for v in get(&u, "Timer", "OnCalendar") {
                minutes.extend(calendar_minutes(v).unwrap_or_else(|e| panic!("{e}")));
                assert!(
                    v.ends_with(":00") || v.matches(':').count() == 1,
                    "{v}: on the minute"
                );
            }
            // the start's slack stays inside its minute
            let secs = |key: &str| -> u64 {
                get(&u, "Timer", key).last().map_or(0, |v| {
                    v.strip_suffix('s')
                        .and_then(|n| n.parse().ok())
                        .unwrap_or_else(|| panic!("{key}={v}: seconds"))
                })
            };
            assert!(
                secs("AccuracySec") + secs("RandomizedDelaySec") < 60,
                "{}: its start may slip into the next minute",
                p.display()
            );
            (p.display().to_string(), minutes)
        })
        .collect();
    assert_eq!(timers.len(), 4, "{timers:?}");
    for (what, schedules) in [
        ("CronJobs", cronjobs),
        ("crontab", crontab),
        ("timers", timers),
    ] {
        let shared = shared_minutes(&schedules);
        assert!(
            shared.is_empty(),
            "{what}: these start in the same minute (first shared minute): {shared:?}"
        );
    }
}

/// The one-off doctor Job ends at once and is not retried: a failed doctor
/// shows as a failed Job within its deadline, not as pods restarting.
#[test]
fn the_doctor_job_fails_fast() {
    let dir = contrib().join("kubernetes");
    let job = &YamlLoader::load_from_str(&read(&dir.join("once/doctor.job.yaml"))).unwrap()[0];
    let spec = &job["spec"];
    assert_eq!(int(&spec["backoffLimit"], "backoffLimit"), 0, "no retry");
    let deadline = int(&spec["activeDeadlineSeconds"], "activeDeadlineSeconds");
    assert!(
        (1..=300).contains(&deadline),
        "a short deadline: {deadline}"
    );
    assert_eq!(
        spec["template"]["spec"]["restartPolicy"].as_str(),
        Some("Never"),
        "a failed doctor is not restarted in its pod"
    );
}

/// The commands the operator is told to run for the doctor Job (the guide's
/// and the manifest's own) return as soon as doctor ends, passed or failed:
/// `kubectl wait --for=condition=complete` alone waits out its timeout when
/// the Job fails, so the report is followed (`logs -f`) first, and a wait
/// after it is short.
#[test]
fn the_documented_doctor_commands_return_at_once_when_doctor_fails() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let guide = read(&root.join("docs/kubernetes.md"));
    let manifest = read(&contrib().join("kubernetes/once/doctor.job.yaml"));
    for (what, text) in [
        ("docs/kubernetes.md", &guide),
        ("doctor.job.yaml", &manifest),
    ] {
        let cmds: Vec<&str> = text
            .lines()
            .map(|l| l.trim_start_matches('#').trim())
            .filter(|l| l.starts_with("kubectl") && l.contains("afk-doctor"))
            .collect();
        let follow = cmds
            .iter()
            .position(|c| c.contains(" logs -f ") && c.contains("--pod-running-timeout"));
        assert!(
            follow.is_some(),
            "{what}: no `logs -f` of the doctor Job: {cmds:?}"
        );
        for (i, c) in cmds.iter().enumerate() {
            let mut words = c.split_whitespace().take_while(|t| !t.starts_with('#'));
            if words.any(|t| t == "wait") {
                assert!(
                    i > follow.unwrap(),
                    "{what}: a wait before the log is followed: {c}"
                );
                let t = c
                    .split("--timeout=")
                    .nth(1)
                    .and_then(|t| t.split('s').next());
                let secs: u32 = t.and_then(|t| t.parse().ok()).unwrap_or(u32::MAX);
                assert!(secs <= 30, "{what}: a long wait: {c}");
            }
        }
    }
}
