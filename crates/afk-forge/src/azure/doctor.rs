//! What `afk doctor` reads of Azure DevOps (SPEC 2.2.8) beyond the generic
//! lines (afk's account, the tags as labels, the webhook): per allowlisted
//! repository its project, afk's own `GenericContribute`, `CreateBranch`
//! and `PullRequestContribute`, its area path, each work-item type and
//! `close_state`, and the branch policies; and the service-hook
//! subscriptions. The decisions on policies are `afk_wire::azure::policy`'s.

use super::wire;
use super::{AzureDevops, v};
use crate::http::enc;
use crate::model::HookInfo;
use crate::types::{NameShape, RepoName};
use crate::{Diagnosis, ForgeReads};
use afk_wire::azure::{API_VERSION, BUILD_POLICY_TYPE, GIT_REPOSITORIES_NAMESPACE, policy};
use anyhow::Result;
use serde_json::Value;

/// The permissions afk's own account needs on a repository (SPEC 2.2.2, 2.2.8).
const OWN: &[&str] = &["GenericContribute", "CreateBranch", "PullRequestContribute"];

impl AzureDevops {
    /// Every line of SPEC 2.2.8 this adapter reads.
    pub(super) fn diagnosis(&self) -> Vec<Diagnosis> {
        let token = match self.setup.entra_expiry {
            Some(exp) => format!(
                "an Entra token, expiring at {} (renewed outside afk)",
                time::OffsetDateTime::from_unix_timestamp(exp)
                    .ok()
                    .and_then(|t| t
                        .format(&time::format_description::well_known::Rfc3339)
                        .ok())
                    .unwrap_or_else(|| format!("{exp} (Unix time)"))
            ),
            None => "a PAT's own scopes and expiry cannot be read with a PAT".into(),
        };
        let mut out = vec![Diagnosis::ok("token", token)];
        for (repo, area) in &self.setup.area_paths {
            // doctor's reads are optional: none once an answer was slowed (SPEC 2.2.7)
            if !self.http.optional_reads() {
                out.push(Diagnosis::warn(
                    "rate limit",
                    "Azure DevOps slowed afk's requests: the rest of doctor's reads are left out; run it again later".into(),
                ));
                break;
            }
            let Ok(name) = RepoName::parse_for(NameShape::ProjectRepo, repo) else {
                continue;
            };
            out.extend(self.repo_diagnosis(&name, area));
        }
        // TODO(#86): the identities holding BYPASS_RULES on each project (a
        // WARN naming them: they arm only when named, SPEC 2.2.10)
        out
    }

    fn repo_diagnosis(&self, repo: &RepoName, area: &str) -> Vec<Diagnosis> {
        let check = format!("repo {repo}");
        let r = match self.repository(repo) {
            Ok(r) => r,
            Err(e) => return vec![Diagnosis::fail(&check, format!("{e:#}"))],
        };
        let mut out = vec![match self.is_public(repo) {
            Ok(public) => Diagnosis::ok(
                &check,
                format!(
                    "repository {} in project {} ({})",
                    r.id,
                    r.project.id,
                    if public { "public" } else { "private" }
                ),
            ),
            Err(e) => Diagnosis::fail(&check, format!("project: {e:#}")),
        }];
        out.push(self.own_permissions(repo, &r));
        out.push(self.area_exists(repo, area));
        out.extend(self.type_lines(repo));
        out.extend(self.policy_lines(repo, &r));
        out
    }

    /// afk's own bits on `repoV2/{project}/{repo}`, each asked of
    /// `GET _apis/permissions/{namespace}/{bit}` (which evaluates the caller).
    fn own_permissions(&self, repo: &RepoName, r: &wire::Repository) -> Diagnosis {
        let check = format!("permissions {repo}");
        let token = format!("repoV2/{}/{}", r.project.id, r.id);
        let mut missing = vec![];
        for name in OWN {
            let held = self.has_permission(name, &token);
            match held {
                Ok(true) => {}
                Ok(false) => missing.push(name.to_string()),
                Err(e) => return Diagnosis::fail(&check, format!("can't tell ({e:#})")),
            }
        }
        match missing.is_empty() {
            true => Diagnosis::ok(&check, OWN.join(", ")),
            false => Diagnosis::fail(
                &check,
                format!("afk's account lacks {}", missing.join(", ")),
            ),
        }
    }

    fn has_permission(&self, action: &str, token: &str) -> Result<bool> {
        let bit = self.action_bit(GIT_REPOSITORIES_NAMESPACE, action)?;
        let path = format!(
            "/_apis/permissions/{GIT_REPOSITORIES_NAMESPACE}/{bit}?tokens={}",
            enc(token)
        );
        let answer: wire::List<bool> = self.http.json("GET", &v(&path, API_VERSION), None)?;
        Ok(answer.value.first().copied().unwrap_or(false))
    }

