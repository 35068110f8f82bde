//! `[poll]`: which issues afk picks up, from whom, and how many at once.

use anyhow::Result;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::time::Duration;

use super::check::Checker;
use super::values::de_duration;
use super::{Access, Config, RepoName};

/// `poll.trusted_permission`'s words.
const TRUSTED_PERMISSIONS: [(&str, Access); 3] = [
    ("read", Access::Read),
    ("write", Access::Write),
    ("admin", Access::Admin),
];

/// An allowlist entry of any kind's shape: which kind it is for is known
/// once the whole file is read, and [`Poll::validate`] asks that kind's
/// profile. An entry no kind names so is refused here, in `owner/repo`'s words.
fn de_allowlist<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<RepoName>, D::Error> {
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|s| RepoName::parse_any(s).map_err(serde::de::Error::custom))
        .collect()
}

fn de_trusted_permission<'de, D: Deserializer<'de>>(d: D) -> Result<Access, D::Error> {
    let s = String::deserialize(d)?;
    TRUSTED_PERMISSIONS
        .iter()
        .find(|(w, _)| *w == s)
        .map(|(_, a)| *a)
        .ok_or_else(|| {
            serde::de::Error::custom(format!("\"{s}\" is not one of read, write, admin"))
        })
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Poll {
    pub enabled: bool,
    /// validated by `forge.kind`'s profile (`Profile::repo_name`)
    #[serde(deserialize_with = "de_allowlist")]
    pub allowlist: Vec<RepoName>,
    pub ready_label: String,
    pub in_progress_label: String,
    #[serde(deserialize_with = "de_trusted_permission")]
    pub trusted_permission: Access,
    pub trusted_users: Vec<String>,
    pub max_in_flight: usize,
    pub max_per_tick: usize,
    pub template: String,
    pub include_body: bool,
    pub priority: BTreeMap<String, i64>,
    /// How often a poll tick is expected: overdue after twice this
    /// (docs/reports.md#afk-status).
    #[serde(deserialize_with = "de_duration")]
    pub expect_every: Duration,
}
impl Default for Poll {
    fn default() -> Self {
        let priority = [
            ("priority/critical", 4),
            ("priority/high", 3),
            ("priority/medium", 2),
            ("priority/low", 1),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Poll {
            enabled: false,
            allowlist: vec![],
            ready_label: "ready-for-agent".into(),
            in_progress_label: "agent-in-progress".into(),
            trusted_permission: Access::Write,
            trusted_users: vec![],
            max_in_flight: 4,
            max_per_tick: 4,
            template: "implementer".into(),
            include_body: true,
            priority,
            expect_every: Duration::from_secs(5 * 60),
        }
    }
}

impl Poll {
    /// Each allowlist entry is a repository name of the forge's kind
    /// (`owner/repo`, or a nested project path where the kind has them).
    pub(super) fn validate_allowlist(
        &self,
        c: &Checker,
        profile: &crate::forge::Profile,
    ) -> Result<()> {
        for entry in &self.allowlist {
            profile
                .repo_name(entry)
                .map_err(|e| c.err("poll", "allowlist", e))?;
        }
        Ok(())
    }

    pub(super) fn validate(&self, c: &Checker) -> Result<()> {
        for entry in &self.trusted_users {
            if entry.trim().is_empty() {
                return Err(c.err("poll", "trusted_users", "an entry is empty"));
            }
        }
        if self.ready_label.is_empty() {
            return Err(c.err("poll", "ready_label", "must not be empty"));
        }
        if self.in_progress_label.is_empty() {
            return Err(c.err("poll", "in_progress_label", "must not be empty"));
        }
        if self.ready_label == self.in_progress_label {
            return Err(c.err(
                "poll",
                "in_progress_label",
                "must differ from poll.ready_label",
            ));
        }
        Ok(())
    }
}

impl Config {
    /// The priority of an issue carrying `labels`: the highest mapped label, else 0.
    pub fn priority_of<'a>(&self, labels: impl IntoIterator<Item = &'a str>) -> i64 {
        labels
            .into_iter()
            .filter_map(|l| self.poll.priority.get(l).copied())
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::tests::parse;

    #[test]
    fn bad_allowlist_entry_is_rejected_naming_key_and_line() {
        let cases = [
            ("noslash", false),
            ("a/b/c", false),
            ("x/..", false),
            ("../..", false),
            ("./a", false),
            ("a/b c", false),
            ("acme/api", true),
            ("acme/platform/svc", false),
            ("a//b", false),
            ("a/b/", false),
        ];
        for (entry, ok) in cases {
            let text = format!("[poll]\nallowlist = [\n  \"acme/web\",\n  \"{entry}\",\n]\n");
            match parse(&text) {
                Ok(c) => {
                    assert!(ok, "case {entry:?} accepted");
                    assert!(c.poll.allowlist[1] == entry, "case {entry:?}");
                }
                Err(e) => {
                    assert!(!ok, "case {entry:?}: {e}");
                    let e = e.to_string();
                    assert!(
                        e.starts_with("config: poll.allowlist at line 2: "),
                        "case {entry:?}: {e}"
                    );
                    if entry == "a/b/c" {
                        // refused by Gitea's profile, in the words it always had
                        let want =
                            r#"config: poll.allowlist at line 2: "a/b/c" is not "owner/repo""#;
                        assert_eq!(e, want);
                    }
                }
            }
        }
    }

    #[test]
    fn priority_takes_the_highest_label() {
        let c = parse("").unwrap();
        assert_eq!(c.priority_of(["priority/low", "priority/high"]), 3);
        assert_eq!(c.priority_of(["bug"]), 0);
    }
}
