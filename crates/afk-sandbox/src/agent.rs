//! A small agent-thread service (docs/runners.md#http-an-agent-thread-service)
//! for the http runner's tests: threads are created and messaged through
//! `/agent/threads` with a bearer token, and driven (status, phase) through the
//! admin API.

use super::http::{Reply, Request};
use super::model::Forge;
use super::{TS, err};
use serde_json::{Value, json};

/// Answer an `/agent/...` request (`path` is the whole path).
pub(super) fn serve(f: &mut Forge, req: &Request, path: &str) -> Reply {
    if req.header("authorization").unwrap_or("") != format!("Bearer {}", f.agent_token) {
        return err(401, "bearer token required");
    }
    let seg: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (req.method.as_str(), seg.as_slice()) {
        ("POST", ["agent", "threads"]) => create(f, req),
        ("POST", ["agent", "threads", id, "messages"]) => message(f, req, id),
        ("GET", ["agent", "threads", id]) => match f.threads.get(*id) {
            Some(t) if t["status"] != "stopped" => {
                let mut v = json!({"status": t["status"], "phase": t["phase"], "updated_at": t["updated_at"]});
                for key in ["cost_usd", "blocked"] {
                    if let Some(x) = t.get(key) {
                        v[key] = x.clone();
                    }
                }
                Reply::json(200, &v)
            }
            _ => err(404, "no such thread"),
        },
        // stopped: the thread stays listed (admin) as `stopped`, and answers 404 from now on
        ("DELETE", ["agent", "threads", id]) => match f.threads.get_mut(*id) {
            Some(t) if t["status"] != "stopped" => {
                t["status"] = json!("stopped");
                Reply::json(200, &json!({"ok": true}))
            }
            _ => err(404, "no such thread"),
        },
        _ => err(404, "not found"),
    }
}

/// A new thread; one whose `idempotency_key` was seen before is that
/// key's thread, answered again (200), never a second one.
fn create(f: &mut Forge, req: &Request) -> Reply {
    let b = req.json().unwrap_or(Value::Null);
    if b["repo"].as_str().is_none() || b["prompt"].as_str().is_none() {
        return err(422, "repo and prompt are required");
    }
    if let Some(key) = b["idempotency_key"].as_str().filter(|k| !k.is_empty())
        && let Some(t) = f.threads.values().find(|t| t["idempotency_key"] == key)
    {
        return Reply::json(200, &json!({"id": t["id"]}));
    }
    let id = format!("t{}", f.id());
    let mut t = b.clone();
    t["id"] = json!(id);
    t["status"] = json!("running");
    t["messages"] = json!([]);
    t["updated_at"] = json!(TS);
    f.threads.insert(id.clone(), t);
    Reply::json(201, &json!({"id": id}))
}

/// A follow-up message sets the thread running again; a stopped thread is gone (404).
fn message(f: &mut Forge, req: &Request, id: &str) -> Reply {
    let Some(text) = req
        .json()
        .and_then(|v| v["text"].as_str().map(str::to_string))
    else {
        return err(422, "text is required");
    };
    match f.threads.get_mut(id) {
        Some(t) if t["status"] != "stopped" => {
            t["messages"].as_array_mut().unwrap().push(json!(text));
            t["status"] = json!("running");
            Reply::json(201, &json!({"ok": true}))
        }
        _ => err(404, "no such thread"),
    }
}

/// `/_admin/thread`: move a thread on as the agent would,
/// `{id, status?, phase?, cost_usd?, blocked?}` (kept as given, so a test may send nonsense).
pub(super) fn drive(f: &mut Forge, body: &Value) -> Reply {
    let id = body["id"].as_str().unwrap_or("");
    match f.threads.get_mut(id) {
        Some(t) => {
            if let Some(st) = body.get("status") {
                t["status"] = st.clone();
            }
            if let Some(ph) = body.get("phase") {
                t["phase"] = ph.clone();
            }
            for key in ["cost_usd", "blocked"] {
                if let Some(x) = body.get(key) {
                    t[key] = x.clone();
                }
            }
            t["updated_at"] = json!("2026-01-01T12:05:00+02:00");
            Reply::json(200, &json!({"ok": true}))
        }
        None => err(404, "no such thread"),
    }
}
