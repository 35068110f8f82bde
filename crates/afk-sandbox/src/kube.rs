//! A small Kubernetes API for the kubernetes runner's tests and the demo,
//! served under `/k8s` (so `api_url = "<sandbox>/k8s"`): namespaces (get),
//! batch/v1 Jobs, ConfigMaps, pods and their logs, SelfSubjectAccessReview,
//! shaped as `contracts/kubernetes-subset.json`. It behaves like a cluster
//! where that bites clients: a bearer token, RBAC (the admin API denies verbs),
//! `409 AlreadyExists`, real label selectors, a Job's pod that waits for its
//! ConfigMap volume, owner-reference garbage collection, `sinceSeconds`. Each Job's command runs as a LOCAL PROCESS: its stdout and stderr
//! are the pod log (RFC 3339 nanosecond timestamps), its exit code the pod's.
//! Nothing here is shared with `runner::kubernetes`: it is the thing faked.

use super::http::{Reply, Request};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The Secret the sandbox's cluster holds from the start for afk's
/// workspace (`runner.kubernetes.git_secret`, docs/kubernetes.md): afk's
/// account on the sandbox's forge, `username` and `token`.
pub const GIT_SECRET: &str = "afk-git";

use super::kube_pod::{Pod, World};
pub(super) use super::kube_proc::{now, stamp};

fn status(code: u16, reason: &str, message: &str) -> Reply {
    Reply::json(
        code,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}),
    )
}

pub(super) struct Cluster {
    /// the bearer token it accepts (drawn per sandbox, or a seed's)
    pub(super) token: String,
    namespaces: BTreeSet<String>,
    /// (namespace, name) -> object, per kind
    jobs: BTreeMap<(String, String), Value>,
    config_maps: BTreeMap<(String, String), Value>,
    pods: BTreeMap<(String, String), Pod>,
    /// "verb resource" pairs RBAC refuses (`get pods/log`)
    denied: BTreeSet<String>,
    /// images whose pull fails
    bad_images: BTreeSet<String>,
    /// Secrets for `envFrom`: name -> keys
    secrets: BTreeMap<String, BTreeMap<String, String>>,
    /// uids of Jobs past their `activeDeadlineSeconds`: their pods were
    /// deleted, the Job is Failed with reason DeadlineExceeded
    deadline_exceeded: BTreeSet<String>,
    next: u64,
    dir: PathBuf,
}

impl Cluster {
    pub(super) fn new(dir: PathBuf, forge_token: &str) -> Cluster {
        Cluster {
            token: super::draw_token("k8s"),
            namespaces: ["default".to_string(), "afk".to_string()].into(),
            jobs: BTreeMap::new(),
            config_maps: BTreeMap::new(),
            pods: BTreeMap::new(),
            denied: BTreeSet::new(),
            bad_images: BTreeSet::new(),
            secrets: [(
                GIT_SECRET.to_string(),
                [
                    ("username".to_string(), "afk-bot".to_string()),
                    ("token".to_string(), forge_token.to_string()),
                ]
                .into(),
            )]
            .into(),
            deadline_exceeded: BTreeSet::new(),
            next: 1,
            dir: dir.join("k8s"),
        }
    }

    /// The forge's token changed (a seed named one): the git Secret follows.
    pub(super) fn forge_token(&mut self, token: &str) {
        if let Some(s) = self.secrets.get_mut(GIT_SECRET) {
            s.insert("token".to_string(), token.to_string());
        }
    }

    fn uid(&mut self) -> String {
        self.next += 1;
        format!("00000000-0000-4000-8000-{:012}", self.next)
    }
}

/// `a=b,c!=d,e`: whether `labels` match.
fn selects(selector: &str, labels: &Value) -> bool {
    selector.split(',').filter(|t| !t.is_empty()).all(|term| {
        if let Some((k, v)) = term.split_once("!=") {
            labels[k.trim()].as_str() != Some(v.trim())
        } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            labels[k.trim()].as_str() == Some(v.trim())
        } else if let Some(k) = term.strip_prefix('!') {
            labels.get(k.trim()).is_none()
        } else {
            labels.get(term.trim()).is_some()
        }
    })
}

