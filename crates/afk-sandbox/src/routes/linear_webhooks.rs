//! The sandbox's Linear workspace webhooks as doctor reads them
//! (`webhooks`, beyond the contract's cut: its signature as Linear's
//! schema has it, `linear-beyond-contract.graphql`). Linear lets only a
//! workspace admin, or an OAuth app with the `admin` scope, read them
//! (docs/fidelity/linear.md); afk's user is neither unless a test says so.

use super::linear::gql_error;
use crate::graphql::Field;
use crate::http::Reply;
use crate::model::linear::Linear;
use serde_json::{Value, json};

/// `webhooks`: the registered ones to an admin, else Linear's refusal;
/// None for any other root field.
pub(super) fn read(l: &Linear, f: &Field) -> Option<Result<Value, Reply>> {
    if f.name != "webhooks" {
        return None;
    }
    Some(match l.admin {
        true => Ok(json!({"nodes": l.webhooks, "edges": [],
            "pageInfo": {"hasNextPage": false, "hasPreviousPage": false,
                "startCursor": null, "endCursor": null}})),
        false => Err(gql_error(
            403,
            "Only workspace admins can access webhooks",
            "FORBIDDEN",
            "forbidden",
        )),
    })
}

/// The keys each admin call's body may hold (docs/sandbox.md's table).
pub(crate) const TAKES: &[(&str, &str, &str)] = &[
    // whether afk's user is an admin, and the webhooks registered
    ("POST", "/webhooks", "admin hooks"),
];

/// `POST /_admin/linear/webhooks {admin, hooks}`: whether afk's user is a
/// workspace admin, and the webhooks registered (each as `webhooks` answers
/// it: `id`, `url`, `enabled`, `resourceTypes`, `allPublicTeams`); None:
/// not this file's path.
pub(super) fn admin(l: &mut Linear, method: &str, path: &str, body: &Value) -> Option<Reply> {
    match (method, path) {
        ("POST", "/webhooks") => {
            l.admin = body["admin"].as_bool().unwrap_or(false);
            l.webhooks = body["hooks"].as_array().cloned().unwrap_or_default();
            Some(Reply::json(200, &json!({})))
        }
        _ => None,
    }
}
