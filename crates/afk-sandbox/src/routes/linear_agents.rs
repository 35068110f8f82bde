//! Linear's Agents API in the sandbox's Linear (docs/fidelity/linear.md,
//! the `agentSession` and `agentActivityCreate` rows): a delegation to
//! afk's app user opens an agent session on the issue (its `creator` the
//! person responsible, or none for an automation) and records the history
//! entry (`toDelegate`); afk posts activities there (`agentActivityCreate`,
//! its content one of Linear's kinds with the fields each needs; an id
//! afk gives is its id, and a second activity with it is refused) and adds
//! links (`agentSessionUpdate`'s `addedExternalUrls`). Each session keeps
//! how long its first activity took after the session opened, so a test
//! can see whether Linear would have shown afk as unresponsive.
//!
//! The admin API plays the people: `/delegate` (and `/undelegate`), and
//! `/prompt` (a person's words in the session, with Linear's `stop`
//! signal or none); `GET /session/<id>` shows a session whole.

use super::linear::{gql_error, not_found};
use crate::graphql::Field;
use crate::http::Reply;
use crate::model::linear::{AFK_USER, AgentSession, Linear, RESPONSIVE_WITHIN_MS};
use serde_json::{Value, json};

/// The content types an agent may post, each with the fields Linear
/// requires of it (Agents API, "Developing the agent interaction": a
/// `prompt` is a person's, never an agent's).
const CONTENTS: &[(&str, &[&str])] = &[
    ("thought", &["body"]),
    ("elicitation", &["body"]),
    ("response", &["body"]),
    ("error", &["body"]),
    ("action", &["action", "parameter"]),
];

/// `agentSession(id:)`; None: not this file's root field.
pub(super) fn read(l: &Linear, f: &Field, vars: &Value) -> Option<Result<Value, Reply>> {
    if f.name != "agentSession" {
        return None;
    }
    let id = f.arg("id", vars);
    Some(
        l.sessions
            .get(id.as_str().unwrap_or(""))
            .map(AgentSession::json)
            .ok_or_else(|| not_found("agentSession", "AgentSession")),
    )
}

/// `agentActivityCreate` and `agentSessionUpdate`, made as afk's user;
/// None: not this file's root field.
pub(super) fn mutate(l: &mut Linear, f: &Field, vars: &Value) -> Option<Result<Value, Reply>> {
    match f.name.as_str() {
        "agentActivityCreate" => Some(activity(l, &f.arg("input", vars))),
        "agentSessionUpdate" => Some(session_update(
            l,
            f.arg("id", vars).as_str().unwrap_or(""),
            &f.arg("input", vars),
        )),
        _ => None,
    }
}

fn invalid(message: &str) -> Reply {
    gql_error(400, message, "INPUT_ERROR", "invalid input")
}

fn activity(l: &mut Linear, input: &Value) -> Result<Value, Reply> {
    let sid = input["agentSessionId"].as_str().unwrap_or("").to_string();
    if !l.sessions.contains_key(&sid) {
        return Err(not_found("agentActivityCreate", "AgentSession"));
    }
    let content = &input["content"];
    let kind = content["type"].as_str().unwrap_or("");
    let Some((_, needs)) = CONTENTS.iter().find(|(k, _)| *k == kind) else {
        return Err(invalid(&format!(
            "content.type {kind:?} is not one an agent posts"
        )));
    };
    if let Some(missing) = needs.iter().find(|n| !content[**n].is_string()) {
        return Err(invalid(&format!("a {kind} needs content.{missing}")));
    }
    let id = match input["id"].as_str() {
        Some(id) => id.to_string(),
        None => l.uuid(0xac7),
    };
    if l.sessions
        .values()
        .any(|s| s.activities.iter().any(|a| a["id"] == id))
    {
        return Err(invalid(&format!("an activity with id {id} exists already")));
    }
    let at = crate::model::dates::tracker_now();
    let s = l.sessions.get_mut(&sid).expect("checked above");
    if s.first_activity_ms.is_none() {
        s.first_activity_ms = Some(s.opened.elapsed().as_millis());
    }
    let made = json!({"id": id, "createdAt": at, "updatedAt": at, "content": content,
        "ephemeral": input["ephemeral"].as_bool().unwrap_or(false),
        "signal": input["signal"], "user": {"id": AFK_USER}, "agentSession": {"id": sid}});
    s.activities.push(made.clone());
    Ok(json!({"success": true, "agentActivity": made, "lastSyncId": 1.0}))
}

