//! `[gate]`: the change gate (docs/security.md#the-change-gate), the
//! operator's policy for what afk forwards of an agent's work.

use anyhow::Result;
use serde::{Deserialize, Deserializer};

use super::Config;
use super::check::Checker;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Gate {
    /// More path globs the agent may not touch, added to the built-in set.
    pub protected: Vec<String>,
    /// Path globs that lift protection.
    pub allow: Vec<String>,
    /// Paths the run's change may touch, all its turns together (0: no limit).
    pub max_files: u64,
    /// The run's patch's size (0: no limit).
    #[serde(deserialize_with = "de_size")]
    pub max_bytes: u64,
    /// Open the run's PR as a draft.
    pub draft: bool,
    /// A folder of OSV advisory records; "": no advisory check.
    pub advisories: String,
    /// "registry": a dependency a manifest takes from a git URL, an
    /// archive, a path outside the repository or a replacement refuses the
    /// turn; "any": it passes (and is listed).
    pub dependency_sources: DependencySources,
}

/// `gate.dependency_sources`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum DependencySources {
    #[default]
    Registry,
    Any,
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            protected: vec![],
            allow: vec![],
            max_files: 100,
            max_bytes: 1 << 20,
            draft: false,
            advisories: String::new(),
            dependency_sources: DependencySources::Registry,
        }
    }
}

fn de_size<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let s = String::deserialize(d)?;
    if s.trim() == "0" {
        return Ok(0);
    }
    crate::core::bounds::parse_size(&s, "\"1MiB\", \"512KiB\", \"0\"")
        .map_err(serde::de::Error::custom)
}

impl Gate {
    /// The policy in force (the built-in protected set always).
    pub fn policy(&self) -> crate::core::gate::Policy {
        let mut p = crate::core::gate::Policy::of(
            &self.protected,
            &self.allow,
            self.max_files,
            self.max_bytes,
        )
        .unwrap_or_else(|_| {
            crate::core::gate::Policy::of(&[], &[], self.max_files, self.max_bytes)
                .expect("the built-in set parses")
        });
        p.any_source = self.dependency_sources == DependencySources::Any;
        p
    }
}

impl Config {
    /// The change gate's policy in force: `[gate]`'s, and where the forge's
    /// commits resolve work items (Azure DevOps) the words with which a
    /// commit's message does so (`Profile::commits_resolve`).
    pub fn gate_policy(&self) -> crate::core::gate::Policy {
        let profile = self.profile();
        let words: &[&str] = if profile.commits_resolve {
            profile.closing_words
        } else {
            &[]
        };
        let policy = self.gate.policy().with_resolving(words);
        match &self.tracker {
            Some(t) => {
                let keys: Vec<String> = (t.map.iter())
                    .map(|e| match t.linear() {
                        true => e.team.clone(),
                        false => e.project.clone(),
                    })
                    .collect();
                policy.with_tracker(&t.kind, &keys)
            }
            None => policy,
        }
    }

    /// `gate.advisories` as a folder (a relative one from the config's
    /// folder); None when it is empty.
    pub fn advisories_dir(&self) -> Option<std::path::PathBuf> {
        let a = self.gate.advisories.trim();
        (!a.is_empty()).then(|| self.base_dir.join(a))
    }

    /// `[gate]`: every glob well formed; a table where afk forwards nothing
    /// (`workspace = "agent"`), an advisories folder that cannot be read or
    /// that the runner cannot use is a configuration error, never a silent
    /// pass (its records are read by the ticks that forward, `advisories`).
    pub(super) fn validate_gate(&self, c: &Checker, table: &toml::Table) -> Result<()> {
        let g = &self.gate;
        if let Err((key, why)) = crate::core::gate::Policy::check(&g.protected, &g.allow) {
            return Err(c.err("gate", &key, why));
        }
        if table.contains_key("gate") && self.runner.workspace() != crate::types::Workspace::Afk {
            return Err(c.err(
                "gate",
                "protected",
                "the change gate judges what afk forwards: with runner.workspace = \"agent\" afk pushes nothing, so [gate] has nothing to act on; remove it",
            ));
        }
        if let Some(dir) = self.advisories_dir() {
            if self.runner.kind == crate::config::RunnerKind::Kubernetes {
                return Err(c.err(
                    "gate",
                    "advisories",
                    "the Kubernetes runner's forwarding container cannot read an advisories folder yet (protected paths, the limits and the dependency list are in force there): leave advisories empty rather than trust a check that does not run",
                ));
            }
            if !std::fs::metadata(&dir).is_ok_and(|m| m.is_dir())
                || std::fs::read_dir(&dir).is_err()
            {
                return Err(c.err(
                    "gate",
                    "advisories",
                    format!(
                        "{} is not a readable folder (a folder of OSV records, docs/security.md#advisories)",
                        dir.display()
                    ),
                ));
            }
        }
        Ok(())
    }
}