/// Admin: `/k8s/deny` {verb, resource} ("get namespaces" refuses the read of
/// a namespace itself), `/k8s/allow`, `/k8s/bad_image` {image},
/// `/k8s/secret` {name, data}, `/k8s/delete_pod` {job} (its pods vanish, their
/// processes killed, as on eviction or a node drain; the Job stays),
/// `/k8s/namespace` {name} (create one), `/k8s/expire` {name} (the Job's
/// `activeDeadlineSeconds` is up now); `GET /k8s/state`: every object.
pub(super) fn admin(c: &mut Cluster, path: &str, method: &str, body: &Value) -> Reply {
    let s = |k: &str| body[k].as_str().unwrap_or("").to_string();
    match (method, path) {
        ("POST", "/deny") => {
            c.denied.insert(format!("{} {}", s("verb"), s("resource")));
        }
        ("POST", "/allow") => {
            c.denied.remove(&format!("{} {}", s("verb"), s("resource")));
        }
        ("POST", "/delete_pod") => {
            let job = s("job");
            let doomed: Vec<(String, String)> = c
                .pods
                .iter()
                .filter(|(_, p)| p.obj["metadata"]["labels"]["job-name"] == job.as_str())
                .map(|(k, _)| k.clone())
                .collect();
            if doomed.is_empty() {
                return status(404, "NotFound", &format!("no pod of job {job}"));
            }
            for k in doomed {
                kill_pod(c.pods.remove(&k));
            }
        }
        // the Job's activeDeadlineSeconds passed now (without waiting for it)
        ("POST", "/expire") => {
            let uid = c
                .jobs
                .values()
                .find(|j| j["metadata"]["name"] == s("name").as_str())
                .and_then(|j| j["metadata"]["uid"].as_str().map(str::to_string));
            let Some(uid) = uid else {
                return status(404, "NotFound", "no such job");
            };
            expire(c, uid);
        }
        ("POST", "/namespace") => {
            c.namespaces.insert(s("name"));
        }
        ("POST", "/bad_image") => {
            c.bad_images.insert(s("image"));
        }
        ("POST", "/secret") => {
            let data = body["data"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                        .collect()
                })
                .unwrap_or_default();
            c.secrets.insert(s("name"), data);
        }
        ("GET", "/state") => {
            tick(c);
            return Reply::json(
                200,
                &json!({
                    "jobs": c.jobs.values().map(|j| job_out(c, j)).collect::<Vec<_>>(),
                    "configmaps": c.config_maps.values().cloned().collect::<Vec<_>>(),
                    "pods": c.pods.values().map(pod_out).collect::<Vec<_>>(),
                }),
            );
        }
        _ => return status(404, "NotFound", "no such admin call"),
    }
    Reply::json(200, &json!({"ok": true}))
}

/// The verb and resource RBAC sees for a request.
fn authz(method: &str, seg: &[&str]) -> Option<(String, String)> {
    let (resource, named) = match seg {
        // the namespace itself (cluster-scoped): `get namespaces`
        ["api", "v1", "namespaces", _] => ("namespaces".to_string(), true),
        ["api", "v1", "namespaces"] => ("namespaces".to_string(), false),
        [.., "namespaces", _, r] => (r.to_string(), false),
        [.., "namespaces", _, r, _] => (r.to_string(), true),
        [.., "namespaces", _, r, _, sub] => (format!("{r}/{sub}"), true),
        _ => return None,
    };
    let verb = match (method, named) {
        ("GET", true) => "get",
        ("GET", false) => "list",
        ("POST", _) => "create",
        ("PATCH", _) => "patch",
        ("PUT", _) => "update",
        ("DELETE", _) => "delete",
        _ => return None,
    };
    Some((verb.to_string(), resource))
}

