//! Whom Jira trusts to arm an issue (docs/trackers.md#who-is-trusted): the
//! armer's account, its groups, and the project roles it acts in within
//! the issue's project, each as Jira answers it; the rule itself is
//! `afk_wire::tracker::trust::trust`.

use super::{Jira, rules};
use crate::http::{Failure, ForgeError, enc};
use crate::types::tracker::JiraAccount;
use crate::types::{Access, IssueNumber, Permission};
use anyhow::{Result, anyhow};
use serde_json::Value;
use std::sync::Arc;

/// One actor of a project role: a person by account id, or a group by its
/// id (`actorUser.accountId`, `actorGroup.groupId`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Actor {
    User(String),
    Group(String),
}

/// A role's actors in one project, as read once a tick.
pub(super) type Actors = Arc<Vec<Actor>>;

impl Jira {
    /// Whether `account` may arm issue `issue`: the trust rule on the
    /// account as Jira answers it (`GET /rest/api/3/user`), its groups
    /// (`GET /rest/api/3/user/groups`, matched by `groupId`; a `null` id
    /// never matches) and the `trusted_roles` it acts in within the
    /// issue's project. A refused read is the caller's error, never trust.
    pub fn armer(&self, issue: IssueNumber, account: &str, never: &[&str]) -> Result<Permission> {
        let rank = |t: rules::Trust| match t {
            rules::Trust::Trusted(why) => Permission::ranked(Access::Admin, &why),
            rules::Trust::Untrusted(why) => Permission::ranked(Access::None, &why),
        };
        if account.is_empty() {
            return Ok(Permission::ranked(Access::None, "an anonymous change"));
        }
        let me = self.me()?;
        let mut never: Vec<&str> = never.to_vec();
        never.push(me.account_id.as_str());
        let s = &self.setup;
        let (who, groups) = self.accounts.get(account.to_string(), || {
            let who: JiraAccount = self.http.json(
                "GET",
                &format!("/rest/api/3/user?accountId={}", enc(account)),
                None,
            )?;
            let groups = match s.trusted_groups.is_empty() && s.trusted_roles.is_empty() {
                true => vec![],
                false => self.groups_of(account)?,
            };
            Ok((who, groups))
        })?;
        let in_group = groups.iter().any(|g| s.trusted_groups.contains(g));
        let in_role =
            !s.trusted_roles.is_empty() && self.acts_in_a_role(issue, account, &groups)?;
        let armer = rules::Armer {
            account: &who,
            in_trusted_group: in_group,
            in_trusted_role: in_role,
        };
        Ok(rank(rules::trust(&armer, &never, &s.trusted_accounts)))
    }

    /// The ids of `account`'s groups. A 403 is Jira's answer to an
    /// account without the global *Browse users and groups*, said by name
    /// (Jira's own words need not name it).
    fn groups_of(&self, account: &str) -> Result<Vec<String>> {
        let groups: Vec<Value> = self
            .http
            .json(
                "GET",
                &format!("/rest/api/3/user/groups?accountId={}", enc(account)),
                None,
            )
            .map_err(|e| match ForgeError::kind_of(&e) {
                Some(Failure::Forbidden) => e.context(format!(
                    "jira: afk's account may not read {account}'s groups: it needs the global permission Browse users and groups"
                )),
                _ => e,
            })?;
        Ok(groups
            .iter()
            .filter_map(|g| g.get("groupId").and_then(Value::as_str))
            .map(str::to_string)
            .collect())
    }

    /// Whether `account` is an actor of a `trusted_roles` role in issue
    /// `issue`'s project: named as a user actor, or through a group actor
    /// whose group is one of `groups`. Only an account that administers
    /// the project may read its roles (Jira answers 404 otherwise): that
    /// refusal is the issue's error, never "no actor".
    fn acts_in_a_role(&self, issue: IssueNumber, account: &str, groups: &[String]) -> Result<bool> {
        let i = self.issue(issue)?;
        let project = i
            .fields
            .project
            .as_ref()
            .map(|p| p.key.clone())
            .ok_or_else(|| anyhow!("jira: {} has no project in the answer", i.key))?;
        for role in &self.setup.trusted_roles {
            let id = self.role_id(&project, role)?;
            let acts = self.actors(&project, id)?.iter().any(|a| match a {
                Actor::User(u) => u == account,
                Actor::Group(g) => groups.contains(g),
            });
            if acts {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// A `trusted_roles` entry's id: itself when it is a number, else the
    /// id of the project's role of that name (`GET /project/{key}/role`:
    /// name → URL, the id its last segment).
    fn role_id(&self, project: &str, role: &str) -> Result<u64> {
        if let Ok(id) = role.parse() {
            return Ok(id);
        }
        let key = (project.to_string(), role.to_string());
        self.role_ids.get(key, || self.role_id_read(project, role))
    }

    /// [`Jira::role_id`] of a name, read.
    fn role_id_read(&self, project: &str, role: &str) -> Result<u64> {
        let path = format!("/rest/api/3/project/{}/role", enc(project));
        let named: serde_json::Map<String, Value> = self.http.json("GET", &path, None)?;
        named
            .get(role)
            .and_then(Value::as_str)
            .and_then(|url| url.rsplit('/').next())
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| {
                anyhow!("jira: tracker.trusted_roles names {role:?}, which project {project} has no role of")
            })
    }

    /// The actors of role `id` in `project`, read once a tick.
    fn actors(&self, project: &str, id: u64) -> Result<Actors> {
        let key = (project.to_string(), id);
        if let Some(a) = self.roles.lock().unwrap().get(&key) {
            return Ok(a.clone());
        }
        let path = format!("/rest/api/3/project/{}/role/{id}", enc(project));
        let role: Value = self.http.json("GET", &path, None)?;
        let list = role
            .get("actors")
            .and_then(Value::as_array)
            .ok_or_else(|| anyhow!("jira: role {id} of {project} has no actors list"))?;
        let str_at =
            |a: &Value, at: &str| a.pointer(at).and_then(Value::as_str).map(str::to_string);
        let actors: Vec<Actor> = list
            .iter()
            .filter_map(|a| {
                str_at(a, "/actorUser/accountId")
                    .map(Actor::User)
                    .or_else(|| str_at(a, "/actorGroup/groupId").map(Actor::Group))
            })
            .collect();
        let actors = Arc::new(actors);
        self.roles.lock().unwrap().insert(key, actors.clone());
        Ok(actors)
    }
}