    /// `GET .../wit/classificationnodes/Areas/{path}` (the path below the
    /// project, each segment encoded).
    /// TODO(#86): `WORK_ITEM_WRITE` on the node's token in the CSS namespace.
    fn area_exists(&self, repo: &RepoName, area: &str) -> Diagnosis {
        let check = format!("area {repo}");
        let below: Vec<String> = area
            .trim_matches('\\')
            .split('\\')
            .skip(1)
            .map(enc)
            .collect();
        let path = match self.apis(repo) {
            Ok(apis) if below.is_empty() => format!("{apis}/wit/classificationnodes/Areas"),
            Ok(apis) => format!("{apis}/wit/classificationnodes/Areas/{}", below.join("/")),
            Err(e) => return Diagnosis::fail(&check, format!("{e:#}")),
        };
        match self.http.send("GET", &v(&path, API_VERSION), None) {
            Ok(_) => Diagnosis::ok(&check, format!("area path {area} exists")),
            Err(e) => Diagnosis::fail(&check, format!("area path {area}: {e:#}")),
        }
    }

    /// Each dispatched type exists, and `close_state` is one of its states.
    fn type_lines(&self, repo: &RepoName) -> Vec<Diagnosis> {
        let close = self.setup.close_state.trim();
        let mut out = vec![];
        for kind in &self.setup.work_item_types {
            let check = format!("type {repo} {kind}");
            out.push(match self.type_states(repo, kind) {
                Err(e) => Diagnosis::fail(&check, format!("{e:#}")),
                Ok(states)
                    if close.is_empty()
                        || states.iter().any(|s| s.name.eq_ignore_ascii_case(close)) =>
                {
                    Diagnosis::ok(&check, format!("{} states", states.len()))
                }
                Ok(_) => Diagnosis::fail(
                    &check,
                    format!("forge.azure_devops.close_state \"{close}\" is not one of its states"),
                ),
            });
        }
        out
    }

    /// A policy scoped to `afk/*` (FAIL, naming it); a default branch
    /// without build validation (WARN).
    fn policy_lines(&self, repo: &RepoName, r: &wire::Repository) -> Vec<Diagnosis> {
        let check = format!("policies {repo}");
        let path = match self.apis(repo) {
            Ok(apis) => v(&format!("{apis}/policy/configurations"), API_VERSION),
            Err(e) => return vec![Diagnosis::fail(&check, format!("{e:#}"))],
        };
        let all: Vec<Value> = match self.http.get_all_continued(&path, "value") {
            Ok(all) => all,
            Err(e) => return vec![Diagnosis::warn(&check, format!("can't tell ({e:#})"))],
        };
        let default = r.default_branch.clone().unwrap_or_default();
        let (mut on_afk, mut build) = (vec![], false);
        for p in all
            .iter()
            .filter(|p| p.get("isEnabled").and_then(Value::as_bool) == Some(true))
        {
            let scopes = scopes_of(p, &r.id);
            let kind = p.pointer("/type/id").and_then(Value::as_str).unwrap_or("");
            if scopes
                .iter()
                .any(|(n, k)| policy::covers_afk(n.as_deref(), k.as_deref()))
            {
                on_afk.push(policy_name(p));
            }
            if kind.eq_ignore_ascii_case(BUILD_POLICY_TYPE)
                && scopes
                    .iter()
                    .any(|(n, k)| policy::covers(n.as_deref(), k.as_deref(), &default))
            {
                build = true;
            }
        }
        let mut out = vec![match on_afk.is_empty() {
            true => Diagnosis::ok(&check, "no policy applies to afk/*".into()),
            false => Diagnosis::fail(
                &check,
                format!(
                    "applies to afk/* (pushes there would need pull requests): {}",
                    on_afk.join(", ")
                ),
            ),
        }];
        if !build {
            out.push(Diagnosis::warn(
                &format!("build validation {repo}"),
                format!("the default branch {default} has no build validation policy"),
            ));
        }
        out
    }

    /// `GET _apis/hooks/subscriptions` with consumer `webHooks`: each
    /// subscription's `consumerInputs.url`, active when `enabled`.
    pub(super) fn subscriptions(&self) -> Result<Vec<HookInfo>> {
        let path = v(
            "/_apis/hooks/subscriptions?consumerId=webHooks",
            API_VERSION,
        );
        let list: wire::List<Value> = self.http.json("GET", &path, None)?;
        Ok(list
            .value
            .iter()
            .map(|s| HookInfo {
                url: s
                    .pointer("/consumerInputs/url")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                active: s.get("status").and_then(Value::as_str) == Some("enabled"),
            })
            .collect())
    }
}

/// A policy's scope entries for repository `repo_id` (or every repository):
/// `(refName, matchKind)`.
fn scopes_of(p: &Value, repo_id: &str) -> Vec<(Option<String>, Option<String>)> {
    let text = |s: &Value, k: &str| s.get(k).and_then(Value::as_str).map(str::to_string);
    p.pointer("/settings/scope")
        .and_then(Value::as_array)
        .map(|all| {
            all.iter()
                .filter(|s| {
                    text(s, "repositoryId").is_none_or(|id| id.eq_ignore_ascii_case(repo_id))
                })
                .map(|s| (text(s, "refName"), text(s, "matchKind")))
                .collect()
        })
        .unwrap_or_default()
}

/// A policy as a line names it: its type's name and its id.
fn policy_name(p: &Value) -> String {
    let kind = p
        .pointer("/type/displayName")
        .and_then(Value::as_str)
        .unwrap_or("a policy");
    let id = p.get("id").map(|i| i.to_string()).unwrap_or_default();
    format!("{kind} (id {id})")
}
