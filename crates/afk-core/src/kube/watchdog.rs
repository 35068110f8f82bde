//! afk's watchdog (docs/kubernetes.md#the-model-gateway), pure: the agent
//! container's command in afk's workspace, its argv always `sh`'s
//! positional arguments, and with the model gateway on the watchdog that is
//! that container's process 1, ending the agent once the gateway left its
//! stop mark (`core::kube::gateway::STOP_MARK`). The agent is an init
//! container there, where Kubernetes allows no probe.

use serde_json::{Value, json};

/// The agent's command in afk's workspace: `sh -c` this script, `$0`
/// [`SH_NAME`], its argv the positional arguments after it (`"$@"`, never
/// spliced into the script's text); its exit status kept.
const KEEP_EXIT: &str = "\"$@\"; echo $? > \"$AFK_AGENT_EXIT\"";
/// `$0` of the agent's `sh`.
const SH_NAME: &str = "afk-agent";

/// Where the agent's watchdog finds the turn's stop mark (the model
/// gateway's, `core::kube::gateway::STOP_MARK`), in its environment.
pub const STOP_MARK_VAR: &str = "AFK_TURN_STOP_MARK";
/// The watchdog's grace: seconds between the stop's SIGTERM and its SIGKILL.
pub(crate) const STOP_GRACE_SECONDS: u32 = 2;
/// The watchdog's exit status when it ended the turn: the status of a
/// container the kubelet ended with SIGTERM, never 0, so the pod fails.
pub(crate) const STOPPED_STATUS: u8 = 143;

/// afk's watchdog, the agent container's process 1 when the model gateway
/// is on in afk's workspace (the agent an init container, where Kubernetes
/// allows no probe, and no shared process namespace, which would show the
/// gateway's key in `/proc`): POSIX `sh` alone, which every agent image
/// has. It starts the agent (`"$@"`) as its child and polls, every second,
/// whether the agent is still there and whether the gateway left its stop
/// mark (`$AFK_TURN_STOP_MARK`, on a volume the agent may only read). The
/// agent ending first: its status kept as without the watchdog, and the
/// pod goes on to forwarding. The mark first (or a SIGTERM, the pod's
/// deletion): SIGTERM to the process group (the agent's and the
/// watchdog's: a shell with no terminal starts its children in its own
/// group; only the agent's process where the watchdog leads no group of
/// its own, as `/proc/$$/stat` says), SIGKILL after the grace if the agent
/// is still there, and exit
/// [`STOPPED_STATUS`]: the init container fails, nothing is forwarded and
/// the pod fails, as a probed agent's does. As the container's process 1
/// it ignores what the agent sends it unless it handles it (SIGTERM: a
/// stop), and its end takes every process of the container with it. The
/// container's stdin is `/dev/null` already (the pod asks for none), so
/// the agent started in the background reads the same; as any background
/// command of a shell with no job control, it starts with SIGINT and
/// SIGQUIT ignored (POSIX; no shell can undo it), which nothing of the
/// pod sends (the kubelet ends a container with SIGTERM and SIGKILL). With no `sleep` in
/// the image it only waits for the agent, as without the watchdog.
pub(crate) const WATCHDOG: &str = r#"stop=
trap 'stop=1' TERM
"$@" &
agent=$!
if command -v sleep >/dev/null 2>&1; then
  while [ -z "$stop" ] && [ ! -e "$AFK_TURN_STOP_MARK" ] && kill -0 "$agent" 2>/dev/null; do
    sleep 1
  done
fi
[ -e "$AFK_TURN_STOP_MARK" ] && stop=1
if [ -z "$stop" ]; then
  wait "$agent"
  code=$?
  if [ -z "$stop" ]; then
    echo "$code" > "$AFK_AGENT_EXIT"
    exit
  fi
