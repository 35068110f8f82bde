//! What afk reads of a Job and of its pod
//! (docs/runners.md#kubernetes-a-job-per-turn, and the workspace's containers,
//! docs/kubernetes.md#3-the-agents-image-and-the-git-around-it): the fields a
//! turn's state is decided from, taken from the API's objects;
//! `core::kube::job_state` decides.

use crate::core::kube::{JobView, PodView};
use serde_json::Value;
use time::OffsetDateTime;

fn ts(v: &Value) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(v.as_str()?, &time::format_description::well_known::Rfc3339).ok()
}

/// What afk reads of a Job object.
pub fn job_view(v: &Value) -> JobView {
    let finished = v["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["status"] == "True" && (c["type"] == "Complete" || c["type"] == "Failed"))
        .map(|c| {
            (
                c["type"] == "Complete",
                c["reason"].as_str().unwrap_or("").to_string(),
            )
        });
    JobView {
        name: v["metadata"]["name"].as_str().unwrap_or("").to_string(),
        succeeded: v["status"]["succeeded"].as_u64().unwrap_or(0) as u32,
        failed: v["status"]["failed"].as_u64().unwrap_or(0) as u32,
        finished,
    }
}

/// One container's status by name, from the init or the main containers.
fn container_status<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    ["initContainerStatuses", "containerStatuses"]
        .iter()
        .flat_map(|k| v["status"][k].as_array().into_iter().flatten())
        .find(|c| c["name"] == name)
}

/// What afk reads of a pod object: its `agent` container, and in afk's
/// workspace (docs/kubernetes.md) its `checkout` and `forward` containers.
pub fn pod_view(v: &Value) -> PodView {
    let agent = container_status(v, "agent");
    let forward = container_status(v, "forward");
    let checkout = container_status(v, "checkout");
    fn terminated(c: Option<&Value>) -> Option<(i32, Option<&str>)> {
        let t = &c?["state"]["terminated"];
        Some((t["exitCode"].as_i64()? as i32, t["message"].as_str()))
    }
    // a waiting reason that never resolves may be any container's (an image
    // of the git side that cannot be pulled)
    let waiting = [checkout, agent, forward]
        .into_iter()
        .flatten()
        .map(|c| &c["state"]["waiting"])
        .find(|w| w["reason"].as_str().is_some_and(|r| r != "PodInitializing"))
        .map(|w| {
            (
                w["reason"].as_str().unwrap_or("").to_string(),
                w["message"].as_str().unwrap_or("").to_string(),
            )
        });
    // with the workspace, the pod's end is the forwarding container's (its
    // exit code is the agent's); else the agent's own
    let exit_code = match forward {
        Some(_) => terminated(forward).map(|(c, _)| c),
        None => terminated(agent).map(|(c, _)| c),
    };
    let checkout_failed = terminated(checkout).filter(|(c, _)| *c != 0).map(|(c, m)| {
        match m.map(str::trim).filter(|m| !m.is_empty()) {
            Some(m) => crate::core::sanitize::one_line(m, 500),
            None => format!("exit code {c}"),
        }
    });
    let unschedulable = v["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| {
            c["type"] == "PodScheduled" && c["status"] == "False" && c["reason"] == "Unschedulable"
        })
        .map(|c| c["message"].as_str().unwrap_or("").to_string());
    PodView {
        name: v["metadata"]["name"].as_str().unwrap_or("").to_string(),
        job: v["metadata"]["labels"]["job-name"]
            .as_str()
            .unwrap_or("")
            .to_string(),
        phase: v["status"]["phase"].as_str().unwrap_or("").to_string(),
        created: ts(&v["metadata"]["creationTimestamp"]),
        waiting,
        exit_code,
        unschedulable,
        agent_running: agent.is_some_and(|c| c["state"]["running"].is_object()),
        agent_ended: terminated(agent).is_some(),
        checkout_failed,
        forwarded: terminated(forward).and_then(|(_, m)| m.map(str::to_string)),
    }
}
