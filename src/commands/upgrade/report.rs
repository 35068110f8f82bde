//! The upgrade report: SPEC 8's `--json` shape, and the human summary that
//! leads with the PR list, then "tests look stale", then candidates, then
//! what was skipped and why.

use super::fault::Fault;
use crate::core::upgrade::CandidateRow;
use crate::core::verdict::{Outcome, Verdict};
use crate::output::table;
use crate::types::IssueNumber;
use serde::Serialize;

/// One open upgrade PR and where its flow stands.
#[derive(Serialize, Debug, Clone)]
pub struct PrItem {
    pub recipe: String,
    pub url: String,
    pub number: IssueNumber,
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
    /// 8.7: the paired tests PR, when there is one
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tests_pr: Option<String>,
    /// the fixer whose end ended the flow this tick: its exit status and log
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixer: Option<super::fixer::FixerItem>,
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
    pub pr: Option<IssueNumber>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Serialize, Debug, Clone)]
pub struct ClosedItem {
    pub recipe: String,
    pub pr: IssueNumber,
    pub reason: String,
}

#[derive(Serialize, Debug, Clone)]
pub struct SkippedItem {
    pub recipe: String,
    pub reason: String,
}

#[derive(Serialize, Debug, Clone)]
pub struct ErrorItem {
    pub recipe: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pr: Option<IssueNumber>,
    pub message: String,
    /// a recipe skipped for this error: said in the `skipped:` section
    #[serde(skip)]
    pub skipped: bool,
    /// the call that used up its retries: a `transient_retry` lesson
    #[serde(skip)]
    pub exhausted: Option<Box<crate::forge::http::Exhausted>>,
}

