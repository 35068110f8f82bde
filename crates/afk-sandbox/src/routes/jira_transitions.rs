//! The sandbox's Jira workflow: an issue's transitions (`GET
//! /issue/{id}/transitions`) and making one (`POST`), as
//! docs/fidelity/jira-cloud.md records Jira's answers: only the available
//! ones are listed unless `includeUnavailableTransitions=true`, an empty
//! list is what a missing permission looks like, and making one that is not
//! listed, or one whose screen requires a field the request leaves out, is
//! a `400`. The site's one workflow is To Do, In Progress and Done unless a
//! test sets its own (`/_admin/jira/transitions`).

use super::jira::error;
use crate::http::{Reply, Request};
use crate::model::jira::{AFK_ACCOUNT, Jira, Step};
use serde_json::{Value, json};

/// The status a step leads to: the site's own for its category's default
/// names, else an id of its own.
fn status_of(s: &Step) -> (String, String) {
    let default = Jira::default_status(&s.category);
    match default.1 == s.to {
        true => default,
        false => (format!("2{:0>4}", s.id), s.to.clone()),
    }
}

/// The answer to an issue's transitions, None for any other request.
pub fn serve(j: &mut Jira, req: &Request, segs: &[&str], body: &Value) -> Option<Reply> {
    let ["issue", id, "transitions"] = segs else {
        return None;
    };
    let missing = || {
        error(
            404,
            "Issue does not exist or you do not have permission to see it.",
        )
    };
    Some(match req.method.as_str() {
        "GET" => match j.find(id) {
            Some(_) => {
                let all = req.q("includeUnavailableTransitions") == Some("true");
                let listed: Vec<Value> = (j.workflow.iter())
                    .filter(|s| all || s.available)
                    .map(|s| {
                        let (sid, name) = status_of(s);
                        json!({"id": s.id, "name": s.name, "hasScreen": s.requires.is_some(),
                            "isAvailable": s.available, "isConditional": false, "isGlobal": true,
                            "isInitial": false, "isLooped": false,
                            "to": {"id": sid, "name": name, "statusCategory": {"key": s.category}}})
                    })
                    .collect();
                Reply::json(200, &json!({ "transitions": listed }))
            }
            None => missing(),
        },
        "POST" => {
            let Some(n) = j.find(id) else {
                return Some(missing());
            };
            let want = body.pointer("/transition/id").and_then(Value::as_str);
            let Some(step) = (j.workflow.iter())
                .find(|s| s.available && Some(s.id.as_str()) == want)
                .cloned()
            else {
                return Some(error(
                    400,
                    &format!(
                        "Transition id '{}' is not valid for this issue.",
                        want.unwrap_or("")
                    ),
                ));
            };
            if let Some(field) = &step.requires
                && body.pointer(&format!("/fields/{field}")).is_none()
            {
                return Some(Reply::json(
                    400,
                    &json!({"errorMessages": [], "errors": {field: format!("{field} is required.")}}),
                ));
            }
            j.move_status(n, Some(AFK_ACCOUNT), &step.category, status_of(&step));
            Reply::Send {
                status: 204,
                headers: vec![],
                body: vec![],
            }
        }
        _ => return None,
    })
}

/// `/_admin/jira/transitions`: the site's workflow, each entry's `id`,
/// `name`, `to` (the status's name), `category`, and optional `available`
/// (true) and `requires` (a field id).
pub fn set_workflow(j: &mut Jira, body: &Value) -> Reply {
    let mut steps = vec![];
    for t in body["transitions"].as_array().into_iter().flatten() {
        let s = |k: &str| t[k].as_str().map(str::to_string);
        let (Some(id), Some(name), Some(to), Some(category)) =
            (s("id"), s("name"), s("to"), s("category"))
        else {
            return error(
                400,
                &format!("a transition needs id, name, to and category: {t}"),
            );
        };
        steps.push(Step {
            id,
            name,
            to,
            category,
            available: t["available"].as_bool().unwrap_or(true),
            requires: s("requires"),
        });
    }
    j.workflow = steps;
    Reply::json(200, &json!({}))
}
