//! The discovery documents kubectl reads before any call (`/api`, `/apis`,
//! `/version` and each group version's resource list), so `kubectl --server
//! <sandbox>/k8s get jobs` and `kubectl logs job/<name>` work against the
//! sandbox's cluster. Only what `super::kube` serves is announced.

use super::http::Reply;
use serde_json::{Value, json};

/// One resource of an `APIResourceList`.
fn resource(name: &str, kind: &str, namespaced: bool, verbs: &[&str], short: &[&str]) -> Value {
    let singular = match name.split_once('/') {
        Some(_) => String::new(),
        None => kind.to_lowercase(),
    };
    json!({"name": name, "singularName": singular, "namespaced": namespaced, "kind": kind,
        "verbs": verbs, "shortNames": short})
}

fn group(name: &str) -> Value {
    let gv = json!({"groupVersion": format!("{name}/v1"), "version": "v1"});
    json!({"name": name, "versions": [gv], "preferredVersion": gv})
}

/// The discovery answer for `seg` (the path under `/k8s`, split), if it is one.
pub(super) fn answer(seg: &[&str]) -> Option<Reply> {
    let v = match seg {
        ["api"] => json!({"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}),
        ["apis"] => json!({"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [group("batch"), group("authorization.k8s.io")]}),
        ["version"] => json!({"major": "1", "minor": "30", "gitVersion": "v1.30.0-afk-sandbox",
            "gitCommit": "", "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z",
            "goVersion": "", "compiler": "gc", "platform": "linux/amd64"}),
        ["api", "v1"] => json!({"kind": "APIResourceList", "groupVersion": "v1", "resources": [
            resource("namespaces", "Namespace", false, &["get"], &["ns"]),
            resource("configmaps", "ConfigMap", true, &["create", "delete", "get", "list"], &["cm"]),
            resource("pods", "Pod", true, &["get", "list"], &["po"]),
            resource("pods/log", "Pod", true, &["get"], &[]),
        ]}),
        ["apis", "batch", "v1"] => json!({"kind": "APIResourceList", "groupVersion": "batch/v1",
            "resources": [resource("jobs", "Job", true, &["create", "delete", "get", "list"], &[])]}),
        ["apis", "authorization.k8s.io", "v1"] => json!({"kind": "APIResourceList",
            "groupVersion": "authorization.k8s.io/v1",
            "resources": [resource("selfsubjectaccessreviews", "SelfSubjectAccessReview", false, &["create"], &[])]}),
        _ => return None,
    };
    Some(Reply::json(200, &v))
}