fi
echo "afk: the turn is stopped (the model gateway's budget, or the pod's end): its processes are ended" >&2
group=$agent
if read -r st < /proc/$$/stat; then
  st=${st##*) }
  set -- $st
  [ "$3" = "$$" ] && group=0
fi 2>/dev/null
kill -s TERM "$group" 2>/dev/null
i=0
while kill -0 "$agent" 2>/dev/null && [ "$i" -lt GRACE ]; do
  sleep 1
  i=$((i + 1))
done
kill -0 "$agent" 2>/dev/null && kill -s KILL "$group"
exit STOPPED
"#;

/// The watchdog's script with its grace and status in it (numbers of
/// afk's, nothing of the config's).
fn watchdog_script() -> String {
    WATCHDOG
        .replace("GRACE", &STOP_GRACE_SECONDS.to_string())
        .replace("STOPPED", &STOPPED_STATUS.to_string())
}

/// The agent container's command in afk's workspace: `argv` (the
/// config's) as `sh`'s positional arguments, never in the script; under
/// the [`WATCHDOG`] when `watched`.
pub fn agent_command(argv: &[Value], watched: bool) -> Vec<Value> {
    let script = if watched {
        watchdog_script()
    } else {
        KEEP_EXIT.to_string()
    };
    let mut command = vec![json!("/bin/sh"), json!("-c"), json!(script), json!(SH_NAME)];
    command.extend(argv.iter().cloned());
    command
}

/// The model gateway's watchdog for afk's workspace's agent container (an
/// init container made by [`with_git`](crate::kube::workspace::with_git)): its command under the
/// [`WATCHDOG`], its argv unchanged, and the stop mark's path (`mark`) in
/// its environment. False, and nothing changed, for a container
/// [`with_git`](crate::kube::workspace::with_git) did not make so.
pub(crate) fn watch_agent(agent: &mut Value, mark: &str) -> bool {
    let ours = agent_command(&[], false);
    let argv = match agent["command"].as_array() {
        Some(c) if c.len() >= ours.len() && c[..ours.len()] == ours[..] => c[ours.len()..].to_vec(),
        _ => return false,
    };
    let Some(vars) = agent.get_mut("env").and_then(Value::as_array_mut) else {
        return false;
    };
    vars.retain(|v| v["name"] != STOP_MARK_VAR);
    vars.push(json!({"name": STOP_MARK_VAR, "value": mark}));
    agent["command"] = json!(agent_command(&argv, true));
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// with_git's agent container, from a plain one.
    fn with_git_agent() -> Value {
        let mut job = json!({"spec": {"template": {"spec": {"securityContext": {"runAsUser": 1000}, "containers": [{"name": "agent", "command": ["true"], "env": [], "volumeMounts": []}], "volumes": []}}}});
        let g = crate::kube::workspace::GitSide {
            image: "afk",
            secret: "afk-git",
            auth: crate::kube::workspace::GitAuth::Login,
            url: "https://git.example.org/a/b.git",
            gate: "{}",
        };
        crate::kube::workspace::with_git(&mut job, &g, &[]);
        job["spec"]["template"]["spec"]["initContainers"][1].take()
    }

    #[test]
    fn the_agent_s_argv_is_sh_s_positional_arguments_never_its_script() {
        // (rule, argv from the config)
        let cases: [(&str, &[&str]); 5] = [
            ("a plain command", &["claude", "-p"]),
            ("quotes", &["sh", "-c", "echo 'a' \"b\""]),
            ("substitutions", &["x", "$(touch pwned)", "`id`", "${HOME}"]),
            ("separators", &["x; rm -rf /", "a && b", "a | b", "a\nb"]),
            ("nothing", &[]),
        ];
        for (rule, argv) in cases {
            let argv: Vec<Value> = argv.iter().map(|a| json!(a)).collect();
            for watched in [false, true] {
                let c = agent_command(&argv, watched);
                assert_eq!(c[..2], [json!("/bin/sh"), json!("-c")], "{rule}");
                assert_eq!(c[3], SH_NAME, "{rule}");
                assert_eq!(c[4..], argv[..], "{rule}: passed as they are");
                let script = c[2].as_str().unwrap();
                assert_eq!(script == KEEP_EXIT, !watched, "{rule}");
                for a in &argv {
                    let a = a.as_str().unwrap();
                    assert!(a.len() < 4 || !script.contains(a), "{rule}: {a} spliced");
                }
            }
        }
    }

    #[test]
    fn only_the_agent_with_git_made_is_put_under_the_watchdog_once() {
        let made = with_git_agent;
        let mut twice = made();
        assert!(watch_agent(&mut twice, "/afk-turn/stopped"));
        let mut no_env = made();
        no_env.as_object_mut().unwrap().remove("env");
        // (rule, the container, put under it)
        let cases = [
            ("with_git's agent", made(), true),
            (
                "a container of another shape",
                json!({"name": "agent", "command": ["claude"], "env": []}),
                false,
            ),
            ("already watched: no second watchdog", twice, false),
            ("no environment to name the mark in", no_env, false),
        ];
        for (rule, mut c, want) in cases {
            let before = c.clone();
            assert_eq!(watch_agent(&mut c, "/afk-turn/stopped"), want, "{rule}");
            if !want {
                assert_eq!(c, before, "{rule}: unchanged");
                continue;
            }
            assert_eq!(c["command"][2], watchdog_script(), "{rule}");
            assert_eq!(
                c["command"].as_array().unwrap()[4..],
                before["command"].as_array().unwrap()[4..],
                "{rule}"
            );
            let marks: Vec<&Value> = c["env"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|v| v["name"] == STOP_MARK_VAR)
                .collect();
            assert_eq!(
                marks,
                [&json!({"name": STOP_MARK_VAR, "value": "/afk-turn/stopped"})],
                "{rule}"
            );
        }
    }

    #[test]
    fn the_watchdog_is_posix_sh_with_afk_s_numbers_and_keeps_the_agent_s_status() {
        let script = watchdog_script();
        // (rule, what the script says, or must not)
        let says = [
            ("the agent is its child", "\"$@\" &"),
            (
                "the agent's status kept",
                "echo \"$code\" > \"$AFK_AGENT_EXIT\"",
            ),
            ("the stop mark read", "[ -e \"$AFK_TURN_STOP_MARK\" ]"),
            ("the pod's end is a stop", "trap 'stop=1' TERM"),
            ("the group's SIGTERM", "kill -s TERM \"$group\""),
            ("SIGKILL after the grace", "[ \"$i\" -lt 2 ]"),
            ("SIGKILL", "kill -s KILL \"$group\""),
            ("a stopped turn fails its container", "exit 143"),
        ];
        for (rule, text) in says {
            assert!(script.contains(text), "{rule}: {script}");
        }
        let never = [
            ("no placeholder left", "GRACE"),
            ("no placeholder left", "STOPPED"),
            ("no bash: [[", "[["),
            ("no bash: wait -n", "wait -n"),
            ("no job control (off without a terminal)", "set -m"),
            ("no read -t", "read -t"),
            ("no $'...'", "$'"),
            (
                "no kill -1: every process of the user outside a container",
                "-1",
            ),
            ("no setsid: not in every image", "setsid"),
            ("no curl or wget: not in every image", "curl"),
        ];
        for (rule, text) in never {
            assert!(!script.contains(text), "{rule}: {script}");
        }
        assert_ne!(STOPPED_STATUS, 0);
    }
}
