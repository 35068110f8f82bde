//! What `afk template` prints: the `--json` documents
//! (docs/reports.md#afk-template) and the decision trail under `template show`.

use crate::core::canary::Checkpoint;
use crate::core::canary::VersionStatus;
use crate::core::status::report::{self, Figures, RunFacts, SurvivalFigures, ZeroTouchFigures};
use crate::output::table;
use crate::session::Session;
use crate::store::Store;
use crate::store::templates::TemplateVersion;
use anyhow::Result;
use serde::Serialize;
use std::collections::BTreeMap;

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
    /// zero-touch merges over the version's merged runs with a
    /// verdict; absent with none
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) zero_touch_rate: Option<f64>,
    /// line survival pooled over the version's runs with a figure; absent
    /// with none
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) survival_rate: Option<f64>,
    /// `template show`'s: the merged runs, zero-touch and survival
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) figures: Option<VersionFigures>,
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
            zero_touch_rate: None,
            survival_rate: None,
            figures: None,
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

/// A version's zero-touch and survival figures, as
/// `template show --json` prints them.
#[derive(Serialize, Clone)]
pub(super) struct VersionFigures {
    pub(super) merged: usize,
    pub(super) zero_touch: ZeroTouchFigures,
    pub(super) survival: SurvivalFigures,
}

impl VersionDoc<'_> {
    /// The version's zero-touch and survival rates from `f` (None: no run);
    /// with the survival window (`template show`), the figures themselves too.
    pub(super) fn measured(mut self, f: Option<&Figures>, shown: Option<&str>) -> Self {
        self.zero_touch_rate = f.and_then(|f| f.zero_touch.rate);
        self.survival_rate = f.and_then(|f| f.survival.rate);
        if let Some(window) = shown {
            let mut f = f.cloned().unwrap_or_default();
            f.survival.window = window.to_string();
            self.figures = Some(VersionFigures {
                merged: f.zero_touch.merged,
                zero_touch: f.zero_touch,
                survival: f.survival,
            });
        }
        self
    }
}

/// The zero-touch and survival figures of each (template, version) over all
/// of its runs, as `afk report` counts them (`core::status::report::figures`),
/// the survival window as configured.
pub(super) fn measured(ctx: &Session, store: &Store) -> Result<BTreeMap<(String, i64), Figures>> {
    let runs = store.report_runs(time::OffsetDateTime::UNIX_EPOCH)?;
    let mut by: BTreeMap<(String, i64), Vec<&RunFacts>> = BTreeMap::new();
    for r in &runs {
        if let Some((name, version)) = &r.template {
            by.entry((name.clone(), *version)).or_default().push(r);
        }
    }
    let window = survival_window(ctx);
    Ok(by
        .into_iter()
        .map(|(k, rs)| {
            let mut f = report::figures(&rs, ctx.config().report.kept_floor);
            f.survival.window = window.clone();
            (k, f)
        })
        .collect())
}

/// `harvest.survival_window` as written.
pub(super) fn survival_window(ctx: &Session) -> String {
    crate::types::format_duration(ctx.config().harvest.survival_window)
}

/// `template show`'s line of figures under the text: none before a merged run.
pub(super) fn figures_text(v: &TemplateVersion, f: Option<&Figures>) -> String {
    let Some(f) = f.filter(|f| f.zero_touch.merged > 0) else {
        return String::new();
    };
    format!(
        "\n---- {}@{}: {} merged, zero-touch {}, survival {} {} ----\n",
        v.name,
        v.version,
        f.zero_touch.merged,
        report::zero_touch_text(&f.zero_touch),
        f.survival.window,
        report::survival_text(&f.survival)
    )
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
