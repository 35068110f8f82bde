//! `[notify]` and `[notify.heartbeat]`: where afk tells people what happened.

use anyhow::Result;
use serde::Deserialize;

use super::check::Checker;
use crate::redact::Secret;

pub const NOTIFY_EVENTS: &[&str] = crate::core::kinds::EventKind::NAMES;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Notify {
    pub slack_webhook_env: String,
    pub webhook_env: String,
    /// Env var holding a URL pinged after every finished tick; empty: none.
    pub heartbeat_env: String,
    /// Per tick kind: the env var holding that tick's URL (overrides heartbeat_env).
    pub heartbeat: HeartbeatEnvs,
    pub events: Vec<String>,
    /// The URLs those variables hold, read once at load
    /// (`Config::read_secrets`): secrets, reached only through [`Secret`].
    #[serde(skip)]
    pub urls: NotifyUrls,
}

/// The webhook and heartbeat URLs, each a [`Secret`] (registered for
/// redaction when read; its `Debug` shows none of it). None: the variable
/// is not named, unset or blank.
#[derive(Debug, Clone, Default)]
pub struct NotifyUrls {
    pub slack_webhook: Option<Secret>,
    pub webhook: Option<Secret>,
    /// per tick kind: `[notify.heartbeat].<kind>`'s variable, else `heartbeat_env`'s
    pub heartbeat: Vec<(crate::types::TickKind, Secret)>,
}

impl NotifyUrls {
    /// The heartbeat URL of one tick kind.
    pub fn heartbeat(&self, kind: crate::types::TickKind) -> Option<&Secret> {
        self.heartbeat
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, s)| s)
    }
}

/// `[notify.heartbeat]`: one heartbeat variable per tick kind; empty: `heartbeat_env`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HeartbeatEnvs {
    pub poll: String,
    pub watch: String,
    pub harvest: String,
    pub upgrade: String,
}

impl HeartbeatEnvs {
    /// The variable set for one tick kind (`""` when none).
    pub fn for_tick(&self, kind: crate::types::TickKind) -> &str {
        use crate::types::TickKind;
        match kind {
            TickKind::Poll => &self.poll,
            TickKind::Watch => &self.watch,
            TickKind::Harvest => &self.harvest,
            TickKind::Upgrade => &self.upgrade,
        }
    }

    /// Every variable named here.
    pub fn all(&self) -> [&String; 4] {
        [&self.poll, &self.watch, &self.harvest, &self.upgrade]
    }
}
impl Default for Notify {
    fn default() -> Self {
        Notify {
            slack_webhook_env: String::new(),
            webhook_env: String::new(),
            heartbeat_env: String::new(),
            heartbeat: HeartbeatEnvs::default(),
            urls: NotifyUrls::default(),
            events: [
                "run.escalated",
                "run.succeeded",
                "run.paused",
                "candidate.rolled_back",
                "candidate.auto_promoted",
                "upgrade.failed",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        }
    }
}

impl Notify {
    pub(super) fn validate(&self, c: &Checker) -> Result<()> {
        for ev in &self.events {
            if !NOTIFY_EVENTS.contains(&ev.as_str()) {
                return Err(c.err(
                    "notify",
                    "events",
                    format!(
                        "unknown event \"{ev}\" (known: {})",
                        NOTIFY_EVENTS.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::tests::parse;

    #[test]
    fn per_tick_heartbeats_are_secrets_and_their_keys_are_checked() {
        let c = parse("[notify.heartbeat]\nwatch = \"AFK_HB_WATCH\"\n").unwrap();
        assert_eq!(
            c.notify.heartbeat.for_tick(crate::types::TickKind::Watch),
            "AFK_HB_WATCH"
        );
        assert_eq!(
            c.notify.heartbeat.for_tick(crate::types::TickKind::Poll),
            ""
        );
        assert!(c.secret_env_names().contains(&"AFK_HB_WATCH".to_string()));
        let e = parse("[notify]\n[notify.heartbeat]\nwach = \"X\"\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "config: unknown key \"wach\" in [notify.heartbeat] at line 3 (did you mean \"watch\"?)"
        );
    }
}
