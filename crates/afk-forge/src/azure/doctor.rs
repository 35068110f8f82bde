//! What `afk doctor` reads of Azure DevOps beyond the generic lines (afk's
//! account, the tags as labels, the webhook): per allowlisted repository its
//! project, afk's own `GenericContribute`, `CreateBranch` and
//! `PullRequestContribute`, its area path and afk's `WORK_ITEM_WRITE` there,
//! each work-item type and `close_state`, and the branch policies; per
//! project the identities holding `BYPASS_RULES`; and the service-hook
//! subscriptions. The decisions on policies are `afk_wire::azure::policy`'s.

use super::trust::BYPASS_RULES;
use super::wire;
use super::{AzureDevops, v};
use crate::http::enc;
use crate::model::HookInfo;
use crate::types::{NameShape, RepoName};
use crate::{Diagnosis, ForgeReads};
use afk_wire::azure::area::{below_project, node_token};
use afk_wire::azure::trust::{self as rules, IdentityKind};
use afk_wire::azure::{
    API_VERSION, BUILD_POLICY_TYPE, CSS_NAMESPACE, GIT_REPOSITORIES_NAMESPACE, PROJECT_NAMESPACE,
    policy,
};
use anyhow::{Result, anyhow};
use serde_json::Value;

/// The permissions afk's own account needs on a repository.
const OWN: &[&str] = &["GenericContribute", "CreateBranch", "PullRequestContribute"];

/// The CSS namespace's action that lets afk edit the work items under an
/// area.
const WORK_ITEM_WRITE: &str = "WORK_ITEM_WRITE";

/// Descriptors asked of the identity service in one read.
const DESCRIPTORS_PER_READ: usize = 20;

impl AzureDevops {
    /// Every line of doctor's Azure DevOps checks this adapter reads
    /// (docs/azure-devops.md#what-afk-doctor-checks-on-azure-devops).
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
        // each project once, as its repositories name it: (id, name)
        let mut projects: Vec<(String, String)> = vec![];
        let mut slowed = false;
        for (repo, area) in &self.setup.area_paths {
            // doctor's reads are optional: none once an answer was slowed
            if !self.http.optional_reads() {
                slowed = true;
                break;
            }
            let Ok(name) = RepoName::parse_for(NameShape::ProjectRepo, repo) else {
                continue;
            };
            out.extend(self.repo_diagnosis(&name, area));
            if let Ok(r) = self.repository(&name)
                && !(projects.iter()).any(|(id, _)| id.eq_ignore_ascii_case(&r.project.id))
            {
                projects.push((r.project.id.clone(), r.project.name.clone()));
            }
        }
        for (id, name) in &projects {
            if slowed || !self.http.optional_reads() {
                slowed = true;
                break;
            }
            out.push(self.bypass_line(id, name));
        }
        if slowed {
            out.push(Diagnosis::warn(
                "rate limit",
                "Azure DevOps slowed afk's requests: the rest of doctor's reads are left out; run it again later".into(),
            ));
        }
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
        out.extend(self.area_lines(repo, area));
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
            let held = self.has_permission(GIT_REPOSITORIES_NAMESPACE, name, &token);
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

    /// Whether afk's account holds `action` of `namespace` on `token`:
    /// `GET _apis/permissions/{namespace}/{bit}?tokens=…` (which evaluates
    /// the caller), the bit by name from the namespace's actions.
    fn has_permission(&self, namespace: &str, action: &str, token: &str) -> Result<bool> {
        let bit = self.action_bit(namespace, action)?;
        let path = format!("/_apis/permissions/{namespace}/{bit}?tokens={}", enc(token));
        let answer: wire::List<bool> = self.http.json("GET", &v(&path, API_VERSION), None)?;
        Ok(answer.value.first().copied().unwrap_or(false))
    }

