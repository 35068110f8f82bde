// One file: the Kubernetes runner's rules (~570 lines) and the table tests that pin them, kept beside them as everywhere in core.
//! The Kubernetes room: what a turn on the Kubernetes runner becomes
//! (docs/runners.md#kubernetes-a-job-per-turn), pure. The REST calls are
//! `runner::kubernetes`'s; the rules are here:
//!
//! - this file: names, the allowed API address, the Job and ConfigMap a turn
//!   becomes, what a Job and its pod say about the agent, and the
//!   timestamped log lines;
//! - [`workspace`]: the pod of a turn when afk holds the workspace
//!   (`runner.workspace = "afk"`): its git containers and the line its
//!   forwarding container leaves for the tick;
//! - [`gateway`]: the model gateway's sidecar in a turn's pod;
//! - [`watchdog`]: the agent container's command, which ends the agent once
//!   the gateway left its stop mark.

pub mod gateway;
pub mod watchdog;
pub mod workspace;

use crate::types::Invalid;

use crate::doctor::Level;
use serde_json::{Value, json};
use std::time::Duration;
use time::OffsetDateTime;

/// The label every object afk creates carries (and every list selects on).
pub(crate) const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub(crate) const SELECTOR: &str = "app.kubernetes.io/managed-by=afk";
/// The label naming the afk instance (one state file) that made an object.
pub(crate) const INSTANCE: &str = "afk.dev/instance";

/// The label selector of one instance's objects: afk's, and this state
/// file's, so two instances sharing a namespace never list each other's.
pub fn selector(instance: &str) -> String {
    format!("{SELECTOR},{INSTANCE}={instance}")
}

/// An instance id as the state file keeps it: 6 to 12 of `a-z0-9`, so it
/// fits a Job name and a label value.
pub fn is_instance_id(s: &str) -> bool {
    (6..=12).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}
/// Where the prompt is mounted in the agent's container.
pub const PROMPT_PATH: &str = "/afk/prompt.md";

/// The Job's (and its ConfigMap's) name for one turn:
/// `afk-<instance>-<run_id>-<turn>`. The instance (the state file's own id)
/// keeps two afk instances in one namespace apart; run ids are numbers or
/// `upgrade-<row>-<n>[-tests]`, so the name is a DNS-1123 label; anything
/// else is refused rather than mangled into a collision.
pub fn job_name(instance: &str, run_id: &str, turn: u32) -> Option<String> {
    let name = format!("afk-{instance}-{run_id}-{turn}");
    (is_instance_id(instance) && is_dns_label(&name)).then_some(name)
}

/// Whether a Job name is one this instance made: its own prefix, or (made
/// before instances had ids) the old `afk-<run>-<turn>` of a handle the
/// state file kept, which is followed to its end by name.
pub fn is_own_job(instance: &str, name: &str) -> bool {
    name.strip_prefix("afk-")
        .and_then(|rest| rest.strip_prefix(instance))
        .is_some_and(|rest| rest.starts_with('-'))
}

/// RFC 1123 label: 1..=63 of a-z 0-9 '-', alphanumeric at both ends.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// RFC 1123 subdomain: dot-separated labels, at most 253 in all.
pub fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// A resource quantity as `cpu`/`memory` take it: a decimal number with an
/// optional SI or binary suffix (`500m`, `1`, `2Gi`, `1.5`).
pub fn is_quantity(s: &str) -> bool {
    const SUFFIXES: [&str; 14] = [
        "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P",
    ];
    let num = SUFFIXES
        .iter()
        .find_map(|suf| s.strip_suffix(suf))
        .unwrap_or(s);
    let mut parts = num.splitn(2, '.');
    let whole = parts.next().unwrap_or("");
    let frac = parts.next();
    !num.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
        && (!whole.is_empty() || frac.is_some())
        && num.bytes().any(|b| b.is_ascii_digit() && b != b'0')
}

