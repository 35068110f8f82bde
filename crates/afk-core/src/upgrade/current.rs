//! Own branches kept current (docs/how-it-works.md#afk-upgrade): when the
//! mirror's `main` moved, whether an open upgrade PR of afk's is kept as it is,
//! re-made on the new `main` (the same edit, a new commit, force-pushed with a
//! lease), or left alone because someone else pushed to it. Like Renovate's
//! default (`rebaseWhen = "auto"` without automerge), a branch is re-made only
//! when it no longer applies: a branch that still merges cleanly keeps its
//! commit and its test verdict, so an upstream change elsewhere costs no test
//! run on the shared, serial test cluster.
//!
//! Decided in two steps because the second needs git work the first makes
//! unnecessary for most PRs: [`needs_look`] from what the state file recorded
//! (the head afk pushed and the `main` it was made on), then [`decide`] once
//! git said whether the branch is on `main` and whether it applies.

/// What afk recorded of its last push of a PR's branch, and what the tick sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen<'a> {
    /// the PR's head now (the forge's pull list)
    pub head: &'a str,
    /// the mirror's `main` now (upstream `main`, which the tick reconciled it to)
    pub main: &'a str,
    /// the commit afk last pushed to the branch (none: not recorded, an older state file)
    pub pushed: Option<&'a str>,
    /// the `main` that commit was made on
    pub pushed_on: Option<&'a str>,
}

/// Whether the branch needs a look with git: not when its head is what afk
/// pushed on the `main` of now (the common tick: nothing moved).
pub fn needs_look(s: &Seen) -> bool {
    !(s.pushed == Some(s.head) && s.pushed_on == Some(s.main))
}

/// What git and the flow say of a branch that needs a look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Looked {
    /// the PR's flow is over (FAILED, STUCK, SUCCESS-PENDING-TESTS): nothing
    /// more is done for it, its branch included
    pub flow_over: bool,
    /// a fixer was started on this head and has not pushed: it may be working
    /// on the branch, which is not taken from under it
    pub fixer_on_head: bool,
    /// `main` is an ancestor of the head: the branch is current
    pub on_main: bool,
    /// the head merges into `main` without a conflict
    pub applies: bool,
    /// every commit on the branch is afk's own: its head is the commit afk
    /// last pushed, or (nothing recorded) every commit since `main` was made
    /// by afk (its identity and trailer)
    pub own: bool,
}

/// What becomes of an open upgrade PR's branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Branch {
    /// nothing to do: current, still applies, or its flow is over
    Keep,
    /// re-make it on the new `main` and force-push with the lease
    Remake,
    /// it no longer applies, but not now (why)
    Later(String),
    /// it no longer applies and someone else pushed to it: left alone, said (why)
    Foreign(String),
}

/// The rule (see the module's text).
pub fn decide(branch: &str, l: &Looked) -> Branch {
    if l.flow_over || l.on_main || l.applies {
        return Branch::Keep;
    }
    if !l.own {
        return Branch::Foreign(format!(
            "{branch} no longer applies to main and was pushed to by someone else: left alone"
        ));
    }
    if l.fixer_on_head {
        return Branch::Later(format!(
            "{branch} no longer applies to main; re-made once the fixer is done"
        ));
    }
    Branch::Remake
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_branch_afk_pushed_on_the_main_of_now_needs_no_look() {
        // (head, main, pushed, pushed_on, needs a look)
        type Case = (
            &'static str,
            &'static str,
            Option<&'static str>,
            Option<&'static str>,
            bool,
        );
        let cases: &[Case] = &[
            ("h1", "m1", Some("h1"), Some("m1"), false),
            ("h1", "m2", Some("h1"), Some("m1"), true),
            ("h2", "m1", Some("h1"), Some("m1"), true),
            ("h1", "m1", None, None, true),
            ("h1", "m1", Some("h1"), None, true),
        ];
        for (i, &(head, main, pushed, pushed_on, want)) in cases.iter().enumerate() {
            let s = Seen {
                head,
                main,
                pushed,
                pushed_on,
            };
            assert_eq!(needs_look(&s), want, "case {i}");
        }
    }

    #[test]
    fn own_branches_are_remade_only_on_conflict_and_never_one_someone_else_pushed_to() {
        const B: &str = "afk/upgrade-nginx-1.26.0";
        let l = |flow_over, fixer_on_head, on_main, applies, own| Looked {
            flow_over,
            fixer_on_head,
            on_main,
            applies,
            own,
        };
        let foreign = Branch::Foreign(format!(
            "{B} no longer applies to main and was pushed to by someone else: left alone"
        ));
        let later = Branch::Later(format!(
            "{B} no longer applies to main; re-made once the fixer is done"
        ));
        // (flow over, fixer on head, on main, applies, own) → what becomes of it
        let cases: Vec<(Looked, Branch)> = vec![
            // current, or main moved without a conflict: kept (Renovate's default)
            (l(false, false, true, true, true), Branch::Keep),
            (l(false, false, false, true, true), Branch::Keep),
            (l(false, false, false, true, false), Branch::Keep),
            // a conflict on afk's own branch: re-made
            (l(false, false, false, false, true), Branch::Remake),
            // someone else pushed: never re-made, said
            (l(false, false, false, false, false), foreign.clone()),
            (l(false, true, false, false, false), foreign),
            // a fixer may be working on that head: later
            (l(false, true, false, false, true), later),
            // a flow that is over is left as it ended
            (l(true, false, false, false, true), Branch::Keep),
            (l(true, false, false, false, false), Branch::Keep),
        ];
        for (i, (looked, want)) in cases.iter().enumerate() {
            assert_eq!(&decide(B, looked), want, "case {i}: {looked:?}");
        }
    }
}
