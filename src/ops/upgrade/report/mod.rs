//! The upgrade report: the `--json` shape of docs/reports.md#afk-upgrade, and
//! the human summary that leads with the PR list, then "tests look stale", then
//! candidates, then what was skipped and why.

mod human;

pub use super::fault::ErrorItem;
use super::fault::Fault;
use crate::core::upgrade::CandidateRow;
use crate::core::upgrade::verdict::{Outcome, Verdict};
use crate::types::PrNumber;
use serde::Serialize;

/// One open upgrade PR and where its flow stands.
#[derive(Serialize, Debug, Clone)]
pub struct PrItem {
    pub recipe: String,
    pub url: String,
    pub number: PrNumber,
    /// without a registry host: `library/nginx`
    pub image: String,
    pub from: String,
    pub to: String,
    /// every image the PR moves (one, or a recipe's all with `group_by = "recipe"`)
    pub bumps: Vec<BumpItem>,
    pub result: Outcome,
    pub verdict: Verdict,
    pub build_url: Option<String>,
    pub test_runs: u32,
    pub max_test_runs: u32,
    /// why a final result is what it is (human summary only)
    #[serde(skip)]
    pub why: Option<String>,
    /// `--with-tests`: the paired tests PR, when there is one
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tests_pr: Option<String>,
    /// the fixer whose end ended the flow this tick: its exit status and log
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixer: Option<FixerItem>,
}

/// A tag `min_release_age` holds back, or lets through without a `created`.
#[derive(Serialize, Debug, Clone)]
pub struct WaitItem {
    pub recipe: String,
    pub image: String,
    pub tag: String,
    /// when it becomes a candidate; none when its config has no `created`
    pub until: Option<String>,
    pub reason: String,
}

/// One image a PR moves.
#[derive(Serialize, Debug, Clone)]
pub struct BumpItem {
    pub image: String,
    pub from: String,
    pub to: String,
}

/// The report's view of what a PR moves.
pub fn bumps_of(b: &crate::core::upgrade::Bump) -> Vec<BumpItem> {
    b.images()
        .into_iter()
        .map(|i| BumpItem {
            image: i.image.clone(),
            from: i.from().to_string(),
            to: i.to,
        })
        .collect()
}

impl PrItem {
    /// `image old → new`, each of the PR's images.
    pub fn changes(&self) -> String {
        if self.bumps.is_empty() {
            return format!("{} {} → {}", self.image, self.from, self.to);
        }
        let all: Vec<String> = self
            .bumps
            .iter()
            .map(|b| format!("{} {} → {}", b.image, b.from, b.to))
            .collect();
        all.join(", ")
    }
}

#[derive(Serialize, Debug, Clone)]
pub struct ActionItem {
    pub recipe: String,
    /// reconcile | open_pr | close_pr | testme | start_fixer | comment | wait
    pub action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pr: Option<PrNumber>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Serialize, Debug, Clone)]
pub struct ClosedItem {
    pub recipe: String,
    pub pr: PrNumber,
    pub reason: String,
}

#[derive(Serialize, Debug, Clone)]
pub struct SkippedItem {
    pub recipe: String,
    pub reason: String,
}

/// The upgrade report (`--json`): exactly the keys of
/// docs/reports.md#afk-upgrade, plus `reason` and `stepped_aside` only when the
/// tick did nothing for one of those.
#[derive(Serialize, Debug, Default)]
pub struct Report {
    /// upgrade has no switch of its own: no `enabled` in its report
    #[serde(flatten)]
    pub head: crate::tick::Head,
    /// the forge's path segment of a PR's web address (its profile's
    /// `pr_segment`): how the table finds `owner/repo#N` in a PR's URL
    #[serde(skip)]
    pub pr_segment: &'static str,
    /// how text names a PR (the profile's `pr_sigil`: `#`, GitLab's `!`;
    /// unset: `#`)
    #[serde(skip)]
    pub pr_sigil: char,
    pub prs: Vec<PrItem>,
    pub candidates: Vec<CandidateRow>,
    pub actions: Vec<ActionItem>,
    pub closed: Vec<ClosedItem>,
    pub skipped: Vec<SkippedItem>,
    pub errors: Vec<ErrorItem>,
    /// `min_release_age`: tags that wait (with until when), or whose age is
    /// unknown; absent when there are none (the documented keys stay as they were)
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waiting: Vec<WaitItem>,
    /// forge requests made (for the metrics file; not part of the documented
    /// report)
    #[serde(skip)]
    pub requests: usize,
    /// recipes not scanned this tick (`scan_every`), with the next scan's time
    #[serde(skip)]
    pub next_scan: Vec<(String, String)>,
    /// what a dry run would have pushed and written (its human text only:
    /// the documented report has no such key)
    #[serde(skip)]
    pub writes: Vec<String>,
}

impl Report {
    pub fn new(dry_run: bool) -> Report {
        Report {
            head: crate::tick::Head {
                tick: crate::types::TickKind::Upgrade,
                dry_run,
                ..Default::default()
            },
            ..Default::default()
        }
    }

    pub fn act(
        &mut self,
        recipe: &str,
        action: &'static str,
        pr: Option<PrNumber>,
        reason: Option<String>,
    ) {
        self.actions.push(ActionItem {
            recipe: recipe.to_string(),
            action,
            pr,
            reason,
        });
    }

    pub fn error(&mut self, recipe: &str, pr: Option<PrNumber>, e: impl Into<Fault>) {
        self.errors
            .push(ErrorItem::of(recipe, pr, &e.into(), false));
    }

    /// A recipe skipped because a read failed (its registry, upstream or
    /// mirror): said in the `skipped:` section, and an error of the tick,
    /// counted in the summary as the exit code counts it.
    pub fn skip(&mut self, recipe: &str, reason: impl Into<Fault>) {
        let reason = reason.into();
        self.errors.push(ErrorItem::of(recipe, None, &reason, true));
        self.skipped.push(SkippedItem {
            recipe: recipe.to_string(),
            reason: reason.to_string(),
        });
    }

    /// 1 when part of the tick failed (an error; a recipe skipped for one is
    /// one too), else 0: the headline counts the same list.
    pub fn code(&self) -> u8 {
        u8::from(!self.errors.is_empty())
    }
}

/// A fixer that ended a flow: its exit status (null: it vanished without
/// one) and its log's last lines (`core::fixer_exit`: bounded, escaped).
#[derive(serde::Serialize, Debug, Clone)]
pub struct FixerItem {
    pub exit: Option<i32>,
    pub log: Vec<String>,
}