/// The upgrade report (`--json`): exactly SPEC 8's keys, plus `reason` and
/// `stepped_aside` only when the tick did nothing for one of those.
#[derive(Serialize, Debug, Default)]
pub struct Report {
    /// upgrade has no switch of its own: no `enabled` in its report
    #[serde(flatten)]
    pub head: crate::tick::Head,
    pub prs: Vec<PrItem>,
    pub candidates: Vec<CandidateRow>,
    pub actions: Vec<ActionItem>,
    pub closed: Vec<ClosedItem>,
    pub skipped: Vec<SkippedItem>,
    pub errors: Vec<ErrorItem>,
    /// `min_release_age`: tags that wait (with until when), or whose age is
    /// unknown; absent when there are none (SPEC 8's report keys stay as they were)
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waiting: Vec<WaitItem>,
    /// forge requests made (for the metrics file; not part of SPEC 8's report)
    #[serde(skip)]
    pub requests: usize,
    /// recipes not scanned this tick (`scan_every`), with the next scan's time
    #[serde(skip)]
    pub next_scan: Vec<(String, String)>,
    /// what a dry run would have pushed and written (its human text only:
    /// SPEC 8's report has no such key)
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
        pr: Option<IssueNumber>,
        reason: Option<String>,
    ) {
        self.actions.push(ActionItem {
            recipe: recipe.to_string(),
            action,
            pr,
            reason,
        });
    }

    pub fn error(&mut self, recipe: &str, pr: Option<IssueNumber>, e: impl Into<Fault>) {
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

    /// The human summary: the headline, then one section after another, each
    /// printed only when it has something to say.
    pub fn human(&self, recipes: &[String]) -> String {
        let mut s = self.headline(recipes);
        if let Some(r) = &self.head.reason {
            s.push_str(&format!("nothing done: {r}\n"));
            return s;
        }
        self.pr_table(&mut s);
        self.results(&mut s);
        s.push_str(&super::fixer::report_lines(&self.prs));
        self.stale_tests(&mut s);
        self.candidate_table(&mut s);
        self.waiting_tags(&mut s);
        self.actions_done(&mut s);
        self.closed_prs(&mut s);
        self.scans_deferred(&mut s);
        self.skipped_recipes(&mut s);
        self.no_upgrade(&mut s, recipes);
        self.error_lines(&mut s);
        s.push_str(&crate::tick::would_write(&self.writes));
        s
    }

    /// `upgrade: N recipes, N open, N candidates, N skipped, N errors`
    fn headline(&self, recipes: &[String]) -> String {
        use crate::core::plural;
        format!(
            "upgrade{}: {}, {} open, {}, {} skipped, {}\n",
            self.head.tense().mark(),
            plural(recipes.len(), "recipe", "recipes"),
            plural(self.prs.len(), "PR", "PRs"),
            plural(
                self.candidates.iter().filter(|c| c.selected).count(),
                "candidate",
                "candidates"
            ),
            self.skipped.len(),
            plural(self.errors.len(), "error", "errors")
        )
    }

    /// The open upgrade PRs and where each flow stands (`core::upgrade_table`).
    fn pr_table(&self, s: &mut String) {
        use crate::core::upgrade_table::{COLUMNS, pr_ref, result_cell, runs_cell};
        if !self.prs.is_empty() {
            let rows: Vec<Vec<String>> = self
                .prs
                .iter()
                .map(|p| {
                    vec![
                        match &p.tests_pr {
                            Some(t) => format!("{} + {}", pr_ref(&p.url), pr_ref(t)),
                            None => pr_ref(&p.url),
                        },
                        p.recipe.clone(),
                        p.changes(),
                        p.verdict.to_string(),
                        result_cell(p.result, p.why.as_deref()),
                        p.build_url.clone().unwrap_or_else(|| "-".into()),
                        runs_cell(p.test_runs, p.max_test_runs),
                    ]
                })
                .collect();
            s.push_str(&table(&COLUMNS, &rows));
        }
    }

    /// Seed 003's words for each PR's result: `RESULT: SUCCESS`,
    /// `RESULT: FAILED — upgrade not green after 3 test runs`; none yet while
    /// the flow runs.
    fn results(&self, s: &mut String) {
        for p in &self.prs {
            let (result, why) = (p.result, p.why.as_deref());
            let line = crate::core::upgrade_table::result_line(
                &p.url,
                result,
                why,
                p.test_runs,
                p.max_test_runs,
            );
            s.push_str(&line);
            s.push('\n');
        }
    }

    /// Tags `min_release_age` holds back, and those of unknown age.
    fn waiting_tags(&self, s: &mut String) {
        if !self.waiting.is_empty() {
            s.push_str("\nrelease age (min_release_age):\n");
            for w in &self.waiting {
                s.push_str(&format!(
                    "  {} {}:{} {}\n",
                    w.recipe, w.image, w.tag, w.reason
                ));
            }
        }
    }

    /// PRs whose result waits on a stale test.
    fn stale_tests(&self, s: &mut String) {
        let stale: Vec<&PrItem> = self
            .prs
            .iter()
            .filter(|p| p.result == Outcome::SuccessPendingTests)
            .collect();
        if !stale.is_empty() {
            s.push_str("\ntests look stale:\n");
            for p in stale {
                s.push_str(&format!(
                    "  {} ({}): {}\n",
                    p.url,
                    p.changes(),
                    p.why.as_deref().unwrap_or("a test looks stale")
                ));
            }
        }
    }

    /// Every candidate the scan found, selected or not.
    fn candidate_table(&self, s: &mut String) {
        if !self.candidates.is_empty() {
            s.push_str("\ncandidates:\n");
            let rows: Vec<Vec<String>> = self
                .candidates
                .iter()
                .map(|c| {
                    vec![
                        c.recipe.clone(),
                        c.file.clone(),
                        c.service.clone(),
                        c.image.clone(),
                        c.current.clone(),
                        c.proposed.clone(),
                        c.update_type.to_string(),
                        if c.selected { "yes" } else { "no" }.into(),
                    ]
                })
                .collect();
            s.push_str(&table(
                &[
                    "RECIPE", "FILE", "SERVICE", "IMAGE", "CURRENT", "PROPOSED", "TYPE", "SELECTED",
                ],
                &rows,
            ));
        }
    }

    /// What the tick did (or, in a dry run, would do).
    fn actions_done(&self, s: &mut String) {
        if !self.actions.is_empty() {
            s.push_str(self.head.tense().pick("\ndone:\n", "\nwould do:\n"));
            for a in &self.actions {
                s.push_str(&format!(
                    "  {}: {}{}{}\n",
                    a.recipe,
                    a.action,
                    a.pr.map(|n| format!(" #{n}")).unwrap_or_default(),
                    a.reason
                        .as_ref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                ));
            }
        }
    }

    /// The PRs this tick closed, and why.
    fn closed_prs(&self, s: &mut String) {
        if !self.closed.is_empty() {
            s.push_str("\nclosed:\n");
            for c in &self.closed {
                s.push_str(&format!("  {} #{}: {}\n", c.recipe, c.pr, c.reason));
            }
        }
    }

    /// Recipes whose registries were not asked this tick (`scan_every`).
    fn scans_deferred(&self, s: &mut String) {
        if !self.next_scan.is_empty() {
            let names: Vec<&str> = self.next_scan.iter().map(|(r, _)| r.as_str()).collect();
            let next = self
                .next_scan
                .iter()
                .map(|(_, t)| t.as_str())
                .min()
                .unwrap_or("");
            s.push_str(&format!(
                "\nregistries not asked for {} (upgrade.scan_every): next scan at {next}; --scan asks now\n",
                names.join(", ")
            ));
        }
    }

    /// Recipes skipped, with the reason.
    fn skipped_recipes(&self, s: &mut String) {
        if !self.skipped.is_empty() {
            s.push_str("\nskipped:\n");
            for k in &self.skipped {
                s.push_str(&format!("  {}: SKIPPED — {}\n", k.recipe, k.reason));
            }
        }
    }

    /// Recipes with nothing to upgrade: no PR, no selected candidate, not
    /// skipped, no error.
    fn no_upgrade(&self, s: &mut String, recipes: &[String]) {
        let quiet: Vec<&String> = recipes
            .iter()
            .filter(|r| {
                !self.prs.iter().any(|p| &p.recipe == *r)
                    && !self
                        .candidates
                        .iter()
                        .any(|c| &c.recipe == *r && c.selected)
                    && !self.skipped.iter().any(|k| &k.recipe == *r)
                    && !self.errors.iter().any(|e| &e.recipe == *r)
            })
            .collect();
        if !quiet.is_empty() {
            s.push_str(&format!(
                "\nNO-UPGRADE: {}\n",
                quiet
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }

    /// One line per error, last.
    fn error_lines(&self, s: &mut String) {
        for e in self.errors.iter().filter(|e| !e.skipped) {
            s.push_str(&format!(
                "error: {}{}: {}\n",
                e.recipe,
                e.pr.map(|n| format!("#{n}")).unwrap_or_default(),
                e.message
            ));
        }
    }
}
