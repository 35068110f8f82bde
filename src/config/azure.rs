//! `[forge.azure_devops]` and the Azure DevOps rules of `[forge]`: the
//! work-item types afk dispatches, the state it closes them to, one area
//! path per allowlisted repository; the organization's URL, a PAT or an
//! Entra token (never both), and what this kind refuses. Every problem is a
//! config error (exit 2) naming its key and line.

use anyhow::Result;
use serde::Deserialize;
use std::collections::BTreeMap;

use super::Config;
use super::check::Checker;
use crate::core::azure::{area, org};

/// `[forge.azure_devops]`: only with `kind = "azure-devops"`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct AzureDevops {
    /// the types afk dispatches; anything else is never an issue
    pub work_item_types: Vec<String>,
    /// the state a work item moves to on success; "": the type's first
    /// state of category Completed
    pub close_state: String,
    /// `project/repository` → its area path (`Fabrikam\API`); one per
    /// allowlisted repository
    pub area_paths: BTreeMap<String, String>,
}

impl Default for AzureDevops {
    fn default() -> Self {
        AzureDevops {
            work_item_types: [
                "Issue",
                "User Story",
                "Product Backlog Item",
                "Requirement",
                "Bug",
            ]
            .map(String::from)
            .to_vec(),
            close_state: String::new(),
            area_paths: BTreeMap::new(),
        }
    }
}

const TABLE: &str = "forge.azure_devops";

impl Config {
    /// The Azure DevOps settings (their defaults when the table is absent).
    pub fn azure_devops(&self) -> AzureDevops {
        self.forge.azure_devops.clone().unwrap_or_default()
    }

    /// `vssps_url`, else the organization's identity service (on loopback,
    /// the sandbox's own address).
    pub fn vssps_url(&self) -> String {
        match self.forge.vssps_url.trim() {
            "" => org::default_vssps_url(&self.forge.url),
            set => set.trim_end_matches('/').to_string(),
        }
    }

    /// The `(project/repository, area path)` pairs of the allowlist.
    pub fn area_paths(&self) -> Vec<(String, String)> {
        self.azure_devops().area_paths.into_iter().collect()
    }

    /// What a forge may need of the config beside its client
    /// (`crate::forge::Setup`): Azure DevOps' identity service, types,
    /// close state and area paths; the defaults on another kind.
    pub fn forge_setup(&self) -> crate::forge::Setup {
        let ado = self.azure_devops();
        crate::forge::Setup {
            vssps_url: self.vssps_url(),
            work_item_types: ado.work_item_types,
            close_state: ado.close_state,
            area_paths: ado.area_paths.into_iter().collect(),
            trusted_users: self.poll.trusted_users.clone(),
            // the `entra_*` keys are refused on any other kind
            entra_expiry: self.entra_expiry(),
            // a tick's: the binary's edges hand in the state file's
            repo_ids: None,
            votes_seen: None,
            labels: self.labels().iter().map(|(l, _)| l.to_string()).collect(),
        }
    }

    /// The Azure DevOps config errors, each naming its key and line; nothing
    /// to check on another kind but that it names none of these keys.
    pub(super) fn validate_azure_devops(&self, c: &Checker, table: &toml::Table) -> Result<()> {
        let forge = table.get("forge").and_then(|t| t.as_table());
        let given = |k: &str| {
            forge
                .and_then(|t| t.get(k))
                .is_some_and(|v| v.as_str() != Some(""))
        };
        if !self
            .profile()
            .names
            .eq(&crate::types::NameShape::ProjectRepo)
        {
            if forge.is_some_and(|t| t.contains_key("azure_devops")) {
                return Err(c.err(
                    "forge",
                    "azure_devops",
                    "is only for forge.kind = \"azure-devops\"",
                ));
            }
            for k in ["vssps_url", "entra_token_file", "entra_token_env"] {
                if given(k) {
                    return Err(c.err("forge", k, "is only for forge.kind = \"azure-devops\""));
                }
            }
            return Ok(());
        }
        if let Some(why) = org::url_problem(&self.forge.url) {
            return Err(c.err("forge", "url", why));
        }
        if let Some(key) = (table.get("upgrade").and_then(|u| u.as_table()))
            .map(|u| u.keys().next().cloned().unwrap_or_else(|| "recipes".into()))
        {
            return Err(c.err(
                "upgrade",
                &key,
                "afk upgrade does not speak Azure DevOps (Gitea, GitHub and GitLab only): remove [upgrade]",
            ));
        }
        let entra = given("entra_token_file") || given("entra_token_env");
        for k in ["token_env", "token_file"] {
            if entra && given(k) {
                return Err(crate::hint::hinted(
                    c.err(
                        "forge",
                        k,
                        "cannot be set with forge.entra_token_*: one credential",
                    ),
                    "remove one",
                ));
            }
        }
        if !entra && self.forge.token_env.is_empty() && self.forge.token_file.is_none() {
            return Err(c.err(
                "forge",
                "token_env",
                "a PAT (token_env or token_file) or an Entra token (entra_token_file or entra_token_env) is needed",
            ));
        }
        if self.watch.update_branch == Some(crate::types::UpdateStyle::Rebase) {
            return Err(c.err(
                "watch",
                "update_branch",
                "Azure Repos cannot rebase a pull request's branch: use \"merge\" or \"off\"",
            ));
        }
        self.validate_azure_table(c)
    }