/// Answer a request under `/k8s` (`path` without the prefix).
pub(super) fn serve(c: &mut Cluster, req: &Request, path: &str) -> Reply {
    // kubectl sends no credentials over plain http (client-go attaches them to
    // https only): an anonymous request may read, as on a cluster whose
    // anonymous user is bound to a view role; a wrong token is refused.
    match req.header("authorization") {
        None if req.method == "GET" => {}
        None => {
            return status(
                403,
                "Forbidden",
                "User \"system:anonymous\" cannot change anything: give the bearer token",
            );
        }
        Some(h) if h == format!("Bearer {}", c.token) => {}
        Some(_) => return status(401, "Unauthorized", "Unauthorized"),
    }
    tick(c);
    let seg: Vec<&str> = path.trim_matches('/').split('/').collect();
    if let Some((verb, resource)) = authz(&req.method, &seg)
        && c.denied.contains(&format!("{verb} {resource}"))
    {
        return status(
            403,
            "Forbidden",
            &format!(
                "{resource} is forbidden: User \"system:serviceaccount:afk:afk\" cannot {verb} resource \"{resource}\""
            ),
        );
    }
    let m = req.method.as_str();
    if m == "GET"
        && let Some(reply) = super::kube_discovery::answer(&seg)
    {
        return reply;
    }
    match seg.as_slice() {
        ["api", "v1", "namespaces", ns] if m == "GET" => match c.namespaces.contains(*ns) {
            true => Reply::json(
                200,
                &json!({"apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": ns, "uid": format!("ns-{ns}"), "creationTimestamp": "2026-01-01T00:00:00Z"},
                    "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}),
            ),
            false => status(404, "NotFound", &format!("namespaces \"{ns}\" not found")),
        },
        [
            "apis",
            "authorization.k8s.io",
            "v1",
            "selfsubjectaccessreviews",
        ] if m == "POST" => {
            let b = req.json().unwrap_or(Value::Null);
            let a = &b["spec"]["resourceAttributes"];
            let res = match a["subresource"].as_str().filter(|s| !s.is_empty()) {
                Some(sub) => format!("{}/{sub}", a["resource"].as_str().unwrap_or("")),
                None => a["resource"].as_str().unwrap_or("").to_string(),
            };
            let allowed = !c
                .denied
                .contains(&format!("{} {res}", a["verb"].as_str().unwrap_or("")));
            let mut out = b.clone();
            out["status"] = json!({"allowed": allowed});
            if !allowed {
                out["status"]["reason"] = json!("denied by the sandbox's RBAC");
            }
            Reply::json(201, &out)
        }
        ["apis", "batch", "v1", "namespaces", ns, "jobs"] => match m {
            "GET" => list(c, "JobList", "batch/v1", ns, req, |c, ns| {
                c.jobs
                    .iter()
                    .filter(|((n, _), _)| n == ns)
                    .map(|(_, j)| job_out(c, j))
                    .collect()
            }),
            "POST" => create_job(c, ns, req),
            _ => status(405, "MethodNotAllowed", "method not allowed"),
        },
        ["apis", "batch", "v1", "namespaces", ns, "jobs", name] => {
            let key = (ns.to_string(), name.to_string());
            match (m, c.jobs.get(&key)) {
                (_, None) => status(404, "NotFound", &format!("jobs.batch \"{name}\" not found")),
                ("GET", Some(j)) => Reply::json(200, &job_out(c, j)),
                ("DELETE", Some(_)) => delete_job(c, &key, req),
                _ => status(405, "MethodNotAllowed", "method not allowed"),
            }
        }
        ["api", "v1", "namespaces", ns, "configmaps"] => match m {
            "GET" => list(c, "ConfigMapList", "v1", ns, req, |c, ns| {
                c.config_maps
                    .iter()
                    .filter(|((n, _), _)| n == ns)
                    .map(|(_, v)| v.clone())
                    .collect()
            }),
            "POST" => create_config_map(c, ns, req),
            _ => status(405, "MethodNotAllowed", "method not allowed"),
        },
        ["api", "v1", "namespaces", ns, "configmaps", name] => {
            let key = (ns.to_string(), name.to_string());
            match (m, c.config_maps.get(&key)) {
                (_, None) => status(404, "NotFound", &format!("configmaps \"{name}\" not found")),
                ("GET", Some(v)) => Reply::json(200, v),
                ("DELETE", Some(_)) => {
                    c.config_maps.remove(&key);
                    Reply::json(
                        200,
                        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}),
                    )
                }
                _ => status(405, "MethodNotAllowed", "method not allowed"),
            }
        }
        ["api", "v1", "namespaces", ns, "pods"] if m == "GET" => {
            list(c, "PodList", "v1", ns, req, |c, ns| {
                c.pods
                    .iter()
                    .filter(|((n, _), _)| n == ns)
                    .map(|(_, p)| pod_out(p))
                    .collect()
            })
        }
        ["api", "v1", "namespaces", ns, "pods", name] if m == "GET" => {
            match c.pods.get(&(ns.to_string(), name.to_string())) {
                Some(p) => Reply::json(200, &pod_out(p)),
                None => status(404, "NotFound", &format!("pods \"{name}\" not found")),
            }
        }
        ["api", "v1", "namespaces", ns, "pods", name, "log"] if m == "GET" => {
            match c.pods.get(&(ns.to_string(), name.to_string())) {
                Some(p) => log(p, req),
                None => status(404, "NotFound", &format!("pods \"{name}\" not found")),
            }
        }
        _ => status(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ),
    }
}

