//! `[watch]`: what afk does with the PRs its runs open.

use anyhow::Result;
use serde::{Deserialize, Deserializer};
use std::time::Duration;

use super::ForgeKind;
use super::check::Checker;
use super::values::de_duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Watch {
    pub human_label: String,
    pub fix_forward_max: u32,
    pub ci_contexts: Vec<String>,
    pub deploy_context: String,
    pub checklist: bool,
    /// Corrective turns asked for by trusted reviewers or `fix` commands
    /// (docs/reviews.md).
    pub review_turns_max: u32,
    /// A trusted comment whose first line starts with it is a command; "" turns commands off.
    pub command_prefix: String,
    /// How afk asks the forge to bring a conflicting PR up to date; `None`: `off`.
    #[serde(deserialize_with = "de_update_branch")]
    pub update_branch: Option<crate::types::UpdateStyle>,
    /// Posted once per head on a first red CI before any corrective turn; "": none.
    pub retest_comment: String,
    /// How often a watch tick is expected: overdue after twice this
    /// (docs/reports.md#afk-status).
    #[serde(deserialize_with = "de_duration")]
    pub expect_every: Duration,
}
impl Default for Watch {
    fn default() -> Self {
        Watch {
            human_label: "ready-for-human".into(),
            fix_forward_max: 2,
            ci_contexts: vec![],
            deploy_context: String::new(),
            checklist: true,
            review_turns_max: 3,
            command_prefix: "/afk".into(),
            update_branch: Some(crate::types::UpdateStyle::Merge),
            retest_comment: String::new(),
            expect_every: Duration::from_secs(5 * 60),
        }
    }
}

/// `watch.update_branch`: `merge`, `rebase` or `off`.
fn de_update_branch<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<crate::types::UpdateStyle>, D::Error> {
    use crate::types::UpdateStyle;
    match String::deserialize(d)?.as_str() {
        "merge" => Ok(Some(UpdateStyle::Merge)),
        "rebase" => Ok(Some(UpdateStyle::Rebase)),
        "off" => Ok(None),
        other => Err(serde::de::Error::custom(format!(
            "unknown update_branch \"{other}\" (known: merge, rebase, off)"
        ))),
    }
}

impl Watch {
    /// `update_branch` not given: `rebase` on a kind that cannot merge the
    /// base in (GitLab's API only rebases), else the default `merge`.
    pub(super) fn default_update_for(
        &mut self,
        profile: &crate::forge::Profile,
        table: &toml::Table,
    ) {
        let given = table
            .get("watch")
            .and_then(|t| t.get("update_branch"))
            .is_some();
        if !given && !profile.merges_branches {
            self.update_branch = Some(crate::types::UpdateStyle::Rebase);
        }
    }

    /// `forge`: not every kind can rebase a PR's branch (GitHub cannot), nor
    /// merge its base in (GitLab cannot).
    pub(super) fn validate(&self, c: &Checker, forge: ForgeKind) -> Result<()> {
        let profile = crate::forge::profile::of(forge);
        if !profile.merges_branches && self.update_branch == Some(crate::types::UpdateStyle::Merge)
        {
            return Err(crate::hint::hinted(
                c.err(
                    "watch",
                    "update_branch",
                    format!(
                        "\"merge\" is not something {} can do (its API only rebases a merge request's branch)",
                        profile.name
                    ),
                ),
                "use \"rebase\" or \"off\"",
            ));
        }
        if !profile.rebases_branches
            && self.update_branch == Some(crate::types::UpdateStyle::Rebase)
        {
            return Err(crate::hint::hinted(
                c.err(
                    "watch",
                    "update_branch",
                    format!(
                        "\"rebase\" is not something {} can do (its branch update merges the base in)",
                        profile.name
                    ),
                ),
                "use \"merge\" or \"off\"",
            ));
        }
        c.number(
            "watch",
            "review_turns_max",
            self.review_turns_max,
            |v| v <= 100,
            "between 0 and 100",
        )?;
        if self.command_prefix.trim() != self.command_prefix
            || self.command_prefix.contains(char::is_whitespace)
        {
            return Err(c.err(
                "watch",
                "command_prefix",
                "must be one word without spaces (e.g. \"/afk\"), or \"\" to turn commands off",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::tests::{err, parse};

    #[test]
    fn watch_conversation_keys_load_and_rebase_is_gitea_only() {
        let c = parse("").unwrap();
        assert_eq!(c.watch.review_turns_max, 3);
        assert_eq!(c.watch.command_prefix, "/afk");
        assert_eq!(
            c.watch.update_branch,
            Some(crate::types::UpdateStyle::Merge)
        );
        assert_eq!(c.watch.retest_comment, "");
        let c = parse("[watch]\nreview_turns_max = 0\ncommand_prefix = \"\"\nupdate_branch = \"off\"\nretest_comment = \"/retest\"\n").unwrap();
        assert_eq!(c.watch.review_turns_max, 0);
        assert_eq!(c.watch.command_prefix, "");
        assert_eq!(c.watch.update_branch, None);
        assert_eq!(c.watch.retest_comment, "/retest");
        let c = parse("[watch]\nupdate_branch = \"rebase\"\n").unwrap();
        assert_eq!(
            c.watch.update_branch,
            Some(crate::types::UpdateStyle::Rebase)
        );
        // GitLab only rebases: its default, and "merge" refused naming the key
        let gitlab = crate::forge::profile::of(crate::forge::ForgeKind::Gitlab);
        let table = |t: &str| -> toml::Table { toml::from_str(t).unwrap() };
        let mut w = super::Watch::default();
        w.default_update_for(gitlab, &table(""));
        assert_eq!(w.update_branch, Some(crate::types::UpdateStyle::Rebase));
        let mut w = super::Watch {
            update_branch: None,
            ..Default::default()
        };
        w.default_update_for(gitlab, &table("[watch]\nupdate_branch = \"off\"\n"));
        assert_eq!(w.update_branch, None);
        let gl = "[forge]\nkind = \"gitlab\"\nurl = \"https://gitlab.example.org\"\n";
        // GitLab loads, and its branch update is the rebase
        let c = parse(gl).unwrap();
        assert_eq!(
            c.watch.update_branch,
            Some(crate::types::UpdateStyle::Rebase)
        );
        let e = err(&format!("{gl}[watch]\nupdate_branch = \"merge\"\n"));
        assert!(
            e.contains("watch.update_branch") && e.contains("GitLab") && e.contains("rebase"),
            "{e}"
        );
        let cases = [
            (
                "[forge]\nkind = \"github\"\n[watch]\nupdate_branch = \"rebase\"\n",
                "update_branch",
            ),
            ("[watch]\nupdate_branch = \"squash\"\n", "squash"),
            (
                "[watch]\ncommand_prefix = \"/afk please\"\n",
                "command_prefix",
            ),
            ("[watch]\nreview_turns_max = 1000\n", "review_turns_max"),
        ];
        for (text, says) in cases {
            let e = err(text);
            assert!(e.contains(says), "{text}: {e}");
        }
    }
}
