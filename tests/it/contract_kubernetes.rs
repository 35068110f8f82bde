//! The sandbox's Kubernetes API and afk's kubernetes runner checked against
//! the real API's OpenAPI documents (`tests/contracts/kubernetes-subset.json`):
//! every answer the sandbox serves has the contract's shape, every request
//! afk makes is a declared path, method and query parameter with a body of the
//! declared shape, and every field the runner reads exists there.

use crate::support::*;
use serde_json::{Value, json};

fn contract() -> Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/contracts/kubernetes-subset.json");
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

/// Follow `$ref` and a single-`allOf` wrapper to the schema itself.
fn resolve<'a>(c: &'a Value, mut s: &'a Value) -> &'a Value {
    loop {
        if let Some(r) = s.get("$ref").and_then(Value::as_str) {
            s = &c["components"]["schemas"][r.trim_start_matches("#/components/schemas/")];
        } else if let Some([one]) = s.get("allOf").and_then(Value::as_array).map(Vec::as_slice) {
            s = one;
        } else {
            return s;
        }
    }
}

fn type_ok(ty: &str, v: &Value) -> bool {
    match ty {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        _ => true,
    }
}

/// Every key of `v` a declared property of `schema`, with a matching type.
fn check(c: &Value, schema: &Value, v: &Value, at: &str, problems: &mut Vec<String>) {
    let s = resolve(c, schema);
    if v.is_null() {
        return;
    }
    if let Some(alts) = s.get("oneOf").and_then(Value::as_array) {
        if !alts
            .iter()
            .any(|a| type_ok(a["type"].as_str().unwrap_or(""), v))
        {
            problems.push(format!("{at}: {v} matches none of {alts:?}"));
        }
        return;
    }
    let ty = s["type"]
        .as_str()
        .unwrap_or(if s.get("properties").is_some() {
            "object"
        } else {
            ""
        });
    if !type_ok(ty, v) {
        problems.push(format!("{at}: expected {ty}, got {v}"));
        return;
    }
    if let Some(obj) = v.as_object() {
        if let Some(props) = s.get("properties").and_then(Value::as_object) {
            for (k, val) in obj {
                match props.get(k) {
                    Some(p) => check(c, p, val, &format!("{at}.{k}"), problems),
                    None => problems.push(format!("{at}.{k}: not in the contract")),
                }
            }
        } else if let Some(ap) = s.get("additionalProperties") {
            for (k, val) in obj {
                check(c, ap, val, &format!("{at}.{k}"), problems);
            }
        }
    }
    if let (Some(items), Some(arr)) = (s.get("items"), v.as_array()) {
        for (i, val) in arr.iter().enumerate() {
            check(c, items, val, &format!("{at}[{i}]"), problems);
        }
    }
}

/// The contract path template a concrete path matches.
fn template<'a>(c: &'a Value, path: &str) -> Option<&'a str> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    c["paths"]
        .as_object()?
        .keys()
        .map(String::as_str)
        .find(|t| {
            let ts: Vec<&str> = t.trim_matches('/').split('/').collect();
            ts.len() == segs.len()
                && ts
                    .iter()
                    .zip(&segs)
                    .all(|(a, b)| a == b || a.starts_with('{'))
        })
}

fn response_schema<'a>(c: &'a Value, t: &str, method: &str, status: u16) -> &'a Value {
    &c["paths"][t][method.to_lowercase()]["responses"][status.to_string()]["content"]["application/json"]
        ["schema"]
}

fn call(sb: &Sandbox, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let req = ureq::request(method, &format!("{}/k8s{path}", sb.url))
        .set("Authorization", &format!("Bearer {K8S_TOKEN}"));
    let res = match body {
        Some(b) => req.send_json(b),
        None => req.call(),
    };
    match res {
        Ok(r) => (r.status(), r.into_json().unwrap_or(Value::Null)),
        Err(ureq::Error::Status(s, r)) => (s, r.into_json().unwrap_or(Value::Null)),
        Err(e) => panic!("{method} {path}: {e}"),
    }
}

