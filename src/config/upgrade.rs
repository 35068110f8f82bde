//! `[upgrade]`: the recipe upgrades afk proposes and tests.

use anyhow::Result;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::RepoName;
use super::check::Checker;
use super::values::{DAY, MINUTE, de_duration, de_path, de_repo, is_http_url};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Upgrade {
    pub recipes: Vec<String>,
    pub upstream: String,
    pub mirror: String,
    /// Absolute once loaded; `None`: "recipes" beside the state file
    /// (see [`super::Config::upgrade_work_dir`]).
    #[serde(deserialize_with = "de_path")]
    pub work_dir: Option<PathBuf>,
    pub testme_comment: String,
    pub ci_context: String,
    pub max_test_runs: u32,
    pub allow_major: bool,
    pub max_open_prs: u32,
    /// The variable holding `user:token`; set exactly when `registry_auth_host` is.
    pub registry_auth_env: String,
    /// The one registry host (`host[:port]`) the secret of `registry_auth_env`
    /// is sent to (see `core::registry_auth`).
    pub registry_auth_host: String,
    /// What `registry_auth_env` holds (`user:token`), read once at load
    /// (`Config::read_secrets`): a secret, reached only through [`Secret`];
    /// None when it is not named, unset or blank.
    #[serde(skip)]
    pub registry_auth: Option<crate::redact::Secret>,
    /// Tags read per image at most; more skips the recipe.
    pub max_tags: usize,
    pub template: String,
    /// Registry host -> http(s) base URL to ask instead.
    pub registry_mirrors: BTreeMap<String, String>,
    /// How often the registries are asked for new tags (`scan_every`,
    /// docs/configuration.md).
    #[serde(deserialize_with = "de_duration")]
    pub scan_every: Duration,
    /// A test run with no verdict this long after its test comment ends STUCK.
    #[serde(deserialize_with = "de_duration")]
    pub verdict_timeout: Duration,
    /// At most one PR across all recipes with a test run or fixer in flight.
    pub serial_tests: bool,
    /// `owner/repo` of the recipe test suite, for `--with-tests`
    /// (docs/configuration.md); `""` is `None`.
    #[serde(deserialize_with = "de_repo")]
    pub tests_repo: Option<RepoName>,
    /// One PR per recipe (the default) or per image (`group_by`,
    /// docs/configuration.md).
    pub group_by: GroupBy,
    /// A tag whose image was created more recently than this is not a
    /// candidate yet; zero: off (docs/configuration.md).
    #[serde(deserialize_with = "de_duration")]
    pub min_release_age: Duration,
    /// How often an upgrade tick is expected: overdue after twice this
    /// (docs/reports.md#afk-status).
    #[serde(deserialize_with = "de_duration")]
    pub expect_every: Duration,
}

/// `upgrade.group_by`: what one upgrade PR carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    /// every bump a scan found for a recipe, one version-label bump
    #[default]
    Recipe,
    /// one image's bump
    Image,
}

impl Default for Upgrade {
    fn default() -> Self {
        Upgrade {
            recipes: vec![],
            upstream: "https://git.coopcloud.tech/coop-cloud/{recipe}.git".into(),
            mirror: "recipe-maintainers/{recipe}".into(),
            work_dir: None,
            testme_comment: "!testme".into(),
            ci_context: "cc-ci/testme".into(),
            max_test_runs: 3,
            allow_major: false,
            max_open_prs: 10,
            registry_auth_env: String::new(),
            registry_auth: None,
            registry_auth_host: String::new(),
            max_tags: 10_000,
            template: "upgrader".into(),
            registry_mirrors: BTreeMap::new(),
            scan_every: Duration::from_secs(7 * 86400),
            verdict_timeout: Duration::from_secs(24 * 3600),
            serial_tests: true,
            tests_repo: None,
            group_by: GroupBy::Recipe,
            min_release_age: Duration::ZERO,
            expect_every: Duration::from_secs(15 * 60),
        }
    }
}

