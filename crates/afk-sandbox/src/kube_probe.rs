//! The sandbox's kubelet probing a running container's liveness, as a
//! kubelet does: an `httpGet` probe (the one kind afk's pods carry; others
//! are not run) from `initialDelaySeconds` on, every `periodSeconds`
//! (default 10), each within `timeoutSeconds` (default 1), a 2xx or 3xx
//! answer a success; `failureThreshold` (default 3) failures in a row and
//! the container is ended: SIGTERM to its processes, SIGKILL once its
//! grace is over (the probe's `terminationGracePeriodSeconds`, else the
//! pod's, else 30 s). Under the pod's `restartPolicy: Never` it is not
//! started again: its status is `terminated` with the signal's exit code
//! and reason `Error`, as a runtime reports a killed process, and the pod
//! is Failed. The probe's host is `httpGet.host`, else the pod's address:
//! here the host's loopback, which the sandbox's pods share. A leaf: it
//! names no other module of the cluster.

use serde_json::Value;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the prober reads of an answer: its status line, no more.
const ANSWER_MAX: u64 = 1024;

/// The liveness probe of a container, as the kubelet reads it.
struct Probe {
    host: String,
    port: u16,
    path: String,
    delay: Duration,
    period: Duration,
    timeout: Duration,
    failures: u32,
    grace: Duration,
}

fn secs(v: &Value, default: u64, min: u64) -> Duration {
    Duration::from_secs(v.as_u64().unwrap_or(default).max(min))
}

impl Probe {
    /// The container's `livenessProbe.httpGet`, if it has one (`pod`: the
    /// pod's spec, for its grace period).
    fn of(pod: &Value, ctr: &Value) -> Option<Probe> {
        let p = &ctr["livenessProbe"];
        let get = &p["httpGet"];
        let port = u16::try_from(get["port"].as_u64()?).ok()?;
        let grace = match p["terminationGracePeriodSeconds"].as_u64() {
            Some(g) => Duration::from_secs(g),
            None => secs(&pod["terminationGracePeriodSeconds"], 30, 0),
        };
        Some(Probe {
            host: get["host"].as_str().unwrap_or("127.0.0.1").to_string(),
            port,
            path: get["path"].as_str().unwrap_or("/").to_string(),
            delay: secs(&p["initialDelaySeconds"], 0, 0),
            period: secs(&p["periodSeconds"], 10, 1),
            timeout: secs(&p["timeoutSeconds"], 1, 1),
            failures: p["failureThreshold"].as_u64().unwrap_or(3).max(1) as u32,
            grace,
        })
    }

