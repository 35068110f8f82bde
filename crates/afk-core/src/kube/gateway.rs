//! The model gateway on Kubernetes
//! docs/kubernetes.md#the-model-gateway), pure: the turn's pod gains a
//! container `gateway` of afk's own image, a native sidecar (an init
//! container with `restartPolicy: Always`: it starts before the agent,
//! whichever list the agent is in, and Kubernetes ends it once the pod's
//! main containers have ended). It alone mounts the model key's Secret; it
//! listens on the pod's loopback (the containers of a pod share one network
//! namespace), passes the agent's requests with the key, and writes each
//! metered line to its log, which afk mirrors into `<run_dir>/metered.jsonl`.
//! The agent's container gets the loopback base URL and a placeholder key,
//! each key variable of its API overridden (an `env` entry wins over
//! `envFrom`), and never the Secret's volume. Where Kubernetes allows it
//! (the agent a main container) the agent's container has a liveness probe
//! on the gateway's health port: once the gateway stopped the turn at its
//! budget, the kubelet ends the agent's container within a second. Where
//! it does not (afk's workspace: the agent an init container) the agent's
//! process 1 is afk's watchdog (`watchdog::WATCHDOG`), which ends the
//! agent once the gateway leaves its stop mark on a small volume of theirs
//! (the gateway's to write, the agent's only to read).

use serde_json::{Value, json};

/// The gateway container's name (its log is read with `container=gateway`).
pub const CONTAINER: &str = "gateway";
/// The model key's volume: mounted only in the gateway container.
pub(crate) const KEY_VOLUME: &str = "model-key";
/// Where the gateway container finds the key's Secret.
pub(crate) const KEY_DIR: &str = "/afk-model-key";
/// The key's file in it (the Secret's key, mapped to this one name).
pub const KEY_FILE: &str = "/afk-model-key/key";
/// The gateway's spec (JSON, no key) in the gateway container's environment.
pub const SPEC_VAR: &str = "AFK_GATEWAY_SPEC";
/// The key file's path in the gateway container's environment.
pub const KEY_FILE_VAR: &str = "AFK_GATEWAY_KEY_FILE";
/// The health port in the gateway container's environment.
pub const HEALTH_VAR: &str = "AFK_GATEWAY_HEALTH_PORT";
/// The one path the health port answers (the agent's liveness probe's).
pub(crate) const HEALTH_PATH: &str = "/afk-turn";
/// A health request's line read at most (the rest is never read).
pub const HEALTH_LINE_MAX: usize = 256;
/// The turn's volume (afk's workspace): the gateway's stop mark on it.
pub(crate) const TURN_VOLUME: &str = "turn";
/// Where the gateway and the agent's watchdog mount it.
pub(crate) const TURN_DIR: &str = "/afk-turn";
/// The gateway's stop mark: there once it stopped the turn.
pub(crate) const STOP_MARK: &str = "/afk-turn/stopped";
/// The stop mark's path in the gateway container's environment; unset, the
/// gateway leaves no mark (its agent is probed instead).
pub const STOP_MARK_VAR: &str = "AFK_GATEWAY_STOP_MARK";
/// What the stop mark says (its being there is what the watchdog reads).
pub const STOPPED: &str = "stopped\n";

/// The gateway side of a turn's pod.
pub struct GatewaySide<'a> {
    /// afk's own image (`git_image`, else the tick's own)
    pub image: &'a str,
    /// `runner.kubernetes.model_secret`
    pub secret: &'a str,
    /// `runner.kubernetes.model_secret_key`: the key in it holding the model's key
    pub secret_key: &'a str,
    /// the gateway's spec, as JSON (the API, the upstream, the port, the prices, what is left of the budget)
    pub spec: &'a str,
    /// what the agent gets: its base URL on the pod's loopback and a placeholder key
    pub agent_env: &'a [(String, String)],
    /// the variables the agent must not hold (its API's keys and logins):
    /// overridden with an empty value when `agent_env` does not set them
    pub agent_unset: &'a [String],
    /// the gateway's health port on the pod's address ([`health_port`])
    pub health_port: u16,
}

/// The gateway container's startup probe: whether it listens yet.
pub const READY: [&str; 4] = ["afk", "workspace", "gateway", "--ready"];

/// The gateway's own requests and limits: it relays, it does not compute.
const CPU: &str = "200m";
const MEMORY: &str = "256Mi";

