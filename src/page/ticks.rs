//! Tick health in `afk status` (docs/reports.md#afk-status): a line per tick
//! kind, how long ago it last started and ended, and `ok`, `failed`, `overdue`
//! or `never` (decided in `core::tick_deadline::health`).

use crate::config::Config;
use crate::core::tick_deadline::state;
use crate::store::Store;
use crate::types::TickKind;
use anyhow::Result;
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// One tick kind in `afk status --json`'s `ticks`.
#[derive(Serialize)]
pub struct TickDoc {
    kind: &'static str,
    started: Option<String>,
    ended: Option<String>,
    exit: Option<i64>,
    errors: Option<i64>,
    state: &'static str,
    /// the ticks webhook events started (`afk hook`, docs/hook.md)
    #[serde(skip_serializing_if = "Option::is_none")]
    by_events: Option<ByEvents>,
}

/// How many ticks of a kind events started, and the last one's start.
#[derive(Serialize)]
pub struct ByEvents {
    ticks: i64,
    last: String,
}

/// Every tick kind, recorded or not; overdue after twice its `expect_every`.
pub fn tick_docs(s: &Store, cfg: &Config, now: OffsetDateTime) -> Result<Vec<TickDoc>> {
    let rows = s.tick_health()?;
    let hooked = s.hook_ticks()?;
    let ago = |t: &Option<String>| {
        t.as_deref()
            .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
            .map(|t| (now - t).whole_seconds())
    };
    Ok(TickKind::ALL
        .iter()
        .map(|k| {
            let row = rows.iter().find(|r| r.kind == k.as_str());
            let started = row.and_then(|r| r.started.clone());
            let exit = row.and_then(|r| r.exit);
            TickDoc {
                kind: k.as_str(),
                state: state(
                    scheduled(cfg, *k),
                    ago(&started),
                    exit,
                    cfg.expect_every(*k),
                ),
                ended: row.and_then(|r| r.ended.clone()),
                errors: row.and_then(|r| r.errors),
                started,
                exit,
                by_events: hooked
                    .iter()
                    .find(|h| h.kind == k.as_str())
                    .map(|h| ByEvents {
                        ticks: h.count,
                        last: h.last.clone(),
                    }),
            }
        })
        .collect())
}

/// Whether the config gives a tick kind anything to do (poll switched on,
/// upgrade with recipes; watch and harvest always).
fn scheduled(cfg: &Config, k: TickKind) -> bool {
    match k {
        TickKind::Poll => cfg.poll.enabled,
        TickKind::Upgrade => !cfg.upgrade.recipes.is_empty(),
        _ => true,
    }
}

/// `ticks: poll OK (started 3m ago, exit 0, 0 errors)` per kind.
pub fn tick_lines(docs: &[TickDoc], now: OffsetDateTime) -> String {
    let ago = |t: &Option<String>| {
        t.as_deref().map_or("-".to_string(), |t| {
            format!("{} ago", crate::types::stamp::age(t, now))
        })
    };
    let mut h = String::from("ticks:\n");
    for d in docs {
        let detail = match d.state {
            "never" => "no tick of this kind recorded in this state file".to_string(),
            "unused" => match d.kind {
                "poll" => "the config gives it nothing to do: poll.enabled = false".to_string(),
                "upgrade" => {
                    "the config gives it nothing to do: upgrade.recipes is empty".to_string()
                }
                _ => "the config gives this kind nothing to do".to_string(),
            },
            _ => format!(
                "started {}, ended {}, exit {}, {}",
                ago(&d.started),
                ago(&d.ended),
                d.exit.map_or("-".into(), |e| e.to_string()),
                crate::core::plural(d.errors.unwrap_or(0) as usize, "error", "errors")
            ),
        };
        let events = d.by_events.as_ref().map_or(String::new(), |e| {
            format!(
                "; {} started by events (last {} ago)",
                e.ticks,
                crate::types::stamp::age(&e.last, now)
            )
        });
        h.push_str(&format!(
            "  {:<8} {:<8} {detail}{events}\n",
            d.kind,
            d.state.to_uppercase()
        ));
    }
    h
}

/// The status page's tick health rows (`core::status::health`: its section and
/// its banner), with each kind's `expect_every`.
pub fn page_rows(docs: &[TickDoc], cfg: &Config) -> Vec<crate::core::status::health::TickRow> {
    docs.iter()
        .map(|d| crate::core::status::health::TickRow {
            kind: d.kind.to_string(),
            started: d.started.clone(),
            ended: d.ended.clone(),
            exit: d.exit,
            errors: d.errors,
            state: d.state.to_string(),
            every: TickKind::parse(d.kind)
                .map(|k| crate::config::format_duration(cfg.expect_every(k)))
                .unwrap_or_default(),
            by_events: d.by_events.as_ref().map(|e| (e.ticks, e.last.clone())),
        })
        .collect()
}