/// `api_url`: https anywhere; plain http only to a loopback address (a token
/// in clear text across a network is refused).
pub fn api_url_allowed(url: &str) -> Result<(), Invalid> {
    let authority = url.split_once("://").map_or("", |(_, rest)| {
        rest.split(['/', '?', '#']).next().unwrap_or("")
    });
    if authority.contains('@') {
        return Err(Invalid(format!(
            "the URL carries user info before \"@{}\" (a name or password, never sent): the API is reached with the token file alone; remove it",
            crate::sanitize::one_line(url.split('@').next_back().unwrap_or(""), 100)
        )));
    }
    if let Some(rest) = url.strip_prefix("https://") {
        return if rest.is_empty() {
            Err(Invalid(format!("\"{url}\" names no host")))
        } else {
            Ok(())
        };
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return Err(Invalid(format!("\"{url}\" is not an https URL")));
    };
    let authority = rest.split('/').next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        Err(Invalid(format!(
            "\"{url}\" is plain http to a host that is not loopback; the service-account token would cross the network in clear text: use https"
        )))
    }
}

/// Every verb the runner uses, and no other: (group, resource,
/// subresource, verb). A Job is made, read by name (a lost answer, a `409`,
/// a Job from before instance ids), listed, deleted; its ConfigMap made and
/// read by name (a lost answer), never changed or deleted (the Job owns it);
/// pods listed, their log read. `contrib/kubernetes/rbac.yaml` grants
/// exactly these, and a test holds the runner's requests to them.
pub const VERBS: [(&str, &str, &str, &str); 8] = [
    ("batch", "jobs", "", "create"),
    ("batch", "jobs", "", "get"),
    ("batch", "jobs", "", "list"),
    ("batch", "jobs", "", "delete"),
    ("", "configmaps", "", "create"),
    ("", "configmaps", "", "get"),
    ("", "pods", "", "list"),
    ("", "pods", "log", "get"),
];

/// Doctor's line on where agents run: never in the namespace afk itself
/// runs in (`own`, when afk runs in a cluster), which holds afk's Secrets,
/// any of which a pod created there may mount.
pub fn namespace_split(agents: &str, own: Option<&str>) -> (bool, String) {
    match own {
        Some(own) if own == agents => (
            false,
            format!(
                "agents' Jobs run in namespace {agents}, afk's own, where its Secrets are: an agent's pod could mount them; run agents in a namespace of their own (runner.kubernetes.namespace; contrib/kubernetes uses afk-agents)"
            ),
        ),
        Some(own) => (
            true,
            format!("agents run in namespace {agents}, apart from afk's own ({own})"),
        ),
        None => (true, format!("agents run in namespace {agents}")),
    }
}

/// What doctor makes of reading the namespace (`GET /api/v1/namespaces/{ns}`):
/// `status` is the answer's HTTP status (None: no answer came, `error` says
/// why). The level, the line, and whether the other checks can go on. A
/// refusal or any other status is a WARN that says what could not be checked
/// and why, never a silent ok: many Roles may not read the namespace, a
/// cluster-scoped object, and the access reviews still check every verb.
pub fn namespace_read(ns: &str, status: Option<u16>, error: &str) -> (Level, String, bool) {
    let what = format!("GET /api/v1/namespaces/{ns}");
    match status {
        Some(200..=299) => (
            Level::Ok,
            format!("the API answers; namespace {ns} exists"),
            true,
        ),
        Some(404) => (
            Level::Fail,
            format!(
                "namespace {ns} does not exist: create it (kubectl create namespace {ns}) or set runner.kubernetes.namespace"
            ),
            false,
        ),
        Some(401) => (
            Level::Fail,
            format!("{error}: the token is refused; check runner.kubernetes.token_file"),
            false,
        ),
        Some(403) => (
            Level::Warn,
            format!(
                "could not check that namespace {ns} exists: {what} answered 403 (the service account may not get namespaces, a cluster-scoped resource); grant get on namespaces in a ClusterRole, or check it by hand (kubectl get namespace {ns})"
            ),
            true,
        ),
        Some(code) => (
            Level::Warn,
            format!(
                "could not check that namespace {ns} exists: {what} answered {code} ({error}); check it by hand (kubectl get namespace {ns})"
            ),
            true,
        ),
        None => (
            Level::Fail,
            format!("{error}: check runner.kubernetes.api_url and ca_file"),
            false,
        ),
    }
}

