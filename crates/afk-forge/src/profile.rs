//! One place describes a forge: what differs between Gitea/Forgejo and
//! GitHub, as data. The binary asks the profile of `forge.kind` and
//! branches on the kind nowhere else; a new kind is a new [`Profile`] here
//! (and its [`Forge`] implementation), not an edit in each command.
//!
//! What a profile does not assume: a repository is `owner/name` to the
//! binary (`RepoName`), but every URL a profile builds takes the name as one
//! string, so a forge with nested namespaces (`group/sub/name`) changes the
//! name's rule, not these shapes; the web address of a PR is its own segment
//! (`pulls`, `pull`; a merge request's `-/merge_requests` would be a third).
//! What the model does assume, and where (ARCHITECTURE.md, "Where to start"):
//! issues and PRs are numbered from one sequence (`IssueNumber`), so a
//! forge that numbers merge requests apart needs a second number type.

use crate::Forge;
use crate::http::Http;
use crate::types::ForgeKind;
use std::time::Duration;

/// Where the API lives when `forge.api_url` is not set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiRoot {
    /// under the web address: `{forge.url}{path}` (Gitea's `/api/v1`)
    UnderUrl(&'static str),
    /// one host for everyone (`https://api.github.com`)
    Fixed(&'static str),
}

/// How afk authenticates to the forge's API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: token …` (Gitea, Forgejo)
    Token,
    /// `Authorization: Bearer …`, GitHub's media type, API version and
    /// `Link` paging, the rate limit probed
    Bearer,
}

/// What one kind of forge is, as the binary needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    pub kind: ForgeKind,
    pub api_root: ApiRoot,
    /// the key a connect error names when `forge.api_url` is not set
    pub root_key: &'static str,
    pub auth: Auth,
    /// the path segment of a PR's web address: `{repo}/{segment}/{n}`
    pub pr_segment: &'static str,
    /// the words before `#N` in a PR's body that close issue N when it
    /// merges (a PR that says so to the run's issue can be the run's)
    pub closing_words: &'static [&'static str],
    /// whether `afk doctor` wants admin on each repo: Gitea creates a repo's
    /// labels only for an admin; GitHub lets write access add them
    pub labels_need_admin: bool,
    /// whether the forge can bring a PR's branch up to date by rebasing it
    /// (`watch.update_branch = "rebase"`); GitHub's update merges the base in
    pub rebases_branches: bool,
    /// whether afk can authenticate as an app's installation (`forge.app_id`)
    pub app_auth: bool,
    /// whether every read is conditional (an unchanged answer costs no rate
    /// limit, so the ETag cache is always used); else only where the caller
    /// asks for it
    pub conditional_reads: bool,
}

/// Gitea's default `CLOSE_KEYWORDS` and GitHub's closing keywords: the same nine.
const CLOSING_WORDS: &[&str] = &[
    "close", "closes", "closed", "fix", "fixes", "fixed", "resolve", "resolves", "resolved",
];

const GITEA: Profile = Profile {
    kind: ForgeKind::Gitea,
    api_root: ApiRoot::UnderUrl("/api/v1"),
    root_key: "forge.url",
    auth: Auth::Token,
    pr_segment: "pulls",
    closing_words: CLOSING_WORDS,
    labels_need_admin: true,
    rebases_branches: true,
    app_auth: false,
    conditional_reads: false,
};

/// Every kind's profile, in `ForgeKind::ALL`'s order.
pub const PROFILES: [Profile; 3] = [
    GITEA,
    // Forgejo speaks Gitea's API
    Profile {
        kind: ForgeKind::Forgejo,
        ..GITEA
    },
    Profile {
        kind: ForgeKind::Github,
        api_root: ApiRoot::Fixed("https://api.github.com"),
        root_key: "forge.kind = github: api.github.com",
        auth: Auth::Bearer,
        pr_segment: "pull",
        closing_words: CLOSING_WORDS,
        labels_need_admin: false,
        rebases_branches: false,
        app_auth: true,
        conditional_reads: true,
    },
];

/// The profile of `kind`.
pub fn of(kind: ForgeKind) -> &'static Profile {
    PROFILES
        .iter()
        .find(|p| p.kind == kind)
        .unwrap_or(&PROFILES[0])
}

impl Profile {
    /// The API root for `url` (the forge's web address) when `forge.api_url`
    /// is not set; None when it would be built from a `url` that is empty.
    pub fn api_root_for(&self, url: &str) -> Option<String> {
        match self.api_root {
            ApiRoot::Fixed(root) => Some(root.to_string()),
            ApiRoot::UnderUrl(_) if url.trim().is_empty() => None,
            ApiRoot::UnderUrl(path) => Some(format!("{}{path}", url.trim_end_matches('/'))),
        }
    }

    /// The API client of this kind (`source` names where the token came from).
    pub fn client(
        &self,
        root: &str,
        token: &str,
        source: &str,
        timeout: Duration,
        retries: u32,
    ) -> Http {
        match self.auth {
            Auth::Token => Http::new(root, token, source, timeout, retries),
            Auth::Bearer => Http::github(root, token, source, timeout, retries),
        }
    }

    /// The forge of this kind over `http`.
    pub fn forge(&self, http: Http) -> Box<dyn Forge> {
        match self.auth {
            Auth::Token => Box::new(crate::Gitea::new(http)),
            Auth::Bearer => Box::new(crate::Github::new(http)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_profile_in_its_own_order() {
        assert_eq!(PROFILES.len(), ForgeKind::ALL.len());
        for (p, k) in PROFILES.iter().zip(ForgeKind::ALL) {
            assert_eq!(p.kind, *k);
            assert_eq!(of(*k), p);
        }
    }

    /// (kind, forge.url, the API root)
    #[test]
    fn the_api_root_is_under_the_web_address_or_the_kinds_own_host() {
        let cases = [
            (
                ForgeKind::Gitea,
                "https://git.example.org/",
                Some("https://git.example.org/api/v1"),
            ),
            (
                ForgeKind::Forgejo,
                "https://codeberg.org",
                Some("https://codeberg.org/api/v1"),
            ),
            (ForgeKind::Gitea, " ", None),
            (ForgeKind::Github, "", Some("https://api.github.com")),
            (
                ForgeKind::Github,
                "https://github.com",
                Some("https://api.github.com"),
            ),
        ];
        for (kind, url, want) in cases {
            assert_eq!(of(kind).api_root_for(url).as_deref(), want, "{kind} {url}");
        }
    }
}