    /// That the area path exists (its node read), and that afk may edit
    /// work items under it: `WORK_ITEM_WRITE` on the node's token in the
    /// CSS namespace, which chains the identifiers of the nodes from the
    /// project's root area down to it, each read the same way.
    fn area_lines(&self, repo: &RepoName, area: &str) -> Vec<Diagnosis> {
        let check = format!("area {repo}");
        let below = below_project(area);
        let apis = match self.apis(repo) {
            Ok(apis) => apis,
            Err(e) => return vec![Diagnosis::fail(&check, format!("{e:#}"))],
        };
        let node = match self.area_node(&apis, &below) {
            Ok(node) => node,
            Err(e) => return vec![Diagnosis::fail(&check, format!("area path {area}: {e:#}"))],
        };
        let exists = Diagnosis::ok(&check, format!("area path {area} exists"));
        let token = (0..below.len())
            .map(|depth| self.area_node(&apis, &below[..depth]))
            .chain([Ok(node)])
            .collect::<Result<Vec<String>>>()
            .map(|ids| node_token(&ids));
        let write = match token
            .and_then(|t| self.has_permission(CSS_NAMESPACE, WORK_ITEM_WRITE, &t))
        {
            Ok(true) => Diagnosis::ok(
                &check,
                format!(
                    "afk's account may edit work items under area path {area} ({WORK_ITEM_WRITE})"
                ),
            ),
            Ok(false) => Diagnosis::fail(
                &check,
                format!(
                    "afk's account lacks {WORK_ITEM_WRITE} on area path {area}: it cannot edit the work items there"
                ),
            ),
            Err(e) => Diagnosis::fail(
                &check,
                format!("{WORK_ITEM_WRITE} on area path {area}: can't tell ({e:#})"),
            ),
        };
        vec![exists, write]
    }

    /// `GET .../wit/classificationnodes/Areas/{path}` (`below`: the path
    /// below the project, each segment encoded; none: the project's root
    /// area): the node's `identifier`.
    fn area_node(&self, apis: &str, below: &[&str]) -> Result<String> {
        let path = match below {
            [] => format!("{apis}/wit/classificationnodes/Areas"),
            _ => format!(
                "{apis}/wit/classificationnodes/Areas/{}",
                below.iter().map(|s| enc(s)).collect::<Vec<_>>().join("/")
            ),
        };
        let node: wire::ClassificationNode = self.http.json("GET", &v(&path, API_VERSION), None)?;
        node.identifier
            .map(|id| id.trim().to_string())
            .filter(|id| !id.is_empty())
            .ok_or_else(|| anyhow!("forge: GET {path}: the answer has no identifier"))
    }

    /// The identities holding `BYPASS_RULES` on project `id`: a WARN naming
    /// them, for they arm only when named; none is ok.
    fn bypass_line(&self, id: &str, name: &str) -> Diagnosis {
        let check = format!("bypass {name}");
        match self.bypass_holders(id) {
            Ok(held) if held.is_empty() => Diagnosis::ok(
                &check,
                format!("no identity holds {BYPASS_RULES} on project {name}"),
            ),
            Ok(held) => Diagnosis::warn(
                &check,
                format!(
                    "{} hold {BYPASS_RULES} on project {name}: they arm only when named in poll.trusted_users (docs/azure-devops.md#the-one-trap-bypass-rules-on-work-item-updates)",
                    held.join(", ")
                ),
            ),
            Err(e) => Diagnosis::warn(
                &check,
                format!("{BYPASS_RULES} on project {name}: can't tell ({e:#})"),
            ),
        }
    }