/// Doctor's line on the access reviews: every verb allowed, or which are
/// missing and the one fix.
pub fn access_verdict(missing: &[String], namespace: &str) -> (bool, String) {
    if missing.is_empty() {
        return (true, "every verb the runner needs is allowed".into());
    }
    (
        false,
        format!(
            "the service account may not {} in namespace {namespace}: grant them in its Role (contrib/kubernetes/ has one)",
            missing.join(", ")
        ),
    )
}

/// Everything one turn's Job is made of.
pub struct JobSpec<'a> {
    pub name: &'a str,
    /// the state file's instance id (a label on every object)
    pub instance: &'a str,
    pub namespace: &'a str,
    pub run_id: &'a str,
    pub turn: u32,
    pub image: &'a str,
    /// `runner.command`, placeholders substituted
    pub command: &'a [String],
    /// `AFK_*` and the turn's extra variables, in order
    pub env: &'a [(String, String)],
    pub service_account: &'a str,
    pub env_secret: &'a str,
    pub cpu: &'a str,
    pub memory: &'a str,
    pub active_deadline: Duration,
    pub ttl_after_finished: Duration,
}

fn labels(s: &JobSpec) -> Value {
    json!({MANAGED_BY: "afk", INSTANCE: s.instance, "afk.dev/run-id": s.run_id, "afk.dev/turn": s.turn.to_string()})
}

/// The batch/v1 Job of one turn: one container `agent`, no retries, a
/// deadline, cleaned up after it finishes, locked down (non-root, no
/// privilege escalation, no capabilities, the runtime's seccomp profile).
pub fn job(s: &JobSpec) -> Value {
    let resources = json!({"cpu": s.cpu, "memory": s.memory});
    let mut container = json!({
        "name": "agent",
        "image": s.image,
        "command": s.command,
        "env": s.env.iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>(),
        "volumeMounts": [{"name": "prompt", "mountPath": "/afk", "readOnly": true}],
        "resources": {"requests": resources, "limits": resources},
        "securityContext": {
            "allowPrivilegeEscalation": false,
            "runAsNonRoot": true,
            "readOnlyRootFilesystem": false,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"}
        }
    });
    if !s.env_secret.is_empty() {
        container["envFrom"] = json!([{"secretRef": {"name": s.env_secret}}]);
    }
    let mut pod = json!({
        "restartPolicy": "Never",
        "automountServiceAccountToken": false,
        "securityContext": {
            "runAsNonRoot": true,
            "runAsUser": 1000,
            "seccompProfile": {"type": "RuntimeDefault"}
        },
        "containers": [container],
        "volumes": [{"name": "prompt", "configMap": {"name": s.name, "items": [{"key": "prompt.md", "path": "prompt.md"}]}}]
    });
    if !s.service_account.is_empty() {
        pod["serviceAccountName"] = json!(s.service_account);
    }
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": s.name, "namespace": s.namespace, "labels": labels(s)},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": s.active_deadline.as_secs(),
            "ttlSecondsAfterFinished": s.ttl_after_finished.as_secs(),
            "template": {
                "metadata": {"labels": labels(s)},
                "spec": pod
            }
        }
    })
}

/// The ConfigMap holding the prompt, owned by the Job (so it goes with it).
pub fn config_map(s: &JobSpec, job_uid: &str, prompt: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": s.name,
            "namespace": s.namespace,
            "labels": labels(s),
            "ownerReferences": [{
                "apiVersion": "batch/v1", "kind": "Job", "name": s.name, "uid": job_uid,
                "controller": false, "blockOwnerDeletion": false
            }]
        },
        "data": {"prompt.md": prompt}
    })
}

