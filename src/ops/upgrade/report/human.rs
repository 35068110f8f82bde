//! The upgrade report's human text: the headline, the PR table, what each
//! flow did, and the sections only a person reads.

use super::{PrItem, Report};
use crate::core::fixer_exit;
use crate::core::upgrade::verdict::Outcome;
use crate::output::table;

impl Report {
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
        s.push_str(&report_lines(&self.prs));
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

    /// How text names a PR: the profile's sigil (unset: `#`).
    fn sigil(&self) -> char {
        if self.pr_sigil == '\0' {
            '#'
        } else {
            self.pr_sigil
        }
    }

    /// PR `n` as text names it: `#n`, a GitLab merge request's `!n`.
    fn pr_text(&self, n: crate::types::PrNumber) -> String {
        format!("{}{n}", self.sigil())
    }

    /// The open upgrade PRs and where each flow stands (`core::upgrade::table`).
    fn pr_table(&self, s: &mut String) {
        use crate::core::upgrade::table::{COLUMNS, pr_ref, result_cell, runs_cell};
        if !self.prs.is_empty() {
            let rows: Vec<Vec<String>> = self
                .prs
                .iter()
                .map(|p| {
                    vec![
                        match &p.tests_pr {
                            Some(t) => format!(
                                "{} + {}",
                                pr_ref(&p.url, self.pr_segment, self.sigil()),
                                pr_ref(t, self.pr_segment, self.sigil())
                            ),
                            None => pr_ref(&p.url, self.pr_segment, self.sigil()),
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
            let line = crate::core::upgrade::table::result_line(
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
                    a.pr.map(|n| format!(" {}", self.pr_text(n)))
                        .unwrap_or_default(),
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
                s.push_str(&format!(
                    "  {} {}: {}\n",
                    c.recipe,
                    self.pr_text(c.pr),
                    c.reason
                ));
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
                e.pr.map(|n| self.pr_text(n)).unwrap_or_default(),
                e.message
            ));
        }
    }
}

/// The summary's lines of the fixers that ended a flow this tick: the exit
/// status, then the log's last lines.
fn report_lines(prs: &[PrItem]) -> String {
    let mut s = String::new();
    for p in prs {
        if let Some(f) = &p.fixer {
            s.push_str(&format!(
                "\nthe fixer of {} {}; the last {} of its log:\n",
                p.url,
                fixer_exit::exit_text(f.exit),
                crate::core::plural(f.log.len(), "line", "lines")
            ));
            for l in &f.log {
                s.push_str(&format!("  | {l}\n"));
            }
        }
    }
    s
}