/// A sandbox where afk has dispatched one run as a Job (the kubernetes
/// suite's setup: one repo, an agent that prints one progress line).
fn dispatched() -> (Sandbox, Afk) {
    let (sb, afk) = crate::kubernetes::setup(1, r#"echo "{\"phase\":\"x\"}""#, "");
    let (code, _, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    (sb, afk)
}

#[test]
fn sandbox_kubernetes_answers_match_the_contract() {
    let c = contract();
    let (sb, afk) = dispatched();
    let name = crate::kubernetes::n(&afk, "1-1");
    let (_, pods) = call(&sb, "GET", "/api/v1/namespaces/afk/pods", None);
    let pod = pods["items"][0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let ssar = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"namespace": "afk", "verb": "get", "resource": "pods"}}});
    let job = |name: &str| {
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "agent", "image": "x", "command": ["true"]}]}}}})
    };
    let cases: Vec<(&str, String, Option<Value>, u16)> = vec![
        ("GET", "/api/v1/namespaces/afk".into(), None, 200),
        (
            "GET",
            "/apis/batch/v1/namespaces/afk/jobs?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dafk"
                .into(),
            None,
            200,
        ),
        (
            "GET",
            format!("/apis/batch/v1/namespaces/afk/jobs/{name}"),
            None,
            200,
        ),
        ("GET", "/api/v1/namespaces/afk/configmaps".into(), None, 200),
        (
            "GET",
            format!("/api/v1/namespaces/afk/configmaps/{name}"),
            None,
            200,
        ),
        (
            "GET",
            format!("/api/v1/namespaces/afk/pods?labelSelector=job-name%3D{name}"),
            None,
            200,
        ),
        (
            "GET",
            format!("/api/v1/namespaces/afk/pods/{pod}"),
            None,
            200,
        ),
        (
            "POST",
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews".into(),
            Some(ssar),
            201,
        ),
        (
            "POST",
            "/apis/batch/v1/namespaces/afk/jobs".into(),
            Some(job("other")),
            201,
        ),
        (
            "DELETE",
            "/apis/batch/v1/namespaces/afk/jobs/other?propagationPolicy=Background".into(),
            None,
            200,
        ),
    ];
    let mut problems = vec![];
    for (method, path, body, want) in cases {
        let (status, v) = call(&sb, method, &path, body);
        assert_eq!(status, want, "{method} {path}: {v}");
        let t = template(&c, path.split('?').next().unwrap())
            .unwrap_or_else(|| panic!("{path}: no such path in the contract"));
        let schema = response_schema(&c, t, method, status);
        assert!(
            !schema.is_null(),
            "{method} {t} {status}: not in the contract"
        );
        check(&c, schema, &v, &format!("{method} {t}"), &mut problems);
    }
    // errors are Status objects, as the contract's delete answers
    let (status, v) = call(
        &sb,
        "POST",
        "/apis/batch/v1/namespaces/afk/jobs",
        Some(job(&name)),
    );
    assert_eq!(status, 409);
    assert_eq!(v["reason"], "AlreadyExists");
    let status_schema =
        json!({"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Status"});
    check(&c, &status_schema, &v, "409", &mut problems);
    // the log is text: a string answer
    let t = template(&c, &format!("/api/v1/namespaces/afk/pods/{pod}/log")).unwrap();
    assert_eq!(
        c["paths"][t]["get"]["responses"]["200"]["content"]["text/plain"]["schema"]["type"],
        "string"
    );
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn every_request_afk_makes_to_kubernetes_is_in_the_contract() {
    let c = contract();
    let (sb, afk) = dispatched();
    afk.watch();
    afk.later(4);
    afk.watch(); // stalled or exited: the Job is stopped or followed to its end
    afk.json(&["doctor"]);
    let reqs: Vec<Value> = sb
        .requests()
        .into_iter()
        .filter(|r| r["path"].as_str().unwrap().starts_with("/k8s/"))
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    let mut problems = vec![];
    for r in &reqs {
        let method = r["method"].as_str().unwrap().to_lowercase();
        let path = &r["path"].as_str().unwrap()["/k8s".len()..];
        let Some(t) = template(&c, path) else {
            problems.push(format!("{method} {path}: no such path"));
            continue;
        };
        let op = &c["paths"][t][&method];
        if op.is_null() {
            problems.push(format!("{method} {t}: no such method"));
            continue;
        }
        seen.insert(format!("{method} {t}"));
        let params: Vec<&str> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(c["paths"][t]["parameters"].as_array().into_iter().flatten())
            .filter(|p| p["in"] == "query")
            .filter_map(|p| p["name"].as_str())
            // `sinceTime` is PodLogOptions' (the contracts' README): the
            // published path item lists only `sinceSeconds`, a known gap
            .chain(t.ends_with("/log").then_some("sinceTime"))
            .collect();
        for kv in r["query"]
            .as_str()
            .unwrap_or("")
            .split('&')
            .filter(|q| !q.is_empty())
        {
            let k = kv.split('=').next().unwrap();
            if !params.contains(&k) {
                problems.push(format!(
                    "{method} {t}: query parameter {k} is not in the contract"
                ));
            }
        }
        if !r["body"].is_null() && !r["body"].as_str().is_some_and(str::is_empty) {
            let body = match &r["body"] {
                Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
                v => v.clone(),
            };
            let schema = &op["requestBody"]["content"]["*/*"]["schema"];
            if schema.is_null() {
                problems.push(format!("{method} {t}: no request body in the contract"));
            } else {
                check(
                    &c,
                    schema,
                    &body,
                    &format!("{method} {t} body"),
                    &mut problems,
                );
            }
        }
    }
    for want in [
        "post /apis/batch/v1/namespaces/{namespace}/jobs",
        "post /api/v1/namespaces/{namespace}/configmaps",
        "get /apis/batch/v1/namespaces/{namespace}/jobs",
        "get /api/v1/namespaces/{namespace}/pods",
        "get /api/v1/namespaces/{namespace}/pods/{name}/log",
        "post /apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        "get /api/v1/namespaces/{name}",
    ] {
        assert!(seen.contains(want), "{want} was not exercised: {seen:?}");
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn fields_the_kubernetes_runner_reads_are_in_the_contract() {
    let c = contract();
    let s = "io.k8s.api";
    let reads: [(&str, &[&str]); 6] = [
        (
            "batch.v1.Job",
            &[
                "metadata.name",
                "metadata.uid",
                "metadata.labels",
                "status.succeeded",
                "status.failed",
                "status.conditions.type",
                "status.conditions.status",
                "status.conditions.reason",
            ],
        ),
        (
            "core.v1.Pod",
            &[
                "metadata.name",
                "metadata.labels",
                "metadata.creationTimestamp",
                "status.phase",
                "status.conditions.type",
                "status.conditions.status",
                "status.conditions.reason",
                "status.conditions.message",
                "status.containerStatuses.name",
                "status.containerStatuses.state.waiting.reason",
                "status.containerStatuses.state.waiting.message",
                "status.containerStatuses.state.terminated.exitCode",
            ],
        ),
        ("batch.v1.JobList", &["items"]),
        ("core.v1.PodList", &["items"]),
        (
            "authorization.v1.SelfSubjectAccessReview",
            &["status.allowed"],
        ),
        (
            "core.v1.ConfigMap",
            &["data", "metadata.ownerReferences.uid"],
        ),
    ];
    let mut missing = vec![];
    for (root, fields) in reads {
        for f in fields {
            let mut s = resolve(&c, &c["components"]["schemas"][format!("{s}.{root}")]);
            for part in f.split('.') {
                if s.get("items").is_some() && s.get("properties").is_none() {
                    s = resolve(&c, &s["items"]);
                }
                s = resolve(&c, &s["properties"][part]);
            }
            if s.is_null() {
                missing.push(format!("{root}.{f}"));
            }
        }
    }
    // the Status of an error: its message is what afk quotes
    let st = &c["components"]["schemas"]["io.k8s.apimachinery.pkg.apis.meta.v1.Status"];
    assert!(!st["properties"]["message"].is_null());
    assert!(missing.is_empty(), "{missing:?}");
}

#[test]
fn the_kubernetes_checker_catches_drift() {
    let c = contract();
    let job = json!({"$ref": "#/components/schemas/io.k8s.api.batch.v1.Job"});
    let mut p = vec![];
    check(
        &c,
        &job,
        &json!({"metadata": {"name": "x", "nmae": "y"}, "status": {"succeeded": "1"}}),
        "job",
        &mut p,
    );
    assert_eq!(p.len(), 2, "{p:?}");
    let mut p = vec![];
    check(
        &c,
        &job,
        &json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "resources": {"limits": {"cpu": true}}}]}}}}),
        "job",
        &mut p,
    );
    assert_eq!(p.len(), 1, "{p:?}");
}