fn list(
    c: &Cluster,
    kind: &str,
    api: &str,
    ns: &str,
    req: &Request,
    items: impl Fn(&Cluster, &str) -> Vec<Value>,
) -> Reply {
    let sel = req.q("labelSelector").map(super::http::decode);
    let items: Vec<Value> = items(c, ns)
        .into_iter()
        .filter(|v| {
            sel.as_deref()
                .is_none_or(|s| selects(s, &v["metadata"]["labels"]))
        })
        .collect();
    Reply::json(
        200,
        &json!({"apiVersion": api, "kind": kind, "metadata": {"resourceVersion": c.next.to_string()}, "items": items}),
    )
}

fn create_job(c: &mut Cluster, ns: &str, req: &Request) -> Reply {
    let Some(mut job) = req.json() else {
        return status(400, "BadRequest", "the body is not JSON");
    };
    let Some(name) = job["metadata"]["name"].as_str().map(str::to_string) else {
        return status(422, "Invalid", "metadata.name: Required value");
    };
    if !c.namespaces.contains(ns) {
        return status(404, "NotFound", &format!("namespaces \"{ns}\" not found"));
    }
    let key = (ns.to_string(), name.clone());
    if c.jobs.contains_key(&key) {
        return status(
            409,
            "AlreadyExists",
            &format!("jobs.batch \"{name}\" already exists"),
        );
    }
    if let Some(why) = super::kube_probe::refused(&job["spec"]["template"]["spec"]) {
        return status(
            422,
            "Invalid",
            &format!("Job.batch \"{name}\" is invalid: {why}"),
        );
    }
    let uid = c.uid();
    let created = stamp(now());
    job["metadata"]["uid"] = json!(uid);
    job["metadata"]["namespace"] = json!(ns);
    job["metadata"]["creationTimestamp"] = json!(created);
    job["metadata"]["resourceVersion"] = json!(c.next.to_string());
    // the pod, Pending until its ConfigMap volume exists
    let mut labels = job["spec"]["template"]["metadata"]["labels"].clone();
    if !labels.is_object() {
        labels = json!({});
    }
    labels["job-name"] = json!(name);
    labels["batch.kubernetes.io/job-name"] = json!(name);
    labels["controller-uid"] = json!(uid);
    labels["batch.kubernetes.io/controller-uid"] = json!(uid);
    // as the Job controller sets it: what `kubectl logs job/<name>` selects by
    if job["spec"]["selector"].is_null() {
        job["spec"]["selector"] =
            json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}});
    }
    let pod_name = format!("{name}-{}", &c.uid()[28..]);
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": pod_name, "namespace": ns, "uid": c.uid(), "labels": labels,
            "creationTimestamp": created,
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": name, "uid": uid, "controller": true, "blockOwnerDeletion": true}]},
        "spec": job["spec"]["template"]["spec"].clone(),
    });
    c.pods
        .insert((ns.to_string(), pod_name), Pod::new(pod, uid.clone()));
    c.jobs.insert(key, job.clone());
    tick(c);
    Reply::json(201, &job_out(c, &job))
}

fn create_config_map(c: &mut Cluster, ns: &str, req: &Request) -> Reply {
    let Some(mut cm) = req.json() else {
        return status(400, "BadRequest", "the body is not JSON");
    };
    let Some(name) = cm["metadata"]["name"].as_str().map(str::to_string) else {
        return status(422, "Invalid", "metadata.name: Required value");
    };
    let key = (ns.to_string(), name.clone());
    if c.config_maps.contains_key(&key) {
        return status(
            409,
            "AlreadyExists",
            &format!("configmaps \"{name}\" already exists"),
        );
    }
    cm["metadata"]["uid"] = json!(c.uid());
    cm["metadata"]["namespace"] = json!(ns);
    cm["metadata"]["creationTimestamp"] = json!(stamp(now()));
    c.config_maps.insert(key, cm.clone());
    tick(c);
    Reply::json(201, &cm)
}

