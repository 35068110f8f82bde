//! What `afk template` prints: the `--json` documents
//! (docs/reports.md#afk-template) and the decision trail under `template show`.

use crate::core::canary::Checkpoint;
use crate::core::canary::VersionStatus;
use crate::output::table;
use crate::session::Session;
use crate::store::templates::TemplateVersion;
use serde::Serialize;

/// A version as `template list --json` shows it (docs/reports.md#afk-template);
/// `template show` adds the body and, for a canary or a decided version, the
/// decision trail.
#[derive(Serialize)]
pub(super) struct VersionDoc<'a> {
    pub(super) name: &'a str,
    pub(super) version: i64,
    pub(super) status: &'a str,
    pub(super) sha256: &'a str,
    pub(super) created_at: &'a str,
    pub(super) outcomes: Outcomes,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) canary_since: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) success_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) body: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) checkpoints: Option<&'a [Checkpoint]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) decision: Option<Decision<'a>>,
}

#[derive(Serialize)]
pub(super) struct Outcomes {
    pub(super) success: u64,
    pub(super) failure: u64,
}

#[derive(Serialize)]
pub(super) struct Decision<'a> {
    pub(super) decision: &'a str,
    pub(super) reason: Option<&'a str>,
    pub(super) at: &'a str,
}

impl<'a> VersionDoc<'a> {
    pub(super) fn of(v: &'a TemplateVersion) -> VersionDoc<'a> {
        let (success, failure) = v.tally();
        VersionDoc {
            name: &v.name,
            version: v.version,
            status: v.status.as_str(),
            sha256: &v.hash,
            created_at: &v.created_at,
            outcomes: Outcomes { success, failure },
            canary_since: v.canary_since.as_deref(),
            success_rate: success_rate(v),
            body: None,
            checkpoints: None,
            decision: None,
        }
    }

    /// What `template show` prints: the version, its body and, when it has
    /// one, its decision trail.
    pub(super) fn shown(v: &'a TemplateVersion, trail: Option<&'a [Checkpoint]>) -> VersionDoc<'a> {
        VersionDoc {
            body: Some(&v.body),
            checkpoints: trail,
            decision: v
                .decision
                .as_deref()
                .filter(|_| trail.is_some())
                .map(|d| Decision {
                    decision: d,
                    reason: v.decision_reason.as_deref(),
                    at: &v.status_at,
                }),
            ..VersionDoc::of(v)
        }
    }
}

/// What `template add` and `template canary` print with `--json`: the version
/// written, or with `--dry-run` the one that would be.
#[derive(Serialize)]
pub(super) struct Changed<'a> {
    pub(super) command: &'static str,
    pub(super) dry_run: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) version: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) template: Option<VersionDoc<'a>>,
}

impl<'a> Changed<'a> {
    pub(super) fn would(command: &'static str, name: &'a str, version: i64) -> Changed<'a> {
        Changed {
            command,
            dry_run: true,
            name: Some(name),
            version: Some(version),
            template: None,
        }
    }
    pub(super) fn did(command: &'static str, v: &'a TemplateVersion) -> Changed<'a> {
        Changed {
            command,
            dry_run: false,
            name: None,
            version: None,
            template: Some(VersionDoc::of(v)),
        }
    }
}

/// What `template promote` and `template reject` print with `--json`.
#[derive(Serialize)]
pub(super) struct HandChanged<'a> {
    #[serde(flatten)]
    pub(super) changed: Changed<'a>,
    /// the version that was current before a promotion
    pub(super) retired: Option<i64>,
    pub(super) events: Vec<&'static str>,
    pub(super) notifications: crate::notify::Delivery,
}

/// What `template list` and `template show` print with `--json`.
#[derive(Serialize)]
pub(super) struct Listed<T> {
    pub(super) command: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) templates: Option<Vec<T>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) template: Option<T>,
}

/// The built-in preamble, shown when no version of it is stored.
#[derive(Serialize)]
pub(super) struct BuiltIn<'a> {
    pub(super) name: &'a str,
    pub(super) version: Option<i64>,
    pub(super) status: &'static str,
    pub(super) body: &'static str,
}

pub(super) fn success_rate(v: &TemplateVersion) -> Option<f64> {
    let (s, f) = v.tally();
    (s + f > 0).then(|| s as f64 / (s + f) as f64)
}

/// The decision trail under a canary's or decided version's text.
pub(super) fn trail_text(ctx: &Session, v: &TemplateVersion, checkpoints: &[Checkpoint]) -> String {
    let (s, f) = v.tally();
    let mut out = format!(
        "\n---- {}@{} ({}): {s} successes, {f} failures{} ----\n",
        v.name,
        v.version,
        v.status,
        v.canary_since
            .as_deref()
            .map(|c| format!("; canary since {c}"))
            .unwrap_or_default()
    );
    if checkpoints.is_empty() {
        out.push_str("no checkpoint evaluated\n");
    } else {
        out.push_str(&checkpoint_table(checkpoints));
    }
    match &v.decision {
        Some(d) => out.push_str(&format!(
            "decision: {d}{} at {}\n",
            v.decision_reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default(),
            v.status_at
        )),
        None if v.status == VersionStatus::Canary => {
            let h = &ctx.config().harvest;
            let next =
                crate::core::canary::next_checkpoint(&h.policy(), checkpoints.last().map(|c| c.at));
            out.push_str(&format!(
                "live: next checkpoint at {} outcomes (confidence {}, graduate_at_max {})\n",
                next.map_or("-".into(), |n| n.to_string()),
                h.confidence,
                h.graduate_at_max
            ));
        }
        None => {}
    }
    out
}

/// AT, canary s/f, control s/f, P(worse), P(better), result.
pub fn checkpoint_table(checkpoints: &[Checkpoint]) -> String {
    let rows: Vec<Vec<String>> = checkpoints
        .iter()
        .map(crate::core::canary::checkpoint_cells)
        .collect();
    table(&crate::core::canary::CHECKPOINT_HEADINGS, &rows)
}