/// A turn's Job with the model gateway (docs/kubernetes.md#the-model-gateway):
/// the sidecar, its startup probe and the agent's liveness probe on the
/// gateway's health port are the contract's fields, of its types; in afk's
/// workspace (the agent an init container, no probe) the turn's volume,
/// its read-only mount and the agent's watchdog too.
#[test]
fn a_turn_s_job_with_the_model_gateway_is_in_the_contract() {
    let c = contract();
    for afks in [false, true] {
        let sb = Sandbox::start(
            json!({"model_key": "k", "repos": [repo("acme/api", json!([ready(1, "alice")]))]}),
        );
        let afk =
            crate::kube_gateway::kube_afk_in(&sb, "#!/bin/sh\ncat > /dev/null\n", "", &[], afks);
        let (code, r, err) = afk.poll();
        assert_eq!(code, 0, "{err} {r}");
        let t = "/apis/batch/v1/namespaces/{namespace}/jobs";
        let body: Value = sb
            .requests()
            .into_iter()
            .filter(|r| {
                r["method"] == "POST"
                    && template(&c, &r["path"].as_str().unwrap()["/k8s".len()..]) == Some(t)
            })
            .find_map(|r| match &r["body"] {
                Value::String(s) => serde_json::from_str(s).ok(),
                v => Some(v.clone()),
            })
            .expect("the Job afk created");
        let pod = &body["spec"]["template"]["spec"];
        assert!(
            pod["initContainers"][0]["startupProbe"]["exec"].is_object(),
            "{pod}"
        );
        if afks {
            let turn = pod["volumes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["name"] == "turn");
            assert!(
                turn.is_some_and(|v| v["emptyDir"]["sizeLimit"].is_string()),
                "{pod}"
            );
            let agent = &pod["initContainers"][2];
            assert_eq!(agent["name"], "agent", "{pod}");
            assert!(
                agent["volumeMounts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|m| m["name"] == "turn" && m["readOnly"] == true),
                "{pod}"
            );
        } else {
            assert!(
                pod["containers"][0]["livenessProbe"]["httpGet"].is_object(),
                "{pod}"
            );
        }
        let schema = &c["paths"][t]["post"]["requestBody"]["content"]["*/*"]["schema"];
        let mut problems = vec![];
        check(&c, schema, &body, "post jobs body", &mut problems);
        assert!(problems.is_empty(), "{afks}: {problems:#?}");
    }
}