    /// `[forge.azure_devops]`: types, area paths, the status issue's name.
    fn validate_azure_table(&self, c: &Checker) -> Result<()> {
        let ado = self.azure_devops();
        if ado.work_item_types.iter().all(|t| t.trim().is_empty()) {
            return Err(c.err(TABLE, "work_item_types", "must name at least one type"));
        }
        let areas = &ado.area_paths;
        for repo in &self.poll.allowlist {
            if !areas.keys().any(|k| k.eq_ignore_ascii_case(repo)) {
                return Err(c.err(
                    TABLE,
                    "area_paths",
                    format!("\"{repo}\" is allowlisted and has no area path"),
                ));
            }
        }
        for (repo, path) in areas {
            if !self
                .poll
                .allowlist
                .iter()
                .any(|r| r.eq_ignore_ascii_case(repo))
            {
                return Err(c.err(
                    "forge.azure_devops.area_paths",
                    repo,
                    format!("\"{repo}\" is not in poll.allowlist"),
                ));
            }
            let project = repo.split_once('/').map_or("", |(p, _)| p);
            if path.trim().is_empty() || !area::project_of(path).eq_ignore_ascii_case(project) {
                return Err(c.err(
                    "forge.azure_devops.area_paths",
                    repo,
                    format!("\"{path}\" is not an area path of project \"{project}\""),
                ));
            }
        }
        if let Some((outer, inner)) = area::nested_pair(&self.area_paths()) {
            return Err(c.err(
                "forge.azure_devops.area_paths",
                &inner,
                format!("\"{inner}\"'s area is under \"{outer}\"'s: a work item there would belong to both"),
            ));
        }
        if let Some(issue) = &self.status_issue
            && let Err(e) = self.profile().repo_name(issue.repo.as_str())
        {
            return Err(c.err("", "status_issue", e));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::tests::parse;

    const TOKEN: &str = "token_env = \"AFK_FORGE_TOKEN\"\n";

    fn ado(forge: &str, rest: &str) -> String {
        format!(
            "[forge]\nkind = \"azure-devops\"\nurl = \"https://dev.azure.com/fabrikam\"\n{forge}\n\
             [forge.azure_devops.area_paths]\n\"Fabrikam/api\" = 'Fabrikam\\API'\n\"Fabrikam/web app\" = 'Fabrikam\\Web'\n\
             [poll]\nallowlist = [\"Fabrikam/api\", \"Fabrikam/web app\"]\n{rest}"
        )
    }

    /// (the config, the words its error holds; "" when it loads)
    #[test]
    fn azure_devops_config_errors_name_their_key() {
        let cases = [
            (ado(TOKEN, ""), ""),
            (
                ado(TOKEN, "").replace("https://dev.azure.com/fabrikam", "https://dev.azure.com/fabrikam/x"),
                "forge.url",
            ),
            (
                ado(TOKEN, "").replace("https://dev.azure.com/fabrikam", "http://ado.example.org/fabrikam"),
                "forge.url",
            ),
            (ado("token_env = \"X\"\nentra_token_env = \"Y\"\n", ""), "forge.token_env"),
            (ado("token_env = \"\"\n", ""), "forge.token_env"),
            (ado(TOKEN, "[watch]\nupdate_branch = \"rebase\"\n"), "watch.update_branch"),
            (
                ado(TOKEN, "").replace("[\"Fabrikam/api\", \"Fabrikam/web app\"]", "[\"Fabrikam/api\"]"),
                "is not in poll.allowlist",
            ),
            (
                ado(TOKEN, "").replace("'Fabrikam\\Web'", "'Fabrikam\\API\\Web'"),
                "is under",
            ),
            (
                ado(TOKEN, "").replace("'Fabrikam\\Web'", "'Other\\Web'"),
                "not an area path of project",
            ),
            (
                ado(TOKEN, "").replace("\"Fabrikam/web app\"]", "\"Fabrikam/a#b\"]"),
                "poll.allowlist",
            ),
            (
                "[forge]\nkind = \"gitea\"\nurl = \"https://git.example.org\"\n[forge.azure_devops]\nclose_state = \"Done\"\n".into(),
                "forge.azure_devops",
            ),
            (
                "[forge]\nkind = \"gitea\"\nurl = \"https://git.example.org\"\nvssps_url = \"https://x\"\n".into(),
                "forge.vssps_url",
            ),
        ];
        for (text, want) in cases {
            let e = parse(&text)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            if want.is_empty() {
                assert!(e.is_empty(), "{text}\nloads, but: {e}");
            } else {
                assert!(e.contains(want), "{text}\nwanted {want:?} in: {e}");
            }
        }
    }

    /// git gets a PAT as Basic of `:` and the token, an Entra token as
    /// Bearer, decided from the config alone (the Kubernetes runner tells
    /// its git containers so); any other kind's git gets afk's login
    /// through askpass.
    #[test]
    fn git_gets_the_credential_the_way_the_profile_and_its_kind_say() {
        use crate::core::kube::workspace::GitAuth;
        let cases = [
            (ado(TOKEN, ""), GitAuth::Basic),
            (
                ado("entra_token_env = \"AFK_ENTRA\"\n", ""),
                GitAuth::Bearer,
            ),
            (
                ado("entra_token_file = \"/run/afk/entra\"\n", ""),
                GitAuth::Bearer,
            ),
            (
                "[forge]\nkind = \"gitea\"\nurl = \"https://git.example.org\"\n".into(),
                GitAuth::Login,
            ),
        ];
        for (text, want) in cases {
            let c = parse(&text).unwrap_or_else(|e| panic!("{text}\n{e}"));
            assert_eq!(c.git_auth(), want, "{text}");
        }
    }
}
