//! Jira's trust rule (docs/trackers.md#who-is-trusted): who may arm an
//! issue, from the armer's account as Jira answers it and what the adapter
//! found of their groups and roles.

use afk_model::tracker::JiraAccount;

/// Whether the armer may arm: why, in words, either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    Trusted(String),
    Untrusted(String),
}

/// The armer's account as `GET /rest/api/3/user` answered it, and what
/// afk found of their groups and roles.
pub struct Armer<'a> {
    pub account: &'a JiraAccount,
    /// one of their groups' `groupId` is in `trusted_groups`
    pub in_trusted_group: bool,
    /// they are an actor of a role in `trusted_roles` in the project
    pub in_trusted_role: bool,
}

/// The rule "trust, Jira": never afk's own account or the agent's; anyone
/// named in `trusted_accounts`; otherwise an active `atlassian` account in
/// a trusted group or role. An app (Automation for Jira, a service account,
/// a Rovo agent), a portal customer or an unknown account is trusted only
/// when named.
pub fn trust(armer: &Armer, never: &[&str], trusted_accounts: &[String]) -> Trust {
    let a = armer.account;
    let id = a.account_id.as_str();
    if never.iter().any(|n| !n.is_empty() && *n == id) {
        return Trust::Untrusted(format!("{id} is afk's own account or the agent's"));
    }
    if trusted_accounts.iter().any(|t| t == id) {
        return Trust::Trusted(format!("{id} is named in tracker.trusted_accounts"));
    }
    if a.active != Some(true) {
        return Trust::Untrusted(format!("{id} is not an active account"));
    }
    match a.account_type.as_deref() {
        Some("atlassian") => {}
        other => {
            return Trust::Untrusted(format!(
                "{id} is a{} account, trusted only when named in tracker.trusted_accounts",
                match other {
                    Some("app") => "n app",
                    Some("customer") => " customer",
                    _ => "n unknown",
                }
            ));
        }
    }
    if armer.in_trusted_group {
        Trust::Trusted(format!("{id} is in a group of tracker.trusted_groups"))
    } else if armer.in_trusted_role {
        Trust::Trusted(format!("{id} holds a role of tracker.trusted_roles"))
    } else {
        Trust::Untrusted(format!(
            "{id} is in no group of tracker.trusted_groups and holds no role of tracker.trusted_roles"
        ))
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// An account as `GET /rest/api/3/user` answers it (jira.rs's tests too).
    pub(in crate::tracker) fn account(id: &str, kind: &str, active: bool) -> JiraAccount {
        JiraAccount {
            account_id: id.into(),
            account_type: Some(kind.into()),
            active: Some(active),
        }
    }

    #[test]
    fn jira_trust_is_groups_or_roles_for_active_people_and_names_for_the_rest() {
        let named = vec!["robot-1".to_string()];
        let cases: Vec<(&str, JiraAccount, bool, bool, bool)> = vec![
            (
                "a person in a trusted group",
                account("p1", "atlassian", true),
                true,
                false,
                true,
            ),
            (
                "a person in a trusted role",
                account("p1", "atlassian", true),
                false,
                true,
                true,
            ),
            (
                "a person in neither",
                account("p1", "atlassian", true),
                false,
                false,
                false,
            ),
            (
                "an inactive person in a group",
                account("p1", "atlassian", false),
                true,
                false,
                false,
            ),
            (
                "an app in a trusted group",
                account("auto", "app", true),
                true,
                true,
                false,
            ),
            (
                "a portal customer",
                account("cust", "customer", true),
                true,
                false,
                false,
            ),
            (
                "an unknown account",
                account("unknown", "unknown", true),
                true,
                false,
                false,
            ),
            (
                "an app named",
                account("robot-1", "app", true),
                false,
                false,
                true,
            ),
            (
                "afk itself, in a group",
                account("afk-bot", "atlassian", true),
                true,
                true,
                false,
            ),
            (
                "afk itself, named",
                account("afk-bot", "app", true),
                false,
                false,
                false,
            ),
        ];
        let mut named_afk = named.clone();
        named_afk.push("afk-bot".into());
        for (name, acc, group, role, want) in cases {
            let armer = Armer {
                account: &acc,
                in_trusted_group: group,
                in_trusted_role: role,
            };
            let got = trust(&armer, &["afk-bot", ""], &named_afk);
            assert_eq!(matches!(got, Trust::Trusted(_)), want, "{name}: {got:?}");
        }
    }
}
