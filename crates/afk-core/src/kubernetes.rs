//! The kubernetes runner's rules (SPEC 5.4), pure: names, the allowed API
//! address, the Job and ConfigMap a turn becomes, what a Job and its pod say
//! about the agent, and the timestamped log lines. The REST calls are
//! `runner::kubernetes`'s.

use serde_json::{Value, json};
use std::time::Duration;
use time::OffsetDateTime;

/// The label every object afk creates carries (and every list selects on).
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const SELECTOR: &str = "app.kubernetes.io/managed-by=afk";
/// Where the prompt is mounted in the agent's container.
pub const PROMPT_PATH: &str = "/afk/prompt.md";

/// The Job's (and its ConfigMap's) name for one turn: `afk-<run_id>-<turn>`.
/// Run ids are numbers or `upgrade-<row>-<n>`, so the name is a DNS-1123
/// label; anything else is refused rather than mangled into a collision.
pub fn job_name(run_id: &str, turn: u32) -> Option<String> {
    let name = format!("afk-{run_id}-{turn}");
    is_dns_label(&name).then_some(name)
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
pub fn api_url_allowed(url: &str) -> Result<(), String> {
    if let Some(rest) = url.strip_prefix("https://") {
        return if rest.is_empty() {
            Err(format!("\"{url}\" names no host"))
        } else {
            Ok(())
        };
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return Err(format!("\"{url}\" is not an https URL"));
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
        Err(format!(
            "\"{url}\" is plain http to a host that is not loopback; the service-account token would cross the network in clear text: use https"
        ))
    }
}

/// Every verb the runner uses: (group, resource, subresource, verb).
pub const VERBS: [(&str, &str, &str, &str); 11] = [
    ("batch", "jobs", "", "create"),
    ("batch", "jobs", "", "get"),
    ("batch", "jobs", "", "list"),
    ("batch", "jobs", "", "delete"),
    ("", "configmaps", "", "create"),
    ("", "configmaps", "", "get"),
    ("", "configmaps", "", "patch"),
    ("", "configmaps", "", "delete"),
    ("", "pods", "", "get"),
    ("", "pods", "", "list"),
    ("", "pods", "log", "get"),
];

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

fn labels(run_id: &str, turn: u32) -> Value {
    json!({MANAGED_BY: "afk", "afk.dev/run-id": run_id, "afk.dev/turn": turn.to_string()})
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
        "metadata": {"name": s.name, "namespace": s.namespace, "labels": labels(s.run_id, s.turn)},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": s.active_deadline.as_secs(),
            "ttlSecondsAfterFinished": s.ttl_after_finished.as_secs(),
            "template": {
                "metadata": {"labels": labels(s.run_id, s.turn)},
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
            "labels": labels(s.run_id, s.turn),
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
        pod_running: pod.is_some_and(|p| p.phase == "Running"),
    }
}

fn reason_line(reason: &str, message: &str) -> String {
    let msg = super::sanitize::one_line(message, 300);
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

/// The lines of a log read past `cursor` (the last timestamp taken before):
/// a read starts a little before the cursor (`sinceSeconds`, whole seconds,
/// with a margin for clock skew), so lines at or before it are dropped here. Returns the new lines and the new cursor.
pub fn new_log_lines(
    body: &str,
    cursor: Option<OffsetDateTime>,
) -> (Vec<String>, Option<OffsetDateTime>) {
    let mut last = cursor;
    let mut out = vec![];
    for raw in body.lines() {
        let Some((t, text)) = log_line(raw) else {
            continue;
        };
        if cursor.is_some_and(|c| t <= c) {
            continue;
        }
        out.push(text.to_string());
        last = Some(last.map_or(t, |l| l.max(t)));
    }
    (out, last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn job_names_are_dns_labels_for_runs_and_fixers() {
        assert_eq!(job_name("42", 1).as_deref(), Some("afk-42-1"));
        assert_eq!(
            job_name("upgrade-3-2", 4).as_deref(),
            Some("afk-upgrade-3-2-4")
        );
        assert_eq!(job_name("Run_7", 1), None);
        assert_eq!(job_name(&"9".repeat(70), 1), None);
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
        let done = JobView {
            finished: Some((true, "Complete".into())),
            ..job.clone()
        };
        let deadline = JobView {
            finished: Some((false, "DeadlineExceeded".into())),
            ..job.clone()
        };
        let cases: [(Option<&JobView>, Option<&PodView>, Duration, JobState); 8] = [
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
        ];
        for (j, p, stall, want) in cases {
            assert_eq!(job_state(j, p, stall, now), want, "{j:?} {p:?}");
        }
        assert_eq!(job_state(Some(&done), None, hour, now), JobState::Exited(0));
    }

    #[test]
    fn log_lines_past_the_cursor_are_read_once() {
        let body = "2026-01-01T12:00:00.100000000Z {\"phase\":\"a\"}\n\
                    2026-01-01T12:00:00.200000000Z {\"phase\":\"b\"}\n\
                    2026-01-01T12:00:01.000000000Z plain text\n";
        let (lines, cur) = new_log_lines(body, None);
        assert_eq!(lines.len(), 3);
        assert_eq!(cur, Some(datetime!(2026-01-01 12:00:01 UTC)));
        let (again, _) = new_log_lines(body, Some(datetime!(2026-01-01 12:00:00.1 UTC)));
        assert_eq!(again, vec!["{\"phase\":\"b\"}", "plain text"]);
        let (none, same) = new_log_lines(body, cur);
        assert!(none.is_empty());
        assert_eq!(same, cur);
    }
}
