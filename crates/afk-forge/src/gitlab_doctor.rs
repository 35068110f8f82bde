//! What `afk doctor` reads of GitLab beyond the labels and afk's access
//! level (docs/gitlab.md#what-afk-doctor-checks-on-gitlab): the token
//! (`GET /personal_access_tokens/self`, its scopes and expiry) and a
//! project's default branch with its protection rules
//! (`GET /projects/:id/protected_branches`). The decisions on them are
//! `core::doctor::gitlab`'s.

use super::gitlab::{Gitlab, project};
use crate::{BranchRules, TokenInfo};
use anyhow::Result;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct WireToken {
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    expires_at: Option<String>,
    #[serde(default)]
    active: bool,
    #[serde(default)]
    revoked: bool,
}

#[derive(Debug, Deserialize)]
struct WireLevel {
    #[serde(default)]
    access_level: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct WireRule {
    name: String,
    #[serde(default)]
    push_access_levels: Vec<WireLevel>,
}

#[derive(Debug, Deserialize)]
struct WireProject {
    #[serde(default)]
    default_branch: Option<String>,
}

impl Gitlab {
    /// `GET /personal_access_tokens/self` (a group or project access token
    /// answers it too).
    pub(crate) fn read_token_info(&self) -> Result<TokenInfo> {
        let t: WireToken = self
            .http
            .json("GET", "/personal_access_tokens/self", None)?;
        Ok(TokenInfo {
            scopes: t.scopes,
            expires_at: t.expires_at,
            active: t.active && !t.revoked,
        })
    }

    /// `GET /projects/:id` (its `default_branch`) and
    /// `GET /projects/:id/protected_branches` (all pages).
    pub(crate) fn read_branch_rules(&self, repo: &crate::types::RepoName) -> Result<BranchRules> {
        let p: WireProject = self.http.json("GET", &project(repo), None)?;
        let rules: Vec<WireRule> = self
            .http
            .get_all(&format!("{}/protected_branches", project(repo)))?;
        Ok(BranchRules {
            default_branch: p.default_branch.unwrap_or_default(),
            rules: rules
                .into_iter()
                .map(|r| {
                    let levels = r
                        .push_access_levels
                        .into_iter()
                        .filter_map(|l| l.access_level)
                        .collect();
                    (r.name, levels)
                })
                .collect(),
        })
    }
}
