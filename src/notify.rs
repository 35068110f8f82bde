//! The notifier: delivers the committed event outbox to a Slack incoming webhook
//! (`{"text"}`) and a generic JSON webhook. Each channel is marked delivered per
//! event, so nothing is sent twice once marked; a failed send is retried on the
//! next tick and never fails or blocks the tick. Webhook URLs are secrets: they
//! never appear in output or errors.

use crate::config::Config;
use crate::core::kinds::EventKind;
use crate::forge::Failure;
use crate::redact::Secret;
use crate::store::Store;
use crate::store::events::{Channel, Event};
use serde_json::json;
use std::time::Duration;

pub struct Notifier {
    /// `notify.slack_webhook_env`'s URL, read at load (`config::NotifyUrls`)
    slack: Option<Secret>,
    /// `notify.webhook_env`'s
    webhook: Option<Secret>,
    /// the kinds `notify.events` names (validated at config load)
    events: Vec<EventKind>,
    agent: crate::client::Agent,
}

#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct Delivery {
    pub sent: usize,
    pub failed: usize,
}

pub fn webhook_body(e: &Event) -> serde_json::Value {
    let mut v = json!({"event": e.kind, "at": e.at, "text": e.text});
    for (k, val) in [
        ("repo", e.repo.clone().map(serde_json::Value::from)),
        ("issue", e.issue.map(|n| serde_json::Value::from(n.0))),
        ("run_id", e.run_id.map(|r| serde_json::Value::from(r.0))),
        ("reason", e.reason.clone().map(serde_json::Value::from)),
        ("url", e.url.clone().map(serde_json::Value::from)),
    ] {
        if let Some(val) = val {
            v[k] = val;
        }
    }
    v
}

/// Why a webhook did not take an event, in afk-http's kinds (the forges'
/// vocabulary); `Display` never names the URL (a secret).
#[derive(Debug)]
pub struct Undelivered {
    channel: &'static str,
    /// what the post met: an answer's kind (a redirect is `Other(3xx)`) or no answer
    pub kind: Failure,
    /// with no answer: what the transport said
    unreached: Option<crate::client::ErrorKind>,
}

impl std::fmt::Display for Undelivered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let channel = self.channel;
        match (self.kind.status(), self.unreached) {
            (Some(s), _) if (300..400).contains(&s) => write!(
                f,
                "notify: the {channel} webhook answered {s} (a redirect; afk follows none)"
            ),
            (Some(s), _) => write!(f, "notify: the {channel} webhook answered {s}"),
            (None, kind) => write!(
                f,
                "notify: the {channel} webhook could not be reached ({})",
                kind.map_or("no answer".to_string(), |k| k.to_string())
            ),
        }
    }
}

impl std::error::Error for Undelivered {}

impl Notifier {
    pub fn new(cfg: &Config) -> Notifier {
        Notifier {
            slack: cfg.notify.urls.slack_webhook.clone(),
            webhook: cfg.notify.urls.webhook.clone(),
            events: cfg
                .notify
                .events
                .iter()
                .filter_map(|n| EventKind::parse(n))
                .collect(),
            agent: crate::client::builder(Duration::from_secs(10)).build(),
        }
    }

    fn post(
        &self,
        channel: &'static str,
        url: Option<&Secret>,
        body: serde_json::Value,
    ) -> Result<(), Undelivered> {
        let failed = |kind, unreached| Undelivered {
            channel,
            kind,
            unreached,
        };
        let Some(url) = url else {
            return Err(failed(Failure::NoAnswer, None));
        };
        let mut body = body;
        crate::redact::json(&mut body);
        // the URL's one use: sent to its own host
        match self.agent.post(url.expose()).send_json(body) {
            // afk follows no redirect (crate::client): a 3xx is not a delivery
            Ok(r) if r.status() >= 300 => Err(failed(Failure::Other(r.status()), None)),
            Ok(_) => Ok(()),
            Err(crate::client::Error::Status(s, _)) => Err(failed(Failure::answered(s), None)),
            Err(crate::client::Error::Transport(t)) => {
                Err(failed(Failure::NoAnswer, Some(t.kind())))
            }
        }
    }

    /// Deliver every undelivered event. Never fails: problems are warnings.
    pub fn flush(&self, store: &Store) -> Delivery {
        let mut d = Delivery::default();
        let events = match store.unsent_events() {
            Ok(v) => v,
            Err(e) => {
                crate::log::warn(&format!("notify: cannot read the outbox: {e:#}"));
                return d;
            }
        };
        for e in events {
            let wanted = self.events.contains(&e.kind);
            let mut pending = vec![];
            if wanted && self.slack.is_some() && e.slack_sent_at.is_none() {
                pending.push(Channel::Slack);
            }
            if wanted && self.webhook.is_some() && e.webhook_sent_at.is_none() {
                pending.push(Channel::Webhook);
            }
            let mut all_ok = true;
            for ch in pending {
                match store.claim_delivery(e.id, ch) {
                    Ok(true) => {}
                    // another tick has it
                    Ok(false) => continue,
                    Err(err) => {
                        all_ok = false;
                        crate::log::warn(&format!("notify: event {}: {err:#}", e.id));
                        continue;
                    }
                }
                let res = match ch {
                    Channel::Slack => self.post(
                        "Slack",
                        self.slack.as_ref(),
                        json!({"text": crate::core::sanitize::slack_text(&e.text)}),
                    ),
                    Channel::Webhook => self.post("event", self.webhook.as_ref(), webhook_body(&e)),
                };
                match res {
                    Ok(()) => d.sent += 1,
                    Err(msg) => {
                        d.failed += 1;
                        all_ok = false;
                        let _ = store.release_delivery(e.id, ch);
                        crate::log::warn(&format!(
                            "{msg}; event {} ({}) is retried on the next tick",
                            e.id, e.kind
                        ));
                    }
                }
            }
            if all_ok && let Err(err) = store.mark_delivered(e.id) {
                crate::log::warn(&format!(
                    "notify: event {} sent but not marked: {err:#}",
                    e.id
                ));
            }
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::{Failure, Undelivered};

    #[test]
    fn an_undelivered_event_says_what_the_webhook_met_never_its_url() {
        let said = |kind, unreached| {
            Undelivered {
                channel: "Slack",
                kind,
                unreached,
            }
            .to_string()
        };
        let cases = [
            (
                Failure::Other(302),
                None,
                "notify: the Slack webhook answered 302 (a redirect; afk follows none)",
            ),
            (
                Failure::answered(404),
                None,
                "notify: the Slack webhook answered 404",
            ),
            (
                Failure::Other(500),
                None,
                "notify: the Slack webhook answered 500",
            ),
            (
                Failure::NoAnswer,
                Some(crate::client::ErrorKind::ConnectionFailed),
                "notify: the Slack webhook could not be reached (Connection Failed)",
            ),
        ];
        for (kind, unreached, words) in cases {
            assert_eq!(said(kind, unreached), words, "{kind:?}");
        }
    }
}