/// Add the gateway to a turn's Job (made by `kube::job`, with afk's
/// workspace after `workspace::with_git`): the sidecar first among
/// the init containers, the key's Secret as a volume only it mounts, the
/// agent's environment pointed at it.
pub fn with_gateway(job: &mut Value, g: &GatewaySide) {
    let pod = &mut job["spec"]["template"]["spec"];
    let mut template = Value::Null;
    let mut watched = false;
    for list in ["initContainers", "containers"] {
        for c in pod[list].as_array_mut().into_iter().flatten() {
            if c["name"] != "agent" {
                continue;
            }
            template = c.clone();
            if let Some(probe) = liveness_probe(list, g.health_port) {
                c["livenessProbe"] = probe;
            } else if crate::kube::watchdog::watch_agent(c, STOP_MARK) {
                // the watchdog's mark is where it reads it, always
                match c["volumeMounts"].as_array_mut() {
                    Some(mounts) => mounts.push(turn_mount(false)),
                    None => c["volumeMounts"] = json!([turn_mount(false)]),
                }
                watched = true;
            }
            let env = c["env"].as_array_mut();
            let Some(vars) = env else { continue };
            let names: Vec<&str> = g
                .agent_env
                .iter()
                .map(|(k, _)| k.as_str())
                .chain(g.agent_unset.iter().map(String::as_str))
                .collect();
            vars.retain(|v| !names.iter().any(|n| v["name"] == *n));
            for (k, v) in g.agent_env {
                vars.push(json!({"name": k, "value": v}));
            }
            for k in g.agent_unset {
                if !g.agent_env.iter().any(|(n, _)| n == k) {
                    vars.push(json!({"name": k, "value": ""}));
                }
            }
        }
    }
    let resources = json!({"cpu": CPU, "memory": MEMORY});
    let mut env = vec![
        json!({"name": SPEC_VAR, "value": g.spec}),
        json!({"name": KEY_FILE_VAR, "value": KEY_FILE}),
        json!({"name": HEALTH_VAR, "value": g.health_port.to_string()}),
    ];
    let mut mounts = vec![json!({"name": KEY_VOLUME, "mountPath": KEY_DIR, "readOnly": true})];
    if watched {
        env.push(json!({"name": STOP_MARK_VAR, "value": STOP_MARK}));
        mounts.push(turn_mount(true));
    }
    let gateway = json!({
        "name": CONTAINER,
        "image": g.image,
        "command": ["afk", "workspace", "gateway"],
        "restartPolicy": "Always",
        "env": env,
        "volumeMounts": mounts,
        "resources": {"requests": resources, "limits": resources},
        "securityContext": template["securityContext"].clone(),
        // started once it listens: until then no later container starts,
        // so the agent's first request never meets a closed port; run in
        // its own container, on the pod's loopback where it listens (a
        // tcpSocket probe would knock on the pod's address)
        "startupProbe": {
            "exec": {"command": READY},
            "periodSeconds": 1,
            "failureThreshold": 120
        }
    });
    match pod["initContainers"].as_array_mut() {
        Some(inits) => inits.insert(0, gateway),
        None => pod["initContainers"] = json!([gateway]),
    }
    if let Some(vols) = pod["volumes"].as_array_mut() {
        // root's files, group 1000 (the pod's fsGroup) may read them
        vols.push(json!({"name": KEY_VOLUME, "secret": {
            "secretName": g.secret,
            "items": [{"key": g.secret_key, "path": "key"}],
            "defaultMode": 0o440
        }}));
        if watched {
            vols.push(turn_volume());
        }
    }
    pod["securityContext"]["fsGroup"] = json!(1000);
}

/// The rule the pod afk sends with the gateway on keeps (its tests hold the
/// pod afk builds to it): only the gateway container mounts the model key,
/// and it can read it.
#[cfg(test)]
fn key_verdict(pod: &Value) -> (bool, String) {
    let readers = crate::kube::workspace::secret_readers(pod, KEY_VOLUME);
    if let Some((name, _)) = readers.iter().find(|(name, _)| name != CONTAINER) {
        return (
            false,
            format!("the container {name} mounts the model's key: only the gateway's may"),
        );
    }
    match readers.first() {
        Some((_, true)) => (
            true,
            "only the gateway container mounts runner.kubernetes.model_secret, and can read it"
                .into(),
        ),
        Some((_, false)) => (
            false,
            "the gateway container cannot read runner.kubernetes.model_secret's files as the kubelet writes them".into(),
        ),
        None => (false, "no container mounts the model's key".into()),
    }
}