/// What afk reads of a Job.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobView {
    pub name: String,
    pub succeeded: u32,
    pub failed: u32,
    /// a `Complete` or `Failed` condition that is `True`, with its reason
    pub finished: Option<(bool, String)>,
}

/// What afk reads of a Job's pod.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PodView {
    pub name: String,
    pub job: String,
    pub phase: String,
    pub created: Option<OffsetDateTime>,
    /// the `agent` container's waiting reason and message
    pub waiting: Option<(String, String)>,
    /// the `agent` container's exit code, once it terminated
    pub exit_code: Option<i32>,
    /// PodScheduled=False with reason Unschedulable: its message
    pub unschedulable: Option<String>,
    /// the `agent` container runs (an init container in afk's workspace,
    /// while the pod is still `Pending`)
    pub agent_running: bool,
    /// the `agent` container terminated (in afk's workspace an init
    /// container, whose failure, as its watchdog's stop at the model
    /// gateway's budget, ends the pod before any forwarding)
    pub agent_ended: bool,
    /// afk's workspace (docs/kubernetes.md): the `checkout` container failed,
    /// with its termination message
    pub checkout_failed: Option<String>,
    /// afk's workspace: the `forward` container's termination message
    pub forwarded: Option<String>,
}

impl PodView {
    /// Whether the agent's container has a log to read: the pod runs, or
    /// the agent runs or ended (in afk's workspace an init container, read
    /// too where the pod ended with it, forwarding never run).
    pub fn agent_started(&self) -> bool {
        self.phase == "Running"
            || self.agent_running
            || self.agent_ended
            || self.exit_code.is_some()
    }
}

/// What the runner concludes about one turn.
#[derive(Debug, Clone, PartialEq)]
pub enum JobState {
    /// Running, or about to: the log is worth reading when `pod_running`.
    Running {
        pod_running: bool,
    },
    Exited(i32),
    /// The Job is gone.
    Vanished,
    /// The pod cannot start; the reason, from the pod's status.
    CannotStart(String),
}

/// Waiting reasons that never resolve by themselves.
const HOPELESS: [&str; 5] = [
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
];

/// The turn's state from its Job (None: not found) and its newest pod.
/// An unschedulable pod is given `stall_after` before it counts as failed.
pub fn job_state(
    job: Option<&JobView>,
    pod: Option<&PodView>,
    stall_after: Duration,
    now: OffsetDateTime,
) -> JobState {
    let Some(job) = job else {
        return JobState::Vanished;
    };
    if let Some(p) = pod {
        if let Some(why) = &p.checkout_failed {
            // the agent never ran: nothing of its to forward
            return JobState::CannotStart(reason_line("the checkout failed", why));
        }
        if let Some(code) = p.exit_code {
            return JobState::Exited(code);
        }
        if let Some((reason, message)) = &p.waiting
            && HOPELESS.contains(&reason.as_str())
        {
            return JobState::CannotStart(reason_line(reason, message));
        }
        if let Some(msg) = &p.unschedulable
            && p.created.is_some_and(|c| now - c >= stall_after)
        {
            return JobState::CannotStart(reason_line("Unschedulable", msg));
        }
    }
    match &job.finished {
        Some((true, _)) => return JobState::Exited(0),
        Some((false, _)) => return JobState::Exited(1),
        None => {}
    }
    if job.succeeded > 0 {
        return JobState::Exited(0);
    }
    if job.failed > 0 {
        return JobState::Exited(1);
    }
    JobState::Running {
        pod_running: pod.is_some_and(|p| p.phase == "Running" || p.agent_running),
    }
}

fn reason_line(reason: &str, message: &str) -> String {
    let msg = crate::sanitize::one_line(message, 300);
    if msg.is_empty() {
        reason.to_string()
    } else {
        format!("{reason}: {msg}")
    }
}

