//! Branch policies as doctor reads them: a policy whose scope covers
//! `afk/*` makes pushes there go through pull requests only (FAIL); a
//! default branch without build validation has no CI afk can wait for
//! (WARN). A scope entry is `refName` with `matchKind` (`exact` or
//! `prefix`), for one repository or, without `repositoryId`, all of them.

/// Where afk pushes: `refs/heads/afk/issue-<N>`.
const AFK_BRANCHES: &str = "refs/heads/afk/";

/// Whether a scope entry covers some of afk's branches: no `refName` (the
/// whole repository), a prefix that is one of `refs/heads/afk/`'s or has
/// it before it, or an exact name under it. Names compare case-insensitively.
pub fn covers_afk(ref_name: Option<&str>, match_kind: Option<&str>) -> bool {
    let Some(name) = ref_name.map(str::to_lowercase).filter(|n| !n.is_empty()) else {
        return true;
    };
    let prefix = match_kind.is_some_and(|k| k.eq_ignore_ascii_case("prefix"));
    if prefix {
        AFK_BRANCHES.starts_with(&name) || name.starts_with(AFK_BRANCHES)
    } else {
        name.starts_with(AFK_BRANCHES)
    }
}

/// Whether a scope entry covers branch `branch` (`main`, or `refs/heads/main`).
pub fn covers(ref_name: Option<&str>, match_kind: Option<&str>, branch: &str) -> bool {
    let full = if branch.starts_with("refs/") {
        branch.to_lowercase()
    } else {
        format!("refs/heads/{}", branch.to_lowercase())
    };
    let Some(name) = ref_name.map(str::to_lowercase).filter(|n| !n.is_empty()) else {
        return true;
    };
    if match_kind.is_some_and(|k| k.eq_ignore_ascii_case("prefix")) {
        full.starts_with(&name)
    } else {
        full == name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (refName, matchKind, whether it covers afk's branches)
    #[test]
    fn a_policy_scoped_to_afk_branches_is_found_by_exact_or_prefix() {
        let cases = [
            (None, None, true),
            (Some("refs/heads/afk/"), Some("prefix"), true),
            (Some("refs/heads/"), Some("Prefix"), true),
            (Some("refs/heads/afk/issue-"), Some("prefix"), true),
            (Some("refs/heads/AFK/issue-3"), Some("exact"), true),
            (Some("refs/heads/main"), Some("exact"), false),
            (Some("refs/heads/release/"), Some("prefix"), false),
            (Some("refs/heads/afk"), Some("exact"), false),
        ];
        for (name, kind, want) in cases {
            assert_eq!(covers_afk(name, kind), want, "{name:?} {kind:?}");
        }
    }

    #[test]
    fn a_default_branch_is_covered_by_its_exact_name_or_a_prefix() {
        assert!(covers(Some("refs/heads/main"), Some("exact"), "main"));
        assert!(covers(
            Some("refs/heads/"),
            Some("prefix"),
            "refs/heads/main"
        ));
        assert!(!covers(Some("refs/heads/dev"), Some("exact"), "main"));
        assert!(covers(None, None, "main"));
    }
}
