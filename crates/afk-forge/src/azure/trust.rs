//! Trust: the armer's login back to its identity id (as this tick gave it,
//! else asked by `AccountName`), its identity read at the identity service
//! (its descriptor, `isActive`), whether it holds `BYPASS_RULES` on the
//! project, and its effective permission on the repository from the Git
//! Repositories ACL, each bit by name from the namespace's actions. The
//! ranking is `afk_wire::azure::trust`'s; a refused lookup is an error.

use super::wire;
use super::{AzureDevops, v};
use crate::http::enc;
use crate::types::{Access, Permission, RepoName};
use afk_wire::azure::trust::{self as rules, Armer, Bits, IdentityKind};
use afk_wire::azure::{API_VERSION, GIT_REPOSITORIES_NAMESPACE, PROJECT_NAMESPACE};
use anyhow::{Result, anyhow};

/// The Project namespace's action a holder of which writes revisions in
/// another's name.
pub(super) const BYPASS_RULES: &str = "BYPASS_RULES";

impl AzureDevops {
    /// The armer `login` (a `uniqueName`, else an identity id) ranked on
    /// `repo`: none for an arming the three identities did not agree on
    /// (its login is the report's words, which name no identity), an unknown,
    /// ambiguous or inactive identity, a non-user, a bypass holder or no
    /// ACL entry. Its words name the person when the login does not
    /// (`mallory@example.org: GenericRead` for an id).
    pub(super) fn acl_permission(&self, repo: &RepoName, login: &str) -> Result<Permission> {
        if login.trim().is_empty() || login.contains(char::is_whitespace) {
            return Ok(Permission::ranked(Access::None, login));
        }
        let Some((id, who)) = self.identity_of(login)? else {
            return Ok(Permission::ranked(Access::None, "unknown identity"));
        };
        let name = who.name().filter(|n| !n.eq_ignore_ascii_case(login));
        let ranked = |access: Access, word: &str| match &name {
            Some(n) => Permission::ranked(access, &format!("{n}: {word}")),
            None => Permission::ranked(access, word),
        };
        // named by its id (a GUID): trusted as a named login is, whatever it
        // is (a bot, a bypass holder); a `uniqueName` entry is the login
        // itself, which the core compares before any lookup, as it refuses
        // afk's own and the agent's accounts
        if (self.setup.trusted_users.iter()).any(|u| u.trim().eq_ignore_ascii_case(&id)) {
            return Ok(ranked(Access::Owner, "named in poll.trusted_users"));
        }
        let Some(descriptor) = who.descriptor.clone().filter(|d| !d.is_empty()) else {
            return Ok(ranked(Access::None, "identity without a descriptor"));
        };
        let kind = IdentityKind::of(&descriptor);
        let active = who.is_active.unwrap_or(false);
        if !active || kind != IdentityKind::User {
            let word = if active { "not a user" } else { "inactive" };
            return Ok(ranked(Access::None, word));
        }
        let r = self.repository(repo)?;
        let project_token = rules::project_token(&r.project.id);
        let repo_token = format!("repoV2/{}/{}", r.project.id, r.id);
        // the two namespaces' reads depend on nothing of each other: at once
        let (bypass, git) = std::thread::scope(|s| {
            let bypass = s.spawn(|| -> Result<bool> {
                let bit = self.action_bit(PROJECT_NAMESPACE, BYPASS_RULES)?;
                Ok(self
                    .effective(PROJECT_NAMESPACE, &project_token, &descriptor)?
                    .is_some_and(|(allow, deny)| rules::holds(allow, deny, bit)))
            });
            let git = (|| -> Result<_> {
                let bits = self.git_bits()?;
                let acl = self.effective(GIT_REPOSITORIES_NAMESPACE, &repo_token, &descriptor)?;
                Ok((bits, acl))
            })();
            (bypass.join().expect("the bypass read panicked"), git)
        });
        let (bypass, (bits, acl)) = (bypass?, git?);
        let access = rules::access(
            Armer {
                kind,
                active,
                bypass,
            },
            acl,
            bits,
        );
        let word = match (bypass, access) {
            (true, _) => "holds BYPASS_RULES (trusted only when named)",
            (false, Access::Admin | Access::Owner) => "ManagePermissions",
            (false, Access::Write) => "GenericContribute",
            (false, Access::Read) => "GenericRead",
            (false, Access::None) => "none",
        };
        Ok(ranked(access, word))
    }

