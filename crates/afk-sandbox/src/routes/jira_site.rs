//! The sandbox's Jira site as doctor reads it: the site (`GET
//! /serverInfo`, always `deploymentType` `Cloud`), its projects by key or
//! id (`GET /project/{key}`, case-sensitive, 404 for one afk cannot see),
//! their components (not paged) and afk's permissions in one
//! (`GET /mypermissions`: `permissions` required, an unknown key 400, an
//! unknown project 404; docs/fidelity/jira-cloud.md).

use super::jira::error;
use crate::http::{Reply, Request};
use crate::model::jira::Jira;
use serde_json::{Value, json};

/// The project permissions the sandbox knows by key (Jira's built-in
/// ones afk may ask of, and a few beside them); any other key is a 400.
const KNOWN: [&str; 10] = [
    "BROWSE_PROJECTS",
    "EDIT_ISSUES",
    "ADD_COMMENTS",
    "EDIT_OWN_COMMENTS",
    "EDIT_ALL_COMMENTS",
    "LINK_ISSUES",
    "TRANSITION_ISSUES",
    "CREATE_ISSUES",
    "ASSIGN_ISSUES",
    "ADMINISTER_PROJECTS",
];

/// A project by its key (compared whole, case and all) or its id.
fn find<'a>(j: &'a Jira, key_or_id: &str) -> Option<(&'a String, &'a (u64, Vec<String>))> {
    (j.projects.iter()).find(|(k, (id, _))| *k == key_or_id || id.to_string() == key_or_id)
}

/// The answer to one of doctor's site reads, None for any other request.
pub fn serve(j: &Jira, req: &Request, segs: &[&str]) -> Option<Reply> {
    let not_found = |p: &str| error(404, &format!("No project could be found with key '{p}'."));
    Some(match (req.method.as_str(), segs) {
        ("GET", ["serverInfo"]) => Reply::json(
            200,
            &json!({"baseUrl": format!("http://{}", req.header("host").unwrap_or("127.0.0.1")),
                "deploymentType": "Cloud", "version": "1001.0.0-SNAPSHOT", "buildNumber": 100282,
                "buildDate": "2026-11-01T00:00:00.000+0000", "serverTime": "2026-11-30T10:00:00.000+0000",
                "scmInfo": "0000000000000000000000000000000000000000", "serverTitle": "Jira"}),
        ),
        // the admin webhooks (`/rest/webhooks/1.0/webhook`, beyond the
        // contract): *Administer Jira* alone may list them
        ("GET", ["rest", "webhooks", "1.0", "webhook"]) => match j.site_admin {
            true => Reply::json(200, &Value::Array(j.webhooks.clone())),
            false => error(
                403,
                "You do not have the permission to see the specified webhooks.",
            ),
        },
        ("GET", ["project", p]) => match find(j, p) {
            Some((key, (id, components))) => Reply::json(
                200,
                &json!({"id": id.to_string(), "key": key, "name": format!("Project {key}"),
                    "self": format!("/rest/api/3/project/{id}"), "projectTypeKey": "software",
                    "archived": false, "simplified": false, "style": "classic",
                    "components": components_json(key, *id, components)}),
            ),
            None => not_found(p),
        },
        ("GET", ["project", p, "components"]) => match find(j, p) {
            Some((key, (id, components))) => {
                Reply::json(200, &Value::Array(components_json(key, *id, components)))
            }
            None => not_found(p),
        },
        ("GET", ["mypermissions"]) => {
            let wanted: Vec<&str> = (req.q("permissions").unwrap_or("").split(','))
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .collect();
            if wanted.is_empty() {
                return Some(error(400, "The 'permissions' parameter is required."));
            }
            if let Some(bad) = wanted.iter().find(|k| !KNOWN.contains(k)) {
                return Some(error(
                    400,
                    &format!("No project permissions found for permission key: {bad}."),
                ));
            }
            if let Some(p) = req.q("projectKey")
                && find(j, p).is_none()
            {
                return Some(not_found(p));
            }
            let each: serde_json::Map<String, Value> = (wanted.iter())
                .map(|k| {
                    let name = k.replace('_', " ").to_lowercase();
                    (
                        k.to_string(),
                        json!({"id": k, "key": k, "name": name, "type": "PROJECT",
                            "description": format!("Ability to {name}."),
                            "havePermission": !j.lacking.iter().any(|l| l == k)}),
                    )
                })
                .collect();
            Reply::json(200, &json!({"permissions": each}))
        }
        _ => return None,
    })
}

/// A project's components as Jira lists them.
fn components_json(key: &str, project_id: u64, names: &[String]) -> Vec<Value> {
    (names.iter().enumerate())
        .map(|(n, name)| {
            let id = project_id * 100 + n as u64;
            json!({"id": id.to_string(), "name": name, "project": key, "projectId": project_id,
                "self": format!("/rest/api/3/component/{id}"), "assigneeType": "PROJECT_DEFAULT",
                "isAssigneeTypeValid": false})
        })
        .collect()
}

/// `POST /_admin/jira/webhooks {admin, hooks}`: whether afk's account
/// holds *Administer Jira*, and the admin webhooks registered (each as the
/// list answers it: `name`, `url`, `events`, `enabled`).
pub fn set_webhooks(j: &mut Jira, body: &Value) -> Reply {
    j.site_admin = body["admin"].as_bool().unwrap_or(false);
    j.webhooks = body["hooks"].as_array().cloned().unwrap_or_default();
    Reply::json(200, &json!({}))
}
