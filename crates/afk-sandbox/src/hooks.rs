//! A webhook receiver (Slack-style and generic) for notifier tests: bodies
//! posted to `/_hooks/<name>` are kept for `/_admin/hooks` to read back, and
//! the next few can be made to fail.

use super::err;
use super::http::{Reply, Request};
use super::model::Forge;
use serde_json::{Value, json};

pub(super) fn receive(f: &mut Forge, name: &str, req: &Request) -> Reply {
    if f.hooks.failures > 0 {
        f.hooks.failures -= 1;
        return err(500, "injected webhook failure");
    }
    if let Some((to, times)) = f.hooks.redirect.take() {
        if times > 1 {
            f.hooks.redirect = Some((to.clone(), times - 1));
        }
        return Reply::Send {
            status: 307,
            headers: vec![("Location".into(), to)],
            body: vec![],
        };
    }
    let body = req.json().unwrap_or(Value::Null);
    let user_agent = req.header("user-agent").unwrap_or("");
    f.hooks
        .received
        .push(json!({"hook": name, "body": body, "user_agent": user_agent}));
    Reply::Send {
        status: 200,
        headers: vec![("Content-Type".into(), "text/plain".into())],
        body: b"ok".to_vec(),
    }
}
