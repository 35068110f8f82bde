//! The process's secrets, kept once they are read (the config's tokens, the
//! values of `runner.secret_env`, a GitHub App's installation token), and
//! the one redaction every text afk writes where others read it goes
//! through: the log, stdout, request bodies, notifications, written pages
//! (the rule: `afk_wire::redact`).

use std::sync::RwLock;

static SECRETS: RwLock<Option<(Vec<String>, afk_wire::redact::Secrets)>> = RwLock::new(None);

/// A secret afk holds: making one registers its value, so nothing afk
/// writes from then on carries it (holding a secret means having
/// registered it). Its `Debug` and `Display` say `[redacted]`; the value
/// itself is read only where it is sent to its own host ([`Secret::expose`]).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// `value`, registered (a blank value holds nothing to hide).
    pub fn new(value: impl Into<String>) -> Secret {
        let value = value.into();
        register(&value);
        Secret(value)
    }

    /// The value, for the one place it is sent: its own host (a header, git's askpass).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(afk_wire::redact::REDACTED)
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(afk_wire::redact::REDACTED)
    }
}

/// Keep `secret` out of everything afk writes from now on (through [`Secret::new`]).
fn register(secret: &str) {
    let secret = secret.trim();
    if secret.is_empty() {
        return;
    }
    let mut g = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    let mut values = g.take().map(|(v, _)| v).unwrap_or_default();
    // a secret of many lines (a PEM key) is also held line by line: one of
    // its lines copied alone is still a piece of it
    let lines = secret
        .lines()
        .map(str::trim)
        .filter(|l| l.len() >= 16 && !l.starts_with("-----"));
    let parts = std::iter::once(secret).chain(lines.filter(|_| secret.contains('\n')));
    for part in parts {
        if !values.iter().any(|v| v == part) {
            values.push(part.to_string());
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_made_a_secret_is_redacted_and_its_debug_shows_none_of_it() {
        let s = Secret::new("sk-made-a-secret-3141592653");
        let said = "the key is sk-made-a-secret-3141592653.";
        assert_eq!(text(said), "the key is [redacted].");
        assert_eq!(s.expose(), "sk-made-a-secret-3141592653");
        for shown in [format!("{s:?}"), format!("{s}"), format!("{:?}", Some(&s))] {
            assert!(!shown.contains("3141592653"), "{shown}");
            assert!(shown.contains("[redacted]"), "{shown}");
        }
    }

    #[test]
    fn a_secret_of_many_lines_is_held_line_by_line_too() {
        let _k = Secret::new(
            "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n-----END PRIVATE KEY-----\n",
        );
        let said =
            "one line: BKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj, a marker: -----END PRIVATE KEY-----";
        assert_eq!(
            text(said),
            "one line: [redacted], a marker: -----END PRIVATE KEY-----"
        );
    }
}
