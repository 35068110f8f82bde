//! The process's secrets, kept once they are read (the config's tokens, the
//! values of `runner.secret_env`, a GitHub App's installation token), and
//! the one redaction every text afk writes where others read it goes
//! through: the log, stdout, request bodies, notifications, written pages
//! (the rule: `afk_wire::redact`).

use std::sync::RwLock;

static SECRETS: RwLock<Option<(Vec<String>, afk_wire::redact::Secrets)>> = RwLock::new(None);

/// Keep `secret` out of everything afk writes from now on.
pub fn register(secret: &str) {
    let secret = secret.trim();
    if secret.is_empty() {
        return;
    }
    let mut g = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    let mut values = g.take().map(|(v, _)| v).unwrap_or_default();
    if !values.iter().any(|v| v == secret) {
        values.push(secret.to_string());
    }
    let set = afk_wire::redact::Secrets::new(values.iter().map(String::as_str));
    *g = Some((values, set));
}

/// Every secret registered so far, in its forms: what afk searches a turn's
/// commits for before it pushes them (a search of afk's own, never shown).
pub fn held() -> afk_wire::redact::Secrets {
    let g = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    g.as_ref().map(|(_, set)| set.clone()).unwrap_or_default()
}

/// `text` without any registered secret.
pub fn text(text: &str) -> std::borrow::Cow<'_, str> {
    let g = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    match g.as_ref() {
        Some((_, set)) => std::borrow::Cow::Owned(set.redact(text).into_owned()),
        None => std::borrow::Cow::Borrowed(text),
    }
}

/// Every string of a JSON value (keys too) without any registered secret.
pub fn json(v: &mut serde_json::Value) {
    use serde_json::Value;
    if SECRETS.read().map(|g| g.is_none()).unwrap_or(true) {
        return;
    }
    match v {
        Value::String(s) => {
            if let std::borrow::Cow::Owned(o) = text(s)
                && o != *s
            {
                *s = o;
            }
        }
        Value::Array(a) => a.iter_mut().for_each(json),
        Value::Object(m) => {
            let taken = std::mem::take(m);
            for (k, mut val) in taken {
                json(&mut val);
                m.insert(text(&k).into_owned(), val);
            }
        }
        _ => {}
    }
}