/// One line of a `timestamps=true` log: its RFC 3339 timestamp and the text.
pub fn log_line(line: &str) -> Option<(OffsetDateTime, &str)> {
    let (ts, text) = line.split_once(' ').unwrap_or((line, ""));
    let t = OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339).ok()?;
    Some((t, text))
}

/// How many bytes one log read asks for (`limitBytes`): a tick reads at most
/// this much of one agent's log, streamed, never held whole.
pub const LOG_READ_BYTES: usize = 32 << 20;
/// The longest log line afk reads (a progress line, a `blocked` with its
/// questions, Claude Code's `result`); a longer one is passed over and counted.
pub const LOG_LINE_MAX: usize = 4 << 20;

/// Where a log read stopped: the Job, the last timestamp taken and how many
/// lines of exactly that timestamp were taken (a read from `sinceTime` gives
/// that second's lines again, so they are counted off, not compared).
#[derive(Debug, Clone, PartialEq)]
pub struct LogCursor {
    pub job: String,
    pub at: OffsetDateTime,
    pub taken_at: u32,
}

impl LogCursor {
    /// `<job> <RFC 3339> [<taken at that instant>]` (the count is new: a
    /// cursor without it took one line there).
    pub fn parse(s: &str) -> Option<LogCursor> {
        let mut w = s.split_whitespace();
        let job = w.next()?.to_string();
        let at = OffsetDateTime::parse(w.next()?, &time::format_description::well_known::Rfc3339)
            .ok()?;
        let taken_at = w.next().and_then(|n| n.parse().ok()).unwrap_or(1);
        Some(LogCursor { job, at, taken_at })
    }

    pub fn line(&self) -> String {
        let at = self
            .at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        format!("{} {at} {}\n", self.job, self.taken_at)
    }

    /// The `sinceTime` to read from: the cursor's whole second (the API
    /// server's precision), so no line after the cursor is missed.
    pub fn since(&self) -> String {
        let t = self.at.replace_nanosecond(0).unwrap_or(self.at);
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    }
}

/// One read's walk over timestamped lines: which are new past the cursor,
/// and where the cursor goes. The cursor always moves past what was taken
/// or passed over, so a line too long to read is never asked for again.
#[derive(Debug)]
pub struct LogWalk {
    from: Option<(OffsetDateTime, u32)>,
    /// lines at the old cursor's instant met so far
    met_at_from: u32,
    last: Option<(OffsetDateTime, u32)>,
}

impl LogWalk {
    pub fn new(cursor: Option<&LogCursor>) -> LogWalk {
        let from = cursor.map(|c| (c.at, c.taken_at));
        LogWalk {
            from,
            met_at_from: 0,
            last: from,
        }
    }

    /// Whether the line stamped `t` is new; a new one moves the cursor.
    pub fn take(&mut self, t: OffsetDateTime) -> bool {
        if let Some((at, n)) = self.from {
            if t < at {
                return false;
            }
            if t == at {
                self.met_at_from += 1;
                if self.met_at_from <= n {
                    return false;
                }
            }
        }
        self.last = Some(match self.last {
            Some((lt, n)) if lt == t => (t, n + 1),
            Some((lt, n)) if lt > t => (lt, n),
            _ => (t, 1),
        });
        true
    }

