//! Where a tick's acts on the outside reach the journal (docs/audit.md):
//! the tick sets one sink when it opens its state file, and the client
//! (every forge write on the wire) and the git pushes hand it each act. No
//! sink (a dry run, a command outside a tick): nothing is journaled here.

use serde_json::Value;
use std::sync::RwLock;

/// What a sink does with an act: its kind (`forge.write`, `git.push`) and
/// its body (ids, methods, paths, heads: never a secret, never outside text).
pub type Sink = Box<dyn Fn(&str, &Value) + Send + Sync>;

static SINK: RwLock<Option<Sink>> = RwLock::new(None);

/// The process's sink from now on (None: none).
pub fn set(sink: Option<Sink>) {
    *SINK.write().unwrap_or_else(|e| e.into_inner()) = sink;
}

/// Hand one act to the sink, if there is one. The body passes the
/// redacting sink first, as every byte afk writes does.
pub fn record(kind: &str, body: &Value) {
    let guard = SINK.read().unwrap_or_else(|e| e.into_inner());
    if let Some(sink) = guard.as_ref() {
        let mut body = body.clone();
        crate::redact::json(&mut body);
        sink(kind, &body);
    }
}