    /// The identity `login` names, with its id: the one this tick gave that
    /// login (none when it gave it to two); else, for a login written as a
    /// GUID, the identity of that id (`identityIds`); else the one identity
    /// whose account name it is exactly (`searchFilter=AccountName`, its
    /// `uniqueName` compared case-insensitively). None: unknown, or more
    /// than one.
    fn identity_of(&self, login: &str) -> Result<Option<(String, wire::Identity)>> {
        let by_id = |id: &str| -> Result<Option<(String, wire::Identity)>> {
            let path = format!("/_apis/identities?identityIds={}", enc(id));
            Ok(self
                .identities(path)?
                .into_iter()
                .next()
                .map(|who| (id.to_string(), who)))
        };
        match self.remembered(login) {
            Some(Some(id)) => return by_id(&id),
            Some(None) => return Ok(None),
            None if rules::is_guid(login) => return by_id(login),
            None => {}
        }
        let path = format!(
            "/_apis/identities?searchFilter=AccountName&filterValue={}",
            enc(login)
        );
        let mut exact = self.identities(path)?.into_iter().filter(|who| {
            who.unique_name()
                .is_some_and(|u| u.eq_ignore_ascii_case(login))
        });
        let (Some(who), None) = (exact.next(), exact.next()) else {
            return Ok(None);
        };
        Ok(who
            .id
            .clone()
            .map(|id| id.trim().to_string())
            .filter(|id| !id.is_empty())
            .map(|id| (id, who)))
    }

    /// The identities an `identities` read at `path` answers (the
    /// organization's identity service), once a tick: the repositories of
    /// a tick armed by one person ask it once.
    fn identities(&self, path: String) -> Result<Vec<wire::Identity>> {
        self.identities.get(path.to_ascii_lowercase(), || {
            let found: wire::List<Option<wire::Identity>> =
                self.ids.json("GET", &v(&path, API_VERSION), None)?;
            Ok(found.value.into_iter().flatten().collect())
        })
    }

    /// The `(effectiveAllow, effectiveDeny)` of `descriptor` on `token` in
    /// `namespace`; None without an entry or its `extendedInfo`. Once a
    /// tick for each: one project's repositories share its ACL.
    fn effective(
        &self,
        namespace: &str,
        token: &str,
        descriptor: &str,
    ) -> Result<Option<(i64, i64)>> {
        let path = format!(
            "/_apis/accesscontrollists/{namespace}?token={}&descriptors={}&includeExtendedInfo=true",
            enc(token),
            enc(descriptor)
        );
        let memo = match namespace {
            GIT_REPOSITORIES_NAMESPACE => &self.repo_acls,
            _ => &self.acls,
        };
        memo.get(path.to_ascii_lowercase(), || {
            self.read_effective(&path, descriptor)
        })
    }

    /// [`Self::effective`]'s read.
    fn read_effective(&self, path: &str, descriptor: &str) -> Result<Option<(i64, i64)>> {
        let acls: wire::List<wire::Acl> = self.http.json("GET", &v(path, API_VERSION), None)?;
        let entry = acls.value.iter().find_map(|a| {
            a.aces_dictionary
                .iter()
                .find(|(d, _)| d.eq_ignore_ascii_case(descriptor))
                .map(|(_, e)| e.clone())
        });
        let Some(info) = entry.as_ref().and_then(|e| e.get("extendedInfo")) else {
            return Ok(None);
        };
        let bits = |k: &str| info.get(k).and_then(serde_json::Value::as_i64).unwrap_or(0);
        Ok(Some((bits("effectiveAllow"), bits("effectiveDeny"))))
    }

    /// The Git Repositories namespace's `GenericRead`, `GenericContribute`
    /// and `ManagePermissions` bits.
    fn git_bits(&self) -> Result<Bits> {
        let actions = self.actions(GIT_REPOSITORIES_NAMESPACE)?;
        Bits::from_actions(actions.iter().map(|a| (a.name.as_str(), a.bit))).ok_or_else(|| {
            anyhow!(
                "forge: security namespace {GIT_REPOSITORIES_NAMESPACE} lacks GenericRead, GenericContribute or ManagePermissions"
            )
        })
    }

    /// One action's bit of `namespace`, by name.
    pub(super) fn action_bit(&self, namespace: &str, name: &str) -> Result<i64> {
        self.actions(namespace)?
            .into_iter()
            .find(|a| a.name == name)
            .map(|a| a.bit)
            .ok_or_else(|| anyhow!("forge: security namespace {namespace} has no action {name}"))
    }

    /// `GET _apis/securitynamespaces/{id}`: its actions, read once a tick.
    fn actions(&self, namespace: &str) -> Result<Vec<wire::Action>> {
        let key = namespace.to_ascii_lowercase();
        self.namespaces.get(key, || {
            let path = format!("/_apis/securitynamespaces/{namespace}");
            let list: wire::List<wire::Namespace> =
                self.http.json("GET", &v(&path, API_VERSION), None)?;
            Ok(list
                .value
                .into_iter()
                .next()
                .map(|n| n.actions)
                .unwrap_or_default())
        })
    }
}