    /// One probe: whether the answer's status is 2xx or 3xx in time.
    fn once(&self) -> bool {
        use std::net::ToSocketAddrs;
        let Some(at) = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
        else {
            return false;
        };
        let Ok(mut conn) = std::net::TcpStream::connect_timeout(&at, self.timeout) else {
            return false;
        };
        let _ = conn.set_read_timeout(Some(self.timeout));
        let _ = conn.set_write_timeout(Some(self.timeout));
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {}:{}\r\nUser-Agent: kube-probe/1.29\r\nAccept: */*\r\nConnection: close\r\n\r\n",
            self.path, self.host, self.port
        );
        if conn.write_all(request.as_bytes()).is_err() {
            return false;
        }
        let mut answer = Vec::new();
        let _ = (&conn).take(ANSWER_MAX).read_to_end(&mut answer);
        let text = String::from_utf8_lossy(&answer);
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok());
        matches!(status, Some(200..=399))
    }
}

/// Probe the container started as process group `pid` while it runs
/// (`exit`: its exit code once it ended), on a thread of its own; its end
/// at the probe's failure.
pub(super) fn watch(pod: &Value, ctr: &Value, pid: i32, exit: Arc<Mutex<Option<i32>>>) {
    let Some(probe) = Probe::of(pod, ctr) else {
        return;
    };
    let ended = move || exit.lock().unwrap().is_some();
    std::thread::spawn(move || {
        std::thread::sleep(probe.delay);
        let mut failed = 0;
        while !ended() {
            failed = if probe.once() { 0 } else { failed + 1 };
            if ended() {
                return;
            }
            if failed >= probe.failures {
                kill(pid, probe.grace, &ended);
                return;
            }
            std::thread::sleep(probe.period);
        }
    });
}

/// End the container as the kubelet does: SIGTERM, then SIGKILL once the
/// grace is over and it has not ended.
fn kill(pid: i32, grace: Duration, ended: &dyn Fn() -> bool) {
    // SAFETY: kill(2) on the process group the sandbox started
    unsafe { libc::kill(-pid, libc::SIGTERM) };
    let until = std::time::Instant::now() + grace;
    while !ended() && std::time::Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    if !ended() {
        // SAFETY: as above
        unsafe { libc::kill(-pid, libc::SIGKILL) };
    }
}

/// The API server's refusal of a pod spec with a probe on an init container
/// that is not a sidecar (Kubernetes allows probes there only with
/// `restartPolicy: Always`), as its message names the field.
pub(super) fn refused(pod: &Value) -> Option<String> {
    let inits = pod["initContainers"].as_array()?;
    inits.iter().enumerate().find_map(|(i, c)| {
        let probe = ["livenessProbe", "readinessProbe", "startupProbe"]
            .into_iter()
            .find(|p| c.get(*p).is_some_and(|v| !v.is_null()))?;
        (c["restartPolicy"] != "Always").then(|| {
            format!(
                "spec.template.spec.initContainers[{i}].{probe}: Forbidden: may not be set for init containers without restartPolicy=Always"
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_probe_reads_as_the_kubelet_reads_it() {
        let pod = json!({"terminationGracePeriodSeconds": 7});
        // (rule, the container, (port, period, failures, grace) or none)
        let cases = [
            (
                "the defaults, the pod's grace",
                json!({"livenessProbe": {"httpGet": {"port": 8080}}}),
                Some((8080, 10, 3, 7)),
            ),
            (
                "afk's agent: every second, one failure, a second's grace",
                json!({"livenessProbe": {"httpGet": {"path": "/afk-turn", "port": 15950},
                    "periodSeconds": 1, "failureThreshold": 1, "terminationGracePeriodSeconds": 1}}),
                Some((15950, 1, 1, 1)),
            ),
            (
                "an exec probe is not run here",
                json!({"livenessProbe": {"exec": {"command": ["true"]}}}),
                None,
            ),
            ("no probe", json!({}), None),
        ];
        for (rule, ctr, want) in cases {
            let got = Probe::of(&pod, &ctr)
                .map(|p| (p.port, p.period.as_secs(), p.failures, p.grace.as_secs()));
            assert_eq!(got, want, "{rule}");
        }
    }

    #[test]
    fn the_api_refuses_a_probe_on_an_init_container_that_is_no_sidecar() {
        let probe = json!({"httpGet": {"port": 1}});
        // (rule, the pod's init containers, refused)
        let cases = [
            ("none", json!([]), false),
            (
                "a sidecar's startup probe",
                json!([{"name": "gateway", "restartPolicy": "Always", "startupProbe": probe}]),
                false,
            ),
            (
                "an init container's liveness probe",
                json!([{"name": "gateway", "restartPolicy": "Always"}, {"name": "agent", "livenessProbe": probe}]),
                true,
            ),
        ];
        for (rule, inits, refused_) in cases {
            let why = refused(&json!({"initContainers": inits}));
            assert_eq!(why.is_some(), refused_, "{rule}: {why:?}");
        }
        assert_eq!(
            refused(&json!({"initContainers": [{"name": "agent", "livenessProbe": probe}]}))
                .as_deref(),
            Some(
                "spec.template.spec.initContainers[0].livenessProbe: Forbidden: may not be set for init containers without restartPolicy=Always"
            )
        );
    }
}
