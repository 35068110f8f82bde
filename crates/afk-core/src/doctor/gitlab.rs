//! What `afk doctor` makes of GitLab's token and branch protection
//! (docs/gitlab.md#what-afk-doctor-checks-on-gitlab): the token needs the
//! `api` scope, and one that expires within 14 days is a warning naming the
//! date; a protection rule that would refuse afk's push of `afk/issue-<N>`
//! to a Developer fails (it names the rule), and an unprotected default
//! branch is a warning (the token afk holds could push there). Pure; doctor
//! gathers the facts.

use crate::doctor::Level;

/// How many days before a token's expiry doctor warns.
pub(crate) const EXPIRY_WARN_DAYS: i64 = 14;

/// GitLab's access level of afk's account from its rank (Reporter 20,
/// Developer 30, Maintainer 40, Owner 50; none: 0).
pub fn level_of(access: crate::types::Access) -> i64 {
    use crate::types::Access;
    match access {
        Access::None => 0,
        Access::Read => 20,
        Access::Write => 30,
        Access::Admin => 40,
        Access::Owner => 50,
    }
}

/// The token line: its scopes (`api` needed), whether it is active, and its
/// expiry (`YYYY-MM-DD`, none: never) against `today`.
pub fn token(
    scopes: &[String],
    expires_at: Option<&str>,
    active: bool,
    today: time::Date,
) -> (Level, String) {
    let list = if scopes.is_empty() {
        "none".to_string()
    } else {
        scopes.join(", ")
    };
    if !active {
        return (
            Level::Fail,
            "the token is revoked or expired: make a new one with the \"api\" scope".into(),
        );
    }
    if !scopes.iter().any(|s| s == "api") {
        return (
            Level::Fail,
            format!(
                "the token lacks the \"api\" scope (it has: {list}); afk reads and writes issues, merge requests, notes and labels"
            ),
        );
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let Some(date) = expires_at.and_then(|d| time::Date::parse(d.get(..10)?, fmt).ok()) else {
        return match expires_at {
            None => (Level::Ok, format!("scopes {list}; it never expires")),
            Some(d) => (
                Level::Warn,
                format!("scopes {list}; an expiry afk cannot read: {d:?}"),
            ),
        };
    };
    let days = (date - today).whole_days();
    if days <= EXPIRY_WARN_DAYS {
        (
            Level::Warn,
            format!(
                "scopes {list}; it expires on {date} ({days} days from today): make a new one before then"
            ),
        )
    } else {
        (Level::Ok, format!("scopes {list}; it expires on {date}"))
    }
}

/// Whether GitLab's protected-branch `rule` (a name, or a wildcard with
/// `*`) covers `branch`.
pub(crate) fn rule_covers(rule: &str, branch: &str) -> bool {
    let parts: Vec<&str> = rule.split('*').collect();
    if parts.len() == 1 {
        return rule == branch;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !branch.starts_with(first) || branch.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &branch[first.len()..];
    for p in &parts[1..parts.len() - 1] {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// The branch protection line of `repo`: `rules` (name, access levels that
/// may push) against afk's branches (`afk/issue-1` stands for them) pushed at
/// afk's access level `afk_level`, and the default branch.
pub fn branches(
    repo: &str,
    default_branch: &str,
    rules: &[(String, Vec<i64>)],
    afk_level: i64,
) -> (Level, String) {
    let probe = "afk/issue-1";
    let refuses = rules.iter().find(|(name, levels)| {
        rule_covers(name, probe) && !levels.iter().any(|l| *l > 0 && *l <= afk_level)
    });
    if let Some((name, _)) = refuses {
        return (
            Level::Fail,
            format!(
                "the protected branch rule \"{name}\" of {repo} lets afk's account (access level {afk_level}) push no afk/issue-<N>: allow Developers to push there, or remove the rule"
            ),
        );
    }
    if rules
        .iter()
        .any(|(name, _)| rule_covers(name, default_branch))
    {
        (
            Level::Ok,
            format!("the default branch {default_branch} is protected; afk/issue-<N> is not"),
        )
    } else {
        (
            Level::Warn,
            format!(
                "the default branch {default_branch} of {repo} is not protected: afk's token could push to it (afk pushes only afk/issue-<N>); protect it"
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_needs_the_api_scope_and_warns_within_14_days_of_expiry() {
        let today = time::macros::date!(2026 - 11 - 26);
        let api = vec!["api".to_string()];
        let read = vec!["read_api".to_string(), "read_repository".to_string()];
        // (scopes, expires_at, active, the level, words of the line)
        type Case<'a> = (&'a [String], Option<&'a str>, bool, Level, &'a str);
        let cases: &[Case] = &[
            (&api, None, true, Level::Ok, "never expires"),
            (
                &api,
                Some("2027-01-01"),
                true,
                Level::Ok,
                "expires on 2027-01-01",
            ),
            (
                &api,
                Some("2026-12-10"),
                true,
                Level::Warn,
                "2026-12-10 (14 days",
            ),
            (
                &api,
                Some("2026-12-11"),
                true,
                Level::Ok,
                "expires on 2026-12-11",
            ),
            (&api, Some("soon"), true, Level::Warn, "cannot read"),
            (
                &read,
                None,
                true,
                Level::Fail,
                "it has: read_api, read_repository",
            ),
            (&[], None, true, Level::Fail, "it has: none"),
            (&api, None, false, Level::Fail, "revoked or expired"),
        ];
        for (scopes, expires, active, level, words) in cases {
            let (l, text) = token(scopes, *expires, *active, today);
            assert_eq!(l, *level, "{scopes:?} {expires:?}: {text}");
            assert!(text.contains(words), "{text}");
        }
    }

    #[test]
    fn a_rule_covers_its_branch_or_what_its_wildcard_matches() {
        let cases = [
            ("main", "main", true),
            ("main", "mainline", false),
            ("afk/*", "afk/issue-1", true),
            ("*", "afk/issue-1", true),
            ("*-stable", "afk/issue-1", false),
            ("afk/*-1", "afk/issue-1", true),
            ("release/*", "afk/issue-1", false),
        ];
        for (rule, branch, want) in cases {
            assert_eq!(rule_covers(rule, branch), want, "{rule} {branch}");
        }
    }

    #[test]
    fn branches_fail_a_rule_refusing_developers_on_afk_branches_and_warn_an_open_default() {
        let r = |n: &str, l: &[i64]| (n.to_string(), l.to_vec());
        let cases = [
            (vec![r("main", &[40])], Level::Ok, "main is protected"),
            (vec![], Level::Warn, "main of acme/api is not protected"),
            (
                vec![r("main", &[40]), r("afk/*", &[40])],
                Level::Fail,
                "\"afk/*\"",
            ),
            (vec![r("main", &[40]), r("*", &[0])], Level::Fail, "\"*\""),
            (vec![r("main", &[40]), r("afk/*", &[30])], Level::Ok, "not"),
        ];
        for (rules, level, words) in cases {
            let (l, text) = branches("acme/api", "main", &rules, 30);
            assert_eq!(l, level, "{rules:?}: {text}");
            assert!(text.contains(words), "{text}");
        }
        // a Maintainer's account may push where only Maintainers may
        let rules = [r("main", &[40]), r("afk/*", &[40])];
        assert_eq!(branches("acme/api", "main", &rules, 40).0, Level::Ok);
        assert_eq!(level_of(crate::types::Access::Write), 30);
    }
}