/// The gateway's loopback port in the pod: any port serves (the pod's
/// network namespace is its own); one drawn from the Job's name keeps pods
/// that share a host's network (the sandbox's) apart, and one below Linux's
/// ephemeral ports (32768-60999) is never held there by some process's
/// outgoing connection when the gateway binds it.
pub fn port(job: &str) -> u16 {
    let h = job.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    20000 + (h % 8000) as u16
}

/// The gateway's health port on the pod's address, where the kubelet
/// probes the agent's liveness: drawn from the Job's name as [`port`] is,
/// 10000 below it (so never the same port, and below the ephemeral ports).
pub fn health_port(job: &str) -> u16 {
    port(job) - 10000
}

/// The agent container's liveness probe, for the agent in the pod's list
/// `list`: an `httpGet` of [`HEALTH_PATH`] on the gateway's health port at
/// the pod's address, every second, one failure enough, its container
/// killed one second after its SIGTERM. None for an init container:
/// Kubernetes refuses probes on one that is not a sidecar (the agent of
/// afk's workspace), whose watchdog reads the gateway's stop mark instead.
pub(crate) fn liveness_probe(list: &str, health_port: u16) -> Option<Value> {
    (list == "containers").then(|| {
        json!({
            "httpGet": {"path": HEALTH_PATH, "port": health_port},
            "periodSeconds": 1,
            "failureThreshold": 1,
            // a busy node may answer late: a late answer is not a stop
            "timeoutSeconds": 5,
            "terminationGracePeriodSeconds": 1
        })
    })
}

/// The turn's volume, where the gateway leaves its stop mark for the
/// agent's watchdog: an `emptyDir` in memory, of a few bytes' use, capped.
pub(crate) fn turn_volume() -> Value {
    json!({"name": TURN_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}})
}

/// A container's mount of the turn's volume: the gateway's may write it
/// (`writer`), the agent's only read it, so the agent can neither leave
/// nor take away the stop mark.
pub(crate) fn turn_mount(writer: bool) -> Value {
    json!({"name": TURN_VOLUME, "mountPath": TURN_DIR, "readOnly": !writer})
}

/// Where the gateway leaves its stop mark, once it stopped the turn (at
/// its budget, or unable to write its record): the path its container's
/// environment names ([`STOP_MARK_VAR`], `var`) when that is an absolute
/// path; none otherwise (a probed agent's pod names none, and a Job made
/// by an afk before it has no such volume).
pub fn stop_mark(var: Option<&str>) -> Option<&str> {
    var.map(str::trim)
        .filter(|p| p.starts_with('/') && p.len() > 1 && !p.ends_with('/'))
}

/// The health port's answer to a request whose first line is `line`
/// (nothing else of it is read): `GET` [`HEALTH_PATH`] is 200 while the
/// turn may go on and 503 once the gateway stopped it (at its budget, or
/// unable to write its record); anything else is 404 and no more.
pub fn health(line: &str, stopped: bool) -> u16 {
    let mut words = line.trim_end_matches(['\r', '\n']).split(' ');
    let asked = (words.next(), words.next(), words.next(), words.next());
    match asked {
        (Some("GET"), Some(HEALTH_PATH), Some(v), None) if v.starts_with("HTTP/1.") => {
            if stopped {
                503
            } else {
                200
            }
        }
        _ => 404,
    }
}