/// Delete a Job; its pods (killed) and every object it owns go with it.
fn delete_job(c: &mut Cluster, key: &(String, String), req: &Request) -> Reply {
    let job = c.jobs.remove(key).unwrap_or(Value::Null);
    let uid = job["metadata"]["uid"].as_str().unwrap_or("").to_string();
    let policy = req
        .q("propagationPolicy")
        .map(str::to_string)
        .or_else(|| {
            req.json()
                .and_then(|b| b["propagationPolicy"].as_str().map(str::to_string))
        })
        .unwrap_or_else(|| "Orphan".into());
    if policy != "Orphan" {
        let doomed: Vec<(String, String)> = c
            .pods
            .iter()
            .filter(|(_, p)| p.job_uid == uid)
            .map(|(k, _)| k.clone())
            .collect();
        for k in doomed {
            kill_pod(c.pods.remove(&k));
        }
    }
    c.config_maps.retain(|_, cm| {
        !cm["metadata"]["ownerReferences"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|o| o["uid"] == uid.as_str())
    });
    // what the API answers a delete: a Status naming what went
    Reply::json(
        200,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": {"name": key.1, "group": "batch", "kind": "jobs", "uid": uid}}),
    )
}

/// A pod gone: its process (group) killed.
fn kill_pod(p: Option<Pod>) {
    for pid in p.map(|p| p.pids()).unwrap_or_default() {
        // SAFETY: kill(2) on the process group the sandbox started
        unsafe { libc::kill(-pid, libc::SIGKILL) };
    }
}

/// A Job running past its `activeDeadlineSeconds`: Kubernetes deletes its
/// active pods and marks it Failed with reason DeadlineExceeded.
fn enforce_deadlines(c: &mut Cluster) {
    let t = now();
    let late: Vec<String> = c
        .jobs
        .values()
        .filter(|j| {
            let started = j["metadata"]["creationTimestamp"]
                .as_str()
                .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok());
            let limit = j["spec"]["activeDeadlineSeconds"].as_i64();
            matches!((started, limit), (Some(s), Some(l)) if (t - s).whole_seconds() >= l)
        })
        .filter_map(|j| j["metadata"]["uid"].as_str().map(str::to_string))
        .filter(|uid| !c.deadline_exceeded.contains(uid))
        .collect();
    for uid in late {
        // a Job whose pod ended in time is done, not late
        let ended = c
            .pods
            .values()
            .filter(|p| p.job_uid == uid)
            .all(|p| pod_exit(p).is_some());
        let any = c.pods.values().any(|p| p.job_uid == uid);
        if !(any && ended) {
            expire(c, uid);
        }
    }
}

/// A Job past its deadline: its running pods deleted, the Job Failed.
fn expire(c: &mut Cluster, uid: String) {
    let running: Vec<(String, String)> = c
        .pods
        .iter()
        .filter(|(_, p)| p.job_uid == uid && pod_exit(p).is_none())
        .map(|(k, _)| k.clone())
        .collect();
    for k in running {
        kill_pod(c.pods.remove(&k));
    }
    c.deadline_exceeded.insert(uid);
}

/// Start each pod's next container whose turn it is (its volumes there,
/// its image pullable).
fn tick(c: &mut Cluster) {
    enforce_deadlines(c);
    let dir = c.dir.clone();
    for ((ns, _), pod) in c.pods.iter_mut() {
        let w = World {
            config_maps: &c.config_maps,
            secrets: &c.secrets,
            bad_images: &c.bad_images,
            dir: dir.clone(),
            ns,
        };
        pod.step(&w);
    }
}

impl Cluster {
    /// The exit code of the Job's pod once its process ended (the demo waits on it).
    /// The pod's containers move on as they would on a cluster: each look
    /// starts the next one whose turn it is.
    pub fn job_exit(&mut self, job: &str) -> Option<i32> {
        tick(self);
        self.pods
            .values()
            .find(|p| p.obj["metadata"]["labels"]["job-name"] == job)
            .and_then(pod_exit)
    }
}

fn pod_exit(p: &Pod) -> Option<i32> {
    p.exit()
}

fn pod_out(p: &Pod) -> Value {
    super::kube_pod::out(p)
}