    /// The Project namespace's ACL of the project's token, every entry (no
    /// `descriptors` filter) with its effective bits: each descriptor that
    /// holds `BYPASS_RULES` (the bit by name), named by the identity
    /// service, sorted.
    fn bypass_holders(&self, project_id: &str) -> Result<Vec<String>> {
        let bit = self.action_bit(PROJECT_NAMESPACE, BYPASS_RULES)?;
        let path = format!(
            "/_apis/accesscontrollists/{PROJECT_NAMESPACE}?token={}&includeExtendedInfo=true",
            enc(&rules::project_token(project_id))
        );
        let acls: wire::List<wire::Acl> = self.http.json("GET", &v(&path, API_VERSION), None)?;
        let entries: Vec<(String, i64, i64)> = acls
            .value
            .iter()
            .flat_map(|a| a.aces_dictionary.iter())
            .map(|(d, entry)| effective_of(d, entry))
            .collect();
        let mut held: Vec<&str> = rules::holders(&entries, bit);
        held.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
        let mut names = vec![];
        for chunk in held.chunks(DESCRIPTORS_PER_READ) {
            let asked: Vec<String> = chunk.iter().map(|d| enc(d)).collect();
            let path = format!("/_apis/identities?descriptors={}", asked.join(","));
            let found: wire::List<Option<wire::Identity>> =
                self.ids.json("GET", &v(&path, API_VERSION), None)?;
            let known: Vec<wire::Identity> = found.value.into_iter().flatten().collect();
            names.extend(chunk.iter().map(|d| {
                let who = known.iter().find(|w| {
                    (w.descriptor.as_deref()).is_some_and(|wd| wd.eq_ignore_ascii_case(d))
                });
                holder_name(d, who)
            }));
        }
        names.sort_by_key(|n| n.to_lowercase());
        names.dedup();
        Ok(names)
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

/// An ACL entry's descriptor with its effective allow and deny: its
/// `extendedInfo`'s, else the entry's own bits.
fn effective_of(descriptor: &str, entry: &Value) -> (String, i64, i64) {
    let bits = |effective: &str, own: &str| {
        entry
            .pointer(&format!("/extendedInfo/{effective}"))
            .or_else(|| entry.get(own))
            .and_then(Value::as_i64)
            .unwrap_or(0)
    };
    (
        descriptor.to_string(),
        bits("effectiveAllow", "allow"),
        bits("effectiveDeny", "deny"),
    )
}

/// A holder as a line names it: a person by their `uniqueName` (what
/// `poll.trusted_users` may name), a group by its display name and as the
/// group it is, another identity by its display name; one the identity
/// service did not name, by its descriptor. One line of at most 100
/// characters a name.
fn holder_name(descriptor: &str, who: Option<&wire::Identity>) -> String {
    let shown = |s: &str| -> String { s.chars().filter(|c| !c.is_control()).take(100).collect() };
    let Some(who) = who else {
        return format!(
            "{} (an identity the service did not name)",
            shown(descriptor)
        );
    };
    let display = who
        .provider_display_name
        .as_deref()
        .map(shown)
        .filter(|n| !n.trim().is_empty());
    let named = match IdentityKind::of(descriptor) {
        IdentityKind::User => who.name(),
        _ => display.or_else(|| who.name()),
    };
    let named = named.unwrap_or_else(|| shown(descriptor));
    match who.is_container == Some(true) {
        true => format!("{named} (a group: its members)"),
        false => named,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn identity(v: Value) -> wire::Identity {
        serde_json::from_value(v).unwrap()
    }

    /// (descriptor, the identity read, the name the line gives)
    #[test]
    fn a_bypass_holder_is_named_a_person_by_unique_name_a_group_as_the_group() {
        let user = "Microsoft.IdentityModel.Claims.ClaimsIdentity;t\\mallory@example.org";
        let group = "Microsoft.TeamFoundation.Identity;S-1-9-1551374245-1";
        let account = |a: &str| json!({"Account": {"$type": "System.String", "$value": a}});
        let cases = [
            (
                user,
                Some(identity(
                    json!({"descriptor": user, "providerDisplayName": "Mallory",
                    "isContainer": false, "properties": account("mallory@example.org")}),
                )),
                "mallory@example.org",
            ),
            (
                group,
                Some(identity(json!({"descriptor": group, "isContainer": true,
                    "providerDisplayName": "[Fabrikam]\\Project Administrators",
                    "properties": account("Project Administrators")}))),
                "[Fabrikam]\\Project Administrators (a group: its members)",
            ),
            (
                user,
                Some(identity(
                    json!({"descriptor": user, "providerDisplayName": "Mallory"}),
                )),
                "Mallory",
            ),
            (
                group,
                None,
                "Microsoft.TeamFoundation.Identity;S-1-9-1551374245-1 (an identity the service did not name)",
            ),
        ];
        for (descriptor, who, want) in cases {
            assert_eq!(holder_name(descriptor, who.as_ref()), want, "{descriptor}");
        }
    }

    /// An entry's effective bits are its `extendedInfo`'s, else its own.
    #[test]
    fn an_acl_entry_s_bits_are_its_effective_ones() {
        let extended = json!({"descriptor": "d", "allow": 1, "deny": 0,
            "extendedInfo": {"effectiveAllow": 1048577, "effectiveDeny": 2}});
        assert_eq!(effective_of("d", &extended), ("d".to_string(), 1048577, 2));
        let own = json!({"descriptor": "d", "allow": 1048576, "deny": 4});
        assert_eq!(effective_of("d", &own), ("d".to_string(), 1048576, 4));
    }
}