/// Doctor's words on `env_secret` when the gateway is on: the Secret must
/// not carry the model's key (its variables are the agent's environment).
pub fn env_secret_line(env_secret: &str, key_env: &str) -> Option<String> {
    (!env_secret.trim().is_empty()).then(|| {
        format!(
            "runner.kubernetes.env_secret ({env_secret}) is the agent's environment: with the gateway on it must not carry the model's key; afk overrides ${key_env} and the API's other key variables with a placeholder, but a key under another name would be in the agent's reach (keep it in model_secret alone)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::{JobSpec, job};
    use std::time::Duration;

    fn spec<'a>(env: &'a [(String, String)], env_secret: &'a str) -> JobSpec<'a> {
        JobSpec {
            name: "afk-ab12cd-7-1",
            instance: "ab12cd",
            namespace: "agents",
            run_id: "7",
            turn: 1,
            image: "agent:1",
            command: &[],
            env,
            service_account: "",
            env_secret,
            cpu: "1",
            memory: "2Gi",
            active_deadline: Duration::from_secs(60),
            ttl_after_finished: Duration::from_secs(60),
        }
    }

    fn env_of(c: &Value) -> Vec<(String, String)> {
        c["env"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| {
                (
                    v["name"].as_str().unwrap_or("").to_string(),
                    v["value"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    fn find<'a>(pod: &'a Value, name: &str) -> Option<&'a Value> {
        ["initContainers", "containers"]
            .iter()
            .flat_map(|l| pod[*l].as_array().into_iter().flatten())
            .find(|c| c["name"] == name)
    }

    #[test]
    fn the_gateway_is_a_sidecar_that_alone_mounts_the_key() {
        let base = vec![
            ("AFK_RUN_ID".to_string(), "7".to_string()),
            ("ANTHROPIC_API_KEY".to_string(), "sk-leaked".to_string()),
        ];
        let agent_env = vec![
            (
                "ANTHROPIC_BASE_URL".to_string(),
                "http://127.0.0.1:41234".to_string(),
            ),
            (
                "ANTHROPIC_API_KEY".to_string(),
                "afk-gateway-holds-the-key".to_string(),
            ),
        ];
        let unset = vec![
            "ANTHROPIC_API_KEY".to_string(),
            "ANTHROPIC_AUTH_TOKEN".to_string(),
        ];
        let side = GatewaySide {
            image: "afk:1",
            secret: "model",
            secret_key: "ANTHROPIC_API_KEY",
            spec: "{\"port\":41234}",
            agent_env: &agent_env,
            agent_unset: &unset,
            health_port: 11234,
        };
        // (rule, afk's workspace, env_secret, the agent's list)
        let cases = [
            ("the agent's own git", false, "", "containers"),
            ("afk's workspace", true, "", "initContainers"),
            ("an env_secret beside it", false, "agent-env", "containers"),
        ];
        for (rule, git, env_secret, agent_list) in cases {
            let mut j = job(&spec(&base, env_secret));
            if git {
                crate::kube::workspace::with_git(
                    &mut j,
                    &crate::kube::workspace::GitSide {
                        image: "afk:1",
                        secret: "git",
                        auth: crate::kube::workspace::GitAuth::Login,
                        url: "https://forge/o/r.git",
                        gate: "{}",
                    },
                    &base,
                );
            }
            with_gateway(&mut j, &side);
            let pod = &j["spec"]["template"]["spec"];
            let first = &pod["initContainers"][0];
            assert_eq!(first["name"], "gateway", "{rule}: first of all");
            assert_eq!(first["restartPolicy"], "Always", "{rule}: a sidecar");
            assert_eq!(first["image"], "afk:1", "{rule}");
            assert_eq!(
                first["command"],
                json!(["afk", "workspace", "gateway"]),
                "{rule}"
            );
            assert_eq!(
                first["startupProbe"]["exec"]["command"],
                json!(["afk", "workspace", "gateway", "--ready"]),
                "{rule}: started once it listens"
            );
            assert!(first.get("envFrom").is_none(), "{rule}: no env_secret");
            let genv = env_of(first);
            assert!(
                genv.contains(&(SPEC_VAR.into(), "{\"port\":41234}".into())),
                "{rule}"
            );
            assert!(
                genv.contains(&(KEY_FILE_VAR.into(), KEY_FILE.into())),
                "{rule}"
            );
            assert!(
                genv.contains(&(HEALTH_VAR.into(), "11234".into())),
                "{rule}"
            );
            let agent = find(pod, "agent").expect("the agent");
            assert_eq!(
                agent.get("livenessProbe").cloned(),
                liveness_probe(agent_list, 11234),
                "{rule}: probed where Kubernetes allows it"
            );
            assert!(
                pod[agent_list]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|c| c["name"] == "agent"),
                "{rule}: the agent stays where it was"
            );
            let aenv = env_of(agent);
            let key: Vec<_> = aenv
                .iter()
                .filter(|(k, _)| k == "ANTHROPIC_API_KEY")
                .collect();
            assert_eq!(
                key,
                [&(
                    "ANTHROPIC_API_KEY".to_string(),
                    "afk-gateway-holds-the-key".to_string()
                )],
                "{rule}: the placeholder alone"
            );
            assert!(
                aenv.contains(&("ANTHROPIC_BASE_URL".into(), "http://127.0.0.1:41234".into())),
                "{rule}"
            );
            assert!(
                aenv.contains(&("ANTHROPIC_AUTH_TOKEN".into(), String::new())),
                "{rule}: another key variable emptied over envFrom"
            );
            assert!(aenv.contains(&("AFK_RUN_ID".into(), "7".into())), "{rule}");
            let readers = crate::kube::workspace::secret_readers(pod, KEY_VOLUME);
            assert_eq!(readers, [("gateway".to_string(), true)], "{rule}");
            assert!(key_verdict(pod).0, "{rule}: {}", key_verdict(pod).1);
            let vol = pod["volumes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["name"] == KEY_VOLUME)
                .unwrap();
            assert_eq!(
                vol["secret"],
                json!({"secretName": "model", "items": [{"key": "ANTHROPIC_API_KEY", "path": "key"}], "defaultMode": 0o440}),
                "{rule}"
            );
            if git {
                assert!(
                    crate::kube::workspace::secret_readers(
                        pod,
                        crate::kube::workspace::SECRET_VOLUME
                    )
                    .iter()
                    .all(|(n, _)| n != "gateway"),
                    "{rule}: the forge credential is not the gateway's"
                );
            }
        }
    }

    #[test]
    fn doctor_refuses_a_pod_where_another_container_mounts_the_key() {
        let pod = json!({
            "securityContext": {"runAsUser": 1000, "fsGroup": 1000},
            "initContainers": [{"name": "gateway", "volumeMounts": [{"name": KEY_VOLUME}]}],
            "containers": [{"name": "agent", "volumeMounts": [{"name": KEY_VOLUME}]}],
            "volumes": [{"name": KEY_VOLUME, "secret": {"secretName": "m", "defaultMode": 0o440}}]
        });
        let (ok, says) = key_verdict(&pod);
        assert!(!ok && says.contains("agent"), "{says}");
        let none = json!({"volumes": []});
        assert!(!key_verdict(&none).0);
    }

    #[test]
    fn where_no_probe_is_allowed_the_agent_s_watchdog_reads_a_stop_mark_only_the_gateway_writes() {
        let side = GatewaySide {
            image: "afk:1",
            secret: "model",
            secret_key: "K",
            spec: "{}",
            agent_env: &[],
            agent_unset: &[],
            health_port: 11234,
        };
        let mount = |c: &Value| {
            c["volumeMounts"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|m| m["name"] == TURN_VOLUME)
                .cloned()
        };
        // (rule, afk's workspace: the agent an init container, watched)
        let cases = [
            ("the agent's own git: probed, no mark", false, false),
            ("afk's workspace: no probe, the watchdog", true, true),
        ];
        for (rule, git, watched) in cases {
            let mut j = job(&spec(&[], ""));
            if git {
                crate::kube::workspace::with_git(
                    &mut j,
                    &crate::kube::workspace::GitSide {
                        image: "afk:1",
                        secret: "git",
                        auth: crate::kube::workspace::GitAuth::Login,
                        url: "https://forge/o/r.git",
                        gate: "{}",
                    },
                    &[],
                );
            }
            with_gateway(&mut j, &side);
            let pod = &j["spec"]["template"]["spec"];
            let agent = find(pod, "agent").expect("the agent");
            let gateway = find(pod, CONTAINER).expect("the gateway");
            let volume = pod["volumes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["name"] == TURN_VOLUME)
                .cloned();
            assert_eq!(volume.is_some(), watched, "{rule}");
            assert_eq!(
                env_of(gateway).contains(&(STOP_MARK_VAR.into(), STOP_MARK.into())),
                watched,
                "{rule}: the gateway leaves its mark only where it is read"
            );
            assert_eq!(
                env_of(agent).contains(&(
                    crate::kube::watchdog::STOP_MARK_VAR.into(),
                    STOP_MARK.into()
                )),
                watched,
                "{rule}"
            );
            let script = agent["command"][2].as_str().unwrap_or("");
            assert_eq!(
                script.contains("AFK_TURN_STOP_MARK"),
                watched,
                "{rule}: {script}"
            );
            if !watched {
                assert!(mount(agent).is_none() && mount(gateway).is_none(), "{rule}");
                continue;
            }
            assert!(agent.get("livenessProbe").is_none(), "{rule}");
            assert_eq!(mount(agent), Some(turn_mount(false)), "{rule}");
            assert_eq!(mount(agent).unwrap()["readOnly"], true, "{rule}");
            assert_eq!(mount(gateway), Some(turn_mount(true)), "{rule}");
            assert_eq!(mount(gateway).unwrap()["readOnly"], false, "{rule}");
            assert_eq!(volume, Some(turn_volume()), "{rule}");
            assert!(STOP_MARK.starts_with(&format!("{TURN_DIR}/")));
            // the agent's argv unchanged, after the watchdog's $0
            assert_eq!(agent["command"][3], "afk-agent", "{rule}");
        }
    }

    #[test]
    fn the_gateway_leaves_its_stop_mark_only_where_its_container_names_one() {
        // (rule, the variable, the mark)
        let cases = [
            ("afk's workspace names it", Some(STOP_MARK), Some(STOP_MARK)),
            ("a probed agent's pod names none", None, None),
            ("empty", Some(""), None),
            ("blank", Some("  "), None),
            ("a relative path is no mark", Some("afk-turn/stopped"), None),
            ("the root is no file", Some("/"), None),
            ("a folder is no file", Some("/afk-turn/"), None),
            (
                "the sandbox's local folder",
                Some("/tmp/k8s/afk/p/volumes/turn/stopped"),
                Some("/tmp/k8s/afk/p/volumes/turn/stopped"),
            ),
        ];
        for (rule, var, want) in cases {
            assert_eq!(stop_mark(var), want, "{rule}");
        }
    }

    #[test]
    fn the_agent_is_probed_on_the_gateway_s_health_port_only_as_a_main_container() {
        // (rule, the agent's list, probed)
        let cases = [
            ("the agent's own git: a main container", "containers", true),
            (
                "afk's workspace: an init container, never probed",
                "initContainers",
                false,
            ),
        ];
        for (rule, list, probed) in cases {
            let probe = liveness_probe(list, 11234);
            assert_eq!(probe.is_some(), probed, "{rule}");
            let Some(p) = probe else { continue };
            assert_eq!(
                p["httpGet"],
                json!({"path": HEALTH_PATH, "port": 11234}),
                "{rule}: the pod's address (no host)"
            );
            assert_eq!(p["periodSeconds"], 1, "{rule}");
            assert_eq!(p["failureThreshold"], 1, "{rule}");
            assert!(p.get("initialDelaySeconds").is_none(), "{rule}");
            assert_eq!(p["terminationGracePeriodSeconds"], 1, "{rule}");
        }
    }

    #[test]
    fn the_health_port_says_whether_the_turn_may_go_on_and_nothing_else() {
        // (rule, request line, stopped, answer)
        let cases = [
            ("the turn goes on", "GET /afk-turn HTTP/1.1\r\n", false, 200),
            (
                "stopped at its budget",
                "GET /afk-turn HTTP/1.1\r\n",
                true,
                503,
            ),
            ("HTTP/1.0 too", "GET /afk-turn HTTP/1.0", true, 503),
            ("another path", "GET /v1/messages HTTP/1.1", false, 404),
            (
                "a query is another path",
                "GET /afk-turn?x=1 HTTP/1.1",
                false,
                404,
            ),
            ("another method", "POST /afk-turn HTTP/1.1", false, 404),
            (
                "a proxy's absolute URI",
                "GET http://x/afk-turn HTTP/1.1",
                false,
                404,
            ),
            ("no version", "GET /afk-turn", false, 404),
            ("more words", "GET /afk-turn HTTP/1.1 x", false, 404),
            ("not HTTP", "\u{16}\u{3}\u{1}", true, 404),
            ("nothing", "", false, 404),
        ];
        for (rule, line, stopped, want) in cases {
            assert_eq!(health(line, stopped), want, "{rule}");
        }
    }

    #[test]
    fn ports_are_fixed_by_the_job_and_in_range() {
        assert_eq!(port("afk-ab12cd-7-1"), port("afk-ab12cd-7-1"));
        assert_ne!(port("afk-ab12cd-7-1"), port("afk-ab12cd-7-2"));
        for n in ["a", "afk-x-1-1", ""] {
            assert!((20000..28000).contains(&port(n)));
            assert!((10000..18000).contains(&health_port(n)));
            assert_ne!(health_port(n), port(n));
        }
        assert!(env_secret_line("", "K").is_none());
        assert!(
            env_secret_line("agent-env", "ANTHROPIC_API_KEY")
                .unwrap()
                .contains("must not carry the model's key")
        );
    }
}
