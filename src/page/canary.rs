//! The status page's templates: each name's current version, its live canary
//! (else the last decided one) with the outcomes of canary and control, the
//! posterior that the canary is worse and the checkpoints, and the decision
//! trail of every canary that ended. Reads at most `max_samples` canary
//! outcomes and the control they are compared with, on the outcomes index.

use crate::core::canary::{self, VersionStatus};
use crate::core::status::page::{CanaryView, TemplateRow, TrailRow};
use crate::store::Store;
use crate::store::templates::TemplateVersion;
use crate::types::RunId;
use anyhow::Result;

pub(super) fn templates(cfg: &crate::config::Config, s: &Store) -> Result<Vec<TemplateRow>> {
    let all = s.templates(None)?;
    let mut names: Vec<&str> = all.iter().map(|t| t.name.as_str()).collect();
    names.dedup();
    let policy = cfg.harvest.policy();
    let mut out = vec![];
    for name in names {
        let versions: Vec<&TemplateVersion> = all.iter().filter(|t| t.name == name).collect();
        let current = versions
            .iter()
            .find(|t| t.status == VersionStatus::Current)
            .copied();
        let mut decided: Vec<&TemplateVersion> = versions
            .iter()
            .filter(|t| t.canary_since.is_some() && t.decision.is_some())
            .copied()
            .collect();
        decided.sort_by(|a, b| {
            b.status_at
                .cmp(&a.status_at)
                .then(b.version.cmp(&a.version))
        });
        let shown = versions
            .iter()
            .find(|t| t.status == VersionStatus::Canary)
            .copied()
            .or(decided.first().copied());
        let canary = match shown {
            Some(c) => Some(view(s, &policy, c, control_of(&versions, current, c))?),
            None => None,
        };
        let trail = decided
            .iter()
            .map(|t| trail_row(s, t))
            .collect::<Result<_>>()?;
        out.push(TemplateRow {
            name: name.to_string(),
            current: current.map(|c| c.version),
            canary,
            trail,
        });
    }
    Ok(out)
}

/// The version a canary was compared with: the current one, or (when the
/// canary itself graduated) the newest older version that was not rejected.
fn control_of<'a>(
    versions: &[&'a TemplateVersion],
    current: Option<&'a TemplateVersion>,
    canary: &TemplateVersion,
) -> Option<&'a TemplateVersion> {
    match current {
        Some(c) if c.id != canary.id => Some(c),
        _ => versions
            .iter()
            .filter(|t| t.version < canary.version && t.status != VersionStatus::Rejected)
            .max_by_key(|t| t.version)
            .copied(),
    }
}

fn unix(t: &str) -> i64 {
    crate::clock::parse(t).map_or(0, |d| d.unix_timestamp())
}

fn view(
    s: &Store,
    policy: &canary::Policy,
    c: &TemplateVersion,
    control: Option<&TemplateVersion>,
) -> Result<CanaryView> {
    let since = canary::went_live(c.canary_since.as_deref(), &c.status_at);
    let outcomes = s.outcomes_of(c.id, policy.last_checkpoint())?;
    let ctl = match (control, outcomes.last()) {
        (Some(k), Some(last)) => s.control_outcomes(k.id, since, &last.key)?,
        _ => vec![],
    };
    let points = |xs: &[canary::Ended<(String, RunId)>]| -> Vec<(i64, bool)> {
        xs.iter()
            .map(|e| (unix(&e.key.0), e.outcome == canary::Outcome::Success))
            .collect()
    };
    let (canary_pts, control_pts) = (points(&outcomes), points(&ctl));
    let count = |xs: &[(i64, bool)], good: bool| xs.iter().filter(|x| x.1 == good).count() as u64;
    let live = c.status == VersionStatus::Canary;
    let checkpoints = s.checkpoints(c.id)?;
    let p_worse = match (live, checkpoints.last()) {
        (false, Some(last)) => last.p_worse,
        _ => canary::p_less(
            1 + count(&canary_pts, true),
            1 + count(&canary_pts, false),
            1 + count(&control_pts, true),
            1 + count(&control_pts, false),
        ),
    };
    let last = checkpoints.last().map(|c| c.at);
    Ok(CanaryView {
        version: c.version,
        live,
        since: since.to_string(),
        canary: canary_pts,
        control: control_pts,
        p_worse,
        confidence: policy.confidence,
        next_checkpoint: if live {
            canary::next_checkpoint(policy, last)
        } else {
            None
        },
        checkpoints: canary::checkpoints(policy),
    })
}

fn trail_row(s: &Store, t: &TemplateVersion) -> Result<TrailRow> {
    Ok(TrailRow {
        version: t.version,
        decision: t.decision.clone().unwrap_or_default(),
        reason: t.decision_reason.clone().unwrap_or_default(),
        at: t.status_at.clone(),
        checkpoints: s
            .checkpoints(t.id)?
            .into_iter()
            .map(|c| (c.at, c.p_worse, c.p_better, c.result.to_string()))
            .collect(),
    })
}