fn job_out(c: &Cluster, job: &Value) -> Value {
    let uid = job["metadata"]["uid"].as_str().unwrap_or("");
    let mut v = job.clone();
    let pods: Vec<&Pod> = c.pods.values().filter(|p| p.job_uid == uid).collect();
    let exits: Vec<Option<i32>> = pods.iter().map(|p| pod_exit(p)).collect();
    let succeeded = exits.iter().filter(|e| **e == Some(0)).count();
    let failed = exits
        .iter()
        .filter(|e| matches!(e, Some(c) if *c != 0))
        .count();
    let active = exits.iter().filter(|e| e.is_none()).count();
    let mut st = json!({"active": active, "succeeded": succeeded, "failed": failed,
        "startTime": job["metadata"]["creationTimestamp"]});
    let t = stamp(now());
    if c.deadline_exceeded.contains(uid) {
        st["active"] = json!(0);
        st["failed"] = json!(failed.max(1));
        st["conditions"] = json!([{"type": "Failed", "status": "True", "reason": "DeadlineExceeded",
            "message": "Job was active longer than specified deadline", "lastTransitionTime": t}]);
    } else if succeeded > 0 {
        st["conditions"] = json!([{"type": "Complete", "status": "True", "lastTransitionTime": t}]);
        st["completionTime"] = json!(t);
    } else if failed > 0 {
        st["conditions"] = json!([{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
            "message": "Job has reached the specified backoff limit", "lastTransitionTime": t}]);
    }
    v["status"] = st;
    v
}

/// The `agent` container's log: `timestamps=true` prefixes RFC 3339
/// nanosecond times; `sinceSeconds` keeps the lines of that many seconds back;
/// `sinceTime` (RFC 3339) the lines from that time on, at whole-second
/// precision as the API server forwards it (lines of that second come again);
/// `limitBytes` cuts the answer after that many bytes, mid-line if it falls so.
fn log(p: &Pod, req: &Request) -> Reply {
    // no container named: the pod's one main container, as the API does
    let ctr = match req.q("container") {
        Some(name) => p.ctrs.iter().find(|c| c.name == name),
        None => p.ctrs.iter().find(|c| !c.init),
    };
    let Some(ctr) = ctr else {
        let c = req.q("container").unwrap_or("");
        return status(
            400,
            "BadRequest",
            &format!("container {c} is not valid for pod"),
        );
    };
    let Some(proc) = &ctr.proc else {
        let why = if ctr.init {
            "PodInitializing"
        } else {
            "ContainerCreating"
        };
        return status(
            400,
            "BadRequest",
            &format!(
                "container \"{}\" in pod is waiting to start: {why}",
                ctr.name
            ),
        );
    };
    let since_time = match req.q("sinceTime").map(super::http::decode) {
        Some(t) => match OffsetDateTime::parse(&t, &Rfc3339) {
            Ok(t) => Some(t.replace_nanosecond(0).unwrap_or(t)),
            Err(_) => {
                return status(
                    400,
                    "BadRequest",
                    &format!("sinceTime: invalid value {t:?}"),
                );
            }
        },
        None => None,
    };
    let since = req
        .positive("sinceSeconds")
        .map(|s| now() - time::Duration::seconds(s as i64))
        .or(since_time);
    let limit = req.positive("limitBytes");
    let stamps = req.q("timestamps") == Some("true");
    let mut out = String::new();
    for (t, line) in proc.log.lock().unwrap().iter() {
        if since.is_some_and(|s| *t < s) {
            continue;
        }
        if stamps {
            out.push_str(&t.format(&Rfc3339).unwrap_or_default());
            out.push(' ');
        }
        out.push_str(line);
        out.push('\n');
        if limit.is_some_and(|l| out.len() >= l) {
            break;
        }
    }
    let mut body = out.into_bytes();
    if let Some(l) = limit {
        body.truncate(l);
    }
    Reply::Send {
        status: 200,
        headers: vec![("Content-Type".into(), "text/plain".into())],
        body,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn label_selectors_as_kubernetes_reads_them() {
        let l = serde_json::json!({"a": "1", "b": "2"});
        for (sel, want) in [
            ("a=1", true),
            ("a==1,b=2", true),
            ("a=2", false),
            ("a!=2", true),
            ("c", false),
            ("!c", true),
            ("a", true),
        ] {
            assert_eq!(super::selects(sel, &l), want, "{sel}");
        }
    }
}