/// The largest `upgrade.max_tags`: a tag list is held in memory (at most
/// 128 bytes a tag are kept), so the bound itself is bounded.
const MAX_TAGS: usize = 100_000;

impl Upgrade {
    pub(super) fn validate(&self, c: &Checker) -> Result<()> {
        let secs = Duration::from_secs;
        let u = self;
        c.number(
            "upgrade",
            "max_test_runs",
            u.max_test_runs,
            |v| v >= 1,
            "at least 1",
        )?;
        c.number(
            "upgrade",
            "max_tags",
            u.max_tags,
            |v| (1..=MAX_TAGS).contains(&v),
            &format!("between 1 and {MAX_TAGS}"),
        )?;
        self.validate_registry_auth(c)?;
        if u.testme_comment.trim().is_empty() {
            return Err(c.err(
                "upgrade",
                "testme_comment",
                "must not be empty (the comment that asks CI to test a PR)",
            ));
        }
        c.duration(
            "upgrade",
            "scan_every",
            u.scan_every,
            Duration::ZERO,
            secs(365 * DAY),
        )?;
        c.duration(
            "upgrade",
            "min_release_age",
            u.min_release_age,
            Duration::ZERO,
            secs(365 * DAY),
        )?;
        c.duration(
            "upgrade",
            "verdict_timeout",
            u.verdict_timeout,
            secs(MINUTE),
            secs(365 * DAY),
        )?;
        self.validate_mirrors(c)?;
        Ok(())
    }

    /// The registry secret comes with its one host, a registry host.
    fn validate_registry_auth(&self, c: &Checker) -> Result<()> {
        let u = self;
        match (u.registry_auth_env.is_empty(), u.registry_auth_host.trim()) {
            (false, "") => {
                return Err(c.err(
                    "upgrade",
                    "registry_auth_env",
                    "needs upgrade.registry_auth_host: the one registry host this secret is sent to",
                ));
            }
            (true, h) if !h.is_empty() => {
                return Err(c.err(
                    "upgrade",
                    "registry_auth_host",
                    "needs upgrade.registry_auth_env: the variable holding that host's user:token",
                ));
            }
            (_, h) if !h.is_empty() && !crate::core::registry_auth::is_registry_host(h) => {
                return Err(c.err(
                    "upgrade",
                    "registry_auth_host",
                    format!(
                        "\"{h}\" is not a registry host: write host or host:port, as in an image name (\"registry.example.org\"), without a scheme or path"
                    ),
                ));
            }
            _ => {}
        }
        Ok(())
    }