fn session_update(l: &mut Linear, id: &str, input: &Value) -> Result<Value, Reply> {
    let Some(s) = l.sessions.get_mut(id) else {
        return Err(not_found("agentSessionUpdate", "AgentSession"));
    };
    let keys: Vec<&String> = input
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    if keys != ["addedExternalUrls"] {
        return Err(gql_error(
            500,
            "the sandbox's agentSessionUpdate takes addedExternalUrls alone (all afk sends)",
            "INTERNAL_ERROR",
            "internal error",
        ));
    }
    for u in input["addedExternalUrls"].as_array().into_iter().flatten() {
        if !(u["label"].is_string() && u["url"].is_string()) {
            return Err(invalid("an external URL needs label and url"));
        }
        s.links.push(json!({"label": u["label"], "url": u["url"]}));
    }
    Ok(json!({"success": true, "agentSession": s.json(), "lastSyncId": 1.0}))
}

/// The keys each admin call's body may hold (docs/sandbox.md's table).
pub(crate) const TAKES: &[(&str, &str, &str)] = &[
    ("POST", "/delegate", "issue by creator"),
    ("POST", "/undelegate", "issue by"),
    ("POST", "/prompt", "session by signal"),
];

/// `/_admin/linear/{delegate,undelegate,prompt,session/<id>}`; None: not
/// this file's path.
pub(super) fn admin(l: &mut Linear, method: &str, path: &str, body: &Value) -> Option<Reply> {
    let bad = |msg: &str| Reply::json(400, &json!({"error": msg}));
    let issue = || {
        let want = body["issue"].as_str().unwrap_or("");
        l.issues
            .values()
            .find(|i| i.id == want || l.identifier(i) == want)
            .map(|i| i.id.clone())
    };
    match (method, path) {
        // `by` delegates the issue to afk's app user: a history entry, and
        // a session whose creator is `creator` when the body names it
        // (null: an automation's), else `by`
        ("POST", "/delegate") => {
            let Some(id) = issue() else {
                return Some(bad("no such issue"));
            };
            let by = body["by"].as_str().map(str::to_string);
            let creator = match body.get("creator") {
                Some(c) => c.as_str().map(str::to_string),
                None => by.clone(),
            };
            l.issues.get_mut(&id).expect("found").delegate = Some(AFK_USER.into());
            l.record(&id, by.as_deref(), json!({"toDelegate": {"id": AFK_USER}}));
            let sid = l.uuid(0x5e55);
            let created_at = crate::model::dates::tracker_now();
            l.sessions.insert(
                sid.clone(),
                AgentSession {
                    id: sid.clone(),
                    issue: id.clone(),
                    creator,
                    created_at: created_at.clone(),
                    opened: std::time::Instant::now(),
                    first_activity_ms: None,
                    activities: vec![],
                    links: vec![],
                },
            );
            Some(Reply::json(
                200,
                &json!({"session": sid, "issue": id, "createdAt": created_at}),
            ))
        }
        ("POST", "/undelegate") => {
            let Some(id) = issue() else {
                return Some(bad("no such issue"));
            };
            l.issues.get_mut(&id).expect("found").delegate = None;
            l.record(
                &id,
                body["by"].as_str(),
                json!({"fromDelegate": {"id": AFK_USER}}),
            );
            Some(Reply::json(200, &json!({})))
        }
        // a person's prompt in a session, with Linear's signal (`stop`) or none
        ("POST", "/prompt") => {
            let sid = body["session"].as_str().unwrap_or("").to_string();
            if !l.sessions.contains_key(&sid) {
                return Some(bad("no such session"));
            }
            let aid = l.uuid(0x9a);
            let at = crate::model::dates::tracker_now();
            let made = json!({"id": aid, "createdAt": at, "updatedAt": at,
                "content": {"type": "prompt", "body": "please stop"},
                "ephemeral": false, "signal": body["signal"],
                "user": {"id": body["by"]}, "agentSession": {"id": sid}});
            l.sessions
                .get_mut(&sid)
                .expect("checked")
                .activities
                .push(made);
            Some(Reply::json(200, &json!({"activity": aid})))
        }
        ("GET", p) if p.starts_with("/session/") => {
            let Some(s) = l.sessions.get(&p["/session/".len()..]) else {
                return Some(Reply::json(404, &json!({"error": "no such session"})));
            };
            let mut v = s.json();
            v["firstActivityMs"] = json!(s.first_activity_ms.map(|m| m as u64));
            v["unresponsive"] = json!(match s.first_activity_ms {
                Some(m) => m > RESPONSIVE_WITHIN_MS,
                None => s.opened.elapsed().as_millis() > RESPONSIVE_WITHIN_MS,
            });
            Some(Reply::json(200, &v))
        }
        _ => None,
    }
}