    /// The cursor after the read. `stuck`: the answer was cut at its byte
    /// limit and held no new line (a burst of old lines in the cursor's own
    /// second, longer than one read): the rest of that second is passed over.
    pub fn cursor(&self, job: &str, stuck: bool) -> Option<LogCursor> {
        let (at, taken_at) = self.last?;
        if stuck && self.last == self.from {
            // checked: a log line's stamp is outside text (the last second
            // of time has no next one: the cursor stays)
            let whole = at.replace_nanosecond(0).unwrap_or(at);
            let next = whole.checked_add(time::Duration::seconds(1)).unwrap_or(at);
            return Some(LogCursor {
                job: job.to_string(),
                at: next,
                taken_at: 0,
            });
        }
        Some(LogCursor {
            job: job.to_string(),
            at,
            taken_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pods_agent_log_is_read_once_the_agent_started_whatever_its_container() {
        let pod = |phase: &str, running, ended, exit| PodView {
            phase: phase.into(),
            agent_running: running,
            agent_ended: ended,
            exit_code: exit,
            ..Default::default()
        };
        // (rule, pod, started)
        let cases = [
            (
                "pending, nothing run yet",
                pod("Pending", false, false, None),
                false,
            ),
            ("the pod runs", pod("Running", false, false, None), true),
            (
                "afk's workspace: the agent, an init container, runs",
                pod("Pending", true, false, None),
                true,
            ),
            (
                "afk's workspace: the agent ended and the pod with it",
                pod("Failed", false, true, None),
                true,
            ),
            (
                "the agent's exit code is known",
                pod("Succeeded", false, false, Some(0)),
                true,
            ),
            (
                "failed before the agent ran (its checkout)",
                pod("Failed", false, false, None),
                false,
            ),
        ];
        for (rule, p, want) in cases {
            assert_eq!(p.agent_started(), want, "{rule}");
        }
    }
    use time::macros::datetime;

    #[test]
    fn job_names_are_dns_labels_for_runs_and_fixers() {
        let cases = [
            ("a run's turn", "ab12cd", "42", 1, Some("afk-ab12cd-42-1")),
            (
                "a fixer's turn",
                "ab12cd",
                "upgrade-3-2",
                4,
                Some("afk-ab12cd-upgrade-3-2-4"),
            ),
            (
                "a tests fixer's turn is its own",
                "ab12cd",
                "upgrade-3-2-tests",
                4,
                Some("afk-ab12cd-upgrade-3-2-tests-4"),
            ),
            ("not a DNS label", "ab12cd", "Run_7", 1, None),
            ("too long", "ab12cd", &"9".repeat(60), 1, None),
            ("no instance", "", "42", 1, None),
            ("an instance that is no id", "AB-12", "42", 1, None),
        ];
        for (rule, inst, run, turn, want) in cases {
            assert_eq!(job_name(inst, run, turn).as_deref(), want, "{rule}");
        }
    }

    #[test]
    fn own_jobs_carry_the_instance_s_prefix() {
        for (name, own) in [
            ("afk-ab12cd-1-1", true),
            ("afk-ab12cd-upgrade-2-1-1", true),
            ("afk-ab12cdx-1-1", false),
            ("afk-ff00ee-1-1", false),
            ("afk-1-1", false),
            ("ab12cd-1-1", false),
        ] {
            assert_eq!(is_own_job("ab12cd", name), own, "{name}");
        }
        assert_eq!(
            selector("ab12cd"),
            "app.kubernetes.io/managed-by=afk,afk.dev/instance=ab12cd"
        );
    }

    #[test]
    fn namespace_split_refuses_agents_beside_afk_s_secrets() {
        assert!(!namespace_split("afk", Some("afk")).0);
        assert!(namespace_split("afk-agents", Some("afk")).0);
        assert!(
            namespace_split("afk", None).0,
            "outside a cluster: nothing to compare"
        );
        assert!(namespace_split("afk", Some("afk")).1.contains("mount"));
    }

    #[test]
    fn a_namespace_that_cannot_be_read_is_a_warning_that_says_why() {
        let table = [
            (Some(200), Level::Ok, true, "namespace afk exists"),
            (Some(404), Level::Fail, false, "does not exist"),
            (Some(401), Level::Fail, false, "token is refused"),
            (Some(403), Level::Warn, true, "answered 403"),
            (Some(403), Level::Warn, true, "get on namespaces"),
            (Some(500), Level::Warn, true, "answered 500 (boom)"),
            (Some(429), Level::Warn, true, "could not check"),
            (None, Level::Fail, false, "api_url"),
        ];
        for (status, level, go_on, says) in table {
            let (l, text, on) = namespace_read("afk", status, "boom");
            assert_eq!((l, on), (level, go_on), "{status:?}: {text}");
            assert!(text.contains(says), "{status:?}: {text}");
        }
    }

    #[test]
    fn access_verdict_names_every_missing_verb_and_the_fix() {
        assert!(access_verdict(&[], "afk").0);
        let (ok, text) = access_verdict(&["get pods/log".into(), "patch configmaps".into()], "afk");
        assert!(!ok);
        assert_eq!(
            text,
            "the service account may not get pods/log, patch configmaps in namespace afk: grant them in its Role (contrib/kubernetes/ has one)"
        );
    }

    #[test]
    fn api_url_plain_http_only_to_loopback() {
        for (url, ok) in [
            ("https://10.0.0.1:6443", true),
            ("http://127.0.0.1:8080/k8s", true),
            ("http://localhost:1", true),
            ("http://[::1]:9/", true),
            ("http://10.0.0.1:6443", false),
            ("http://kubernetes.default.svc", false),
            ("ftp://x", false),
            // user info: the host is after the @, and a secret never rides in a URL
            ("http://localhost:x@0.0.0.0/k8s", false),
            ("https://user:pw@k8s.example:6443", false),
            ("http://127.0.0.1@10.0.0.1/", false),
        ] {
            assert_eq!(api_url_allowed(url).is_ok(), ok, "{url}");
        }
    }

    #[test]
    fn quantities_as_kubernetes_writes_them() {
        for (q, ok) in [
            ("1", true),
            ("500m", true),
            ("2Gi", true),
            ("1.5", true),
            ("0", false),
            ("", false),
            ("2 Gi", false),
            ("lots", false),
        ] {
            assert_eq!(is_quantity(q), ok, "{q}");
        }
    }

    #[test]
    fn job_state_from_job_and_pod() {
        let now = datetime!(2026-01-01 12:00 UTC);
        let hour = Duration::from_secs(3600);
        let job = JobView {
            name: "afk-1-1".into(),
            ..Default::default()
        };
        let pod = |f: &dyn Fn(&mut PodView)| {
            let mut p = PodView {
                phase: "Pending".into(),
                created: Some(datetime!(2026-01-01 11:30 UTC)),
                ..Default::default()
            };
            f(&mut p);
            p
        };
        let pull = pod(&|p| p.waiting = Some(("ImagePullBackOff".into(), "no such image".into())));
        let ran = pod(&|p| p.exit_code = Some(3));
        let unsched = pod(&|p| p.unschedulable = Some("0/3 nodes".into()));
        let running = pod(&|p| p.phase = "Running".into());
        // afk's workspace: the agent runs as an init container of a Pending pod
        let agent_init = pod(&|p| p.agent_running = true);
        let checkout_failed = pod(&|p| {
            p.checkout_failed = Some("push access denied".into());
            p.exit_code = Some(1);
        });
        let done = JobView {
            finished: Some((true, "Complete".into())),
            ..job.clone()
        };
        let deadline = JobView {
            finished: Some((false, "DeadlineExceeded".into())),
            ..job.clone()
        };
        let cases: [(Option<&JobView>, Option<&PodView>, Duration, JobState); 10] = [
            (None, Some(&running), hour, JobState::Vanished),
            (
                Some(&job),
                None,
                hour,
                JobState::Running { pod_running: false },
            ),
            (
                Some(&job),
                Some(&running),
                hour,
                JobState::Running { pod_running: true },
            ),
            (Some(&job), Some(&ran), hour, JobState::Exited(3)),
            (
                Some(&job),
                Some(&pull),
                hour,
                JobState::CannotStart("ImagePullBackOff: no such image".into()),
            ),
            (
                Some(&job),
                Some(&unsched),
                hour,
                JobState::Running { pod_running: false },
            ),
            (
                Some(&job),
                Some(&unsched),
                Duration::from_secs(60),
                JobState::CannotStart("Unschedulable: 0/3 nodes".into()),
            ),
            (Some(&deadline), None, hour, JobState::Exited(1)),
            (
                Some(&job),
                Some(&agent_init),
                hour,
                JobState::Running { pod_running: true },
            ),
            (
                Some(&deadline),
                Some(&checkout_failed),
                hour,
                JobState::CannotStart("the checkout failed: push access denied".into()),
            ),
        ];
        for (j, p, stall, want) in cases {
            assert_eq!(job_state(j, p, stall, now), want, "{j:?} {p:?}");
        }
        assert_eq!(job_state(Some(&done), None, hour, now), JobState::Exited(0));
    }

    #[test]
    fn log_walk_takes_each_line_once_and_always_moves_the_cursor() {
        let t = |s: &str| {
            OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap()
        };
        let a = t("2026-01-01T12:00:00.1Z");
        let b = t("2026-01-01T12:00:00.2Z");
        let c = t("2026-01-01T12:00:01Z");
        let walk = |cursor: Option<LogCursor>, lines: &[OffsetDateTime], stuck: bool| {
            let mut w = LogWalk::new(cursor.as_ref());
            let taken: Vec<bool> = lines.iter().map(|l| w.take(*l)).collect();
            (taken, w.cursor("j", stuck))
        };
        let at = |at, taken_at| {
            Some(LogCursor {
                job: "j".into(),
                at,
                taken_at,
            })
        };
        let cases = [
            (
                "a first read takes every line",
                None,
                vec![a, b, c],
                false,
                vec![true, true, true],
                at(c, 1),
            ),
            (
                "lines before the cursor were taken",
                at(b, 1),
                vec![a, b, c],
                false,
                vec![false, false, true],
                at(c, 1),
            ),
            (
                "lines of one instant are counted off",
                at(b, 1),
                vec![b, b, b],
                false,
                vec![false, true, true],
                at(b, 3),
            ),
            (
                "nothing new keeps the cursor",
                at(c, 1),
                vec![a, c],
                false,
                vec![false, false],
                at(c, 1),
            ),
            (
                "a read cut among old lines moves to the next second",
                at(b, 5),
                vec![b, b],
                true,
                vec![false, false],
                at(t("2026-01-01T12:00:01Z"), 0),
            ),
            (
                "a cut read with a new line keeps that line's place",
                at(a, 1),
                vec![a, b],
                true,
                vec![false, true],
                at(b, 1),
            ),
            (
                "no cursor and nothing read: none",
                None,
                vec![],
                false,
                vec![],
                None,
            ),
            (
                "a cut read in the last second of time keeps its cursor",
                at(t("9999-12-31T23:59:59.5Z"), 2),
                vec![t("9999-12-31T23:59:59.5Z")],
                true,
                vec![false],
                at(t("9999-12-31T23:59:59.5Z"), 0),
            ),
        ];
        for (rule, cursor, lines, stuck, want, next) in cases {
            let (taken, cur) = walk(cursor, &lines, stuck);
            assert_eq!(taken, want, "{rule}");
            assert_eq!(cur, next, "{rule}");
        }
    }

    #[test]
    fn log_cursor_reads_back_what_it_writes_and_old_cursors() {
        let c = LogCursor {
            job: "afk-ab12cd-1-1".into(),
            at: datetime!(2026-01-01 12:00:00.25 UTC),
            taken_at: 3,
        };
        assert_eq!(LogCursor::parse(&c.line()), Some(c.clone()));
        assert_eq!(c.since(), "2026-01-01T12:00:00Z");
        let old = LogCursor::parse("afk-1-1 2026-01-01T12:00:00.25Z\n").unwrap();
        assert_eq!((old.job.as_str(), old.taken_at), ("afk-1-1", 1));
        assert_eq!(LogCursor::parse("junk"), None);
    }
}