    /// Each mirror: a registry host asked at an http(s) URL instead.
    fn validate_mirrors(&self, c: &Checker) -> Result<()> {
        for (host, url) in &self.registry_mirrors {
            let table = "upgrade.registry_mirrors";
            if host.is_empty() || host.contains(['/', ' ']) {
                return Err(c.err(table, host, format!("\"{host}\" is not a registry host")));
            }
            if !is_http_url(url) {
                return Err(c.err(table, host, format!("\"{url}\" is not an http(s) URL")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::tests::{assert_loads_or_names, err, parse};

    #[test]
    fn registry_mirrors_must_be_http_urls() {
        let cases = [
            ("\"docker.io\" = \"https://mirror.example.org\"", None),
            ("\"ghcr.io\" = \"http://10.0.0.1:5000/v2\"", None),
            (
                "\"docker.io\" = \"mirror.example.org\"",
                Some("config: upgrade.registry_mirrors.docker.io at line 2: "),
            ),
            (
                "\"docker.io\" = \"ftp://mirror\"",
                Some("config: upgrade.registry_mirrors.docker.io at line 2: "),
            ),
            (
                "\"docker.io\" = \"https://\"",
                Some("config: upgrade.registry_mirrors.docker.io at line 2: "),
            ),
            (
                "\"docker.io\" = \"https://a b\"",
                Some("config: upgrade.registry_mirrors.docker.io at line 2: "),
            ),
            (
                "\"a/b\" = \"https://m\"",
                Some("config: upgrade.registry_mirrors.a/b at line 2: "),
            ),
            (
                "\"docker.io\" = 3",
                Some("config: upgrade.registry_mirrors.docker.io at line 2: "),
            ),
        ];
        for (entry, want) in cases {
            let text = format!("[upgrade.registry_mirrors]\n{entry}\n");
            match (parse(&text), want) {
                (Ok(c), None) => assert_eq!(c.upgrade.registry_mirrors.len(), 1, "case {entry:?}"),
                (Err(e), Some(w)) => {
                    let e = e.to_string();
                    assert!(e.starts_with(w), "case {entry:?}: {e}");
                }
                (got, want) => panic!("case {entry:?}: got {:?}, want {want:?}", got.err()),
            }
        }
    }

    #[test]
    fn the_tests_repo_is_parsed_once_at_load_naming_key_and_line() {
        let cases = [
            ("", None, None),
            ("tests_repo = \"\"\n", None, None),
            ("tests_repo = \"maint/tests\"\n", Some("maint/tests"), None),
            (
                "\ntests_repo = \"x/..\"\n",
                None,
                Some("config: upgrade.tests_repo at line 3: \"x/..\" is not owner/repo"),
            ),
            (
                "tests_repo = \"noslash\"\n",
                None,
                Some("config: upgrade.tests_repo at line 2: \"noslash\" is not owner/repo"),
            ),
        ];
        for (entry, repo, want) in cases {
            let text = format!("[upgrade]\n{entry}");
            match (parse(&text), want) {
                (Ok(c), None) => {
                    assert_eq!(c.upgrade.tests_repo.as_deref(), repo, "case {entry:?}")
                }
                (Err(e), Some(w)) => assert_eq!(e.to_string(), w, "case {entry:?}"),
                (got, want) => panic!("case {entry:?}: got {:?}, want {want:?}", got.err()),
            }
        }
    }

    #[test]
    fn the_registry_secret_comes_with_its_one_host_and_tags_are_bounded() {
        let cases = [
            ("[upgrade]\n", None),
            (
                "[upgrade]\nregistry_auth_env = \"REG\"\nregistry_auth_host = \"registry.example.org\"\n",
                None,
            ),
            (
                "[upgrade]\nregistry_auth_env = \"REG\"\nregistry_auth_host = \"localhost:5000\"\n",
                None,
            ),
            (
                "[upgrade]\nregistry_auth_env = \"REG\"\n",
                Some("upgrade.registry_auth_env at line 2"),
            ),
            (
                "[upgrade]\nregistry_auth_env = \"REG\"\nregistry_auth_host = \" \"\n",
                Some("upgrade.registry_auth_env at line 2"),
            ),
            (
                "[upgrade]\nregistry_auth_host = \"registry.example.org\"\n",
                Some("upgrade.registry_auth_host at line 2"),
            ),
            (
                "[upgrade]\nregistry_auth_env = \"REG\"\nregistry_auth_host = \"https://registry.example.org\"\n",
                Some("upgrade.registry_auth_host at line 3"),
            ),
            (
                "[upgrade]\nregistry_auth_env = \"REG\"\nregistry_auth_host = \"registry.example.org/v2\"\n",
                Some("upgrade.registry_auth_host at line 3"),
            ),
            ("[upgrade]\nmax_tags = 1\n", None),
            ("[upgrade]\nmax_tags = 100000\n", None),
            (
                "[upgrade]\nmax_tags = 0\n",
                Some("upgrade.max_tags at line 2"),
            ),
            (
                "[upgrade]\nmax_tags = 100001\n",
                Some("upgrade.max_tags at line 2"),
            ),
            (
                "[upgrade]\nmax_tags = -1\n",
                Some("upgrade.max_tags at line 2"),
            ),
        ];
        assert_loads_or_names(&cases);
        let d = parse("").unwrap().upgrade;
        assert_eq!((d.max_tags, d.registry_auth_host.as_str()), (10_000, ""));
        let e = err("[upgrade]\nregistry_auth_hots = \"x\"\n");
        assert!(e.contains("did you mean \"registry_auth_host\""), "{e}");
    }
}
