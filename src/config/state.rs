//! Where afk keeps its state (the state file and the folders and files
//! beside it) and the files it rewrites after every tick: top-level keys.

use anyhow::Result;
use std::path::{Path, PathBuf};

use super::values::absolute;
use super::{Config, cfg_err};

/// Where one invocation keeps its state, resolved once from `--state` and
/// the config ([`Config::paths`]). Every path is absolute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatePaths {
    /// The state file: `--state` (relative to the current directory), else
    /// `state_path`, else `$XDG_STATE_HOME/afk/afk.db`.
    pub file: PathBuf,
    /// The directory holding the state file.
    pub dir: PathBuf,
    /// `stop_file`, else "STOP" beside the state file.
    pub stop: PathBuf,
    /// One folder per run: `runs_dir`, else "runs" beside the state file.
    pub runs: PathBuf,
    /// Where recipe clones live: `upgrade.work_dir`, else "recipes" beside
    /// the state file.
    pub recipes: PathBuf,
    /// The workspace's cached repositories
    /// (docs/how-it-works.md#the-workspace): `runner.git_cache`, else "git"
    /// beside the state file.
    pub git_cache: PathBuf,
}

impl Config {
    /// Every state path, `state_flag` (`--state`) resolved once: a path the
    /// config sets, else its name beside the state file.
    pub fn paths(&self, state_flag: Option<&Path>) -> StatePaths {
        let file = self.state_file(state_flag);
        let dir = match file.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => absolute(Path::new(".")),
        };
        let beside =
            |set: &Option<PathBuf>, name: &str| set.clone().unwrap_or_else(|| dir.join(name));
        StatePaths {
            stop: beside(&self.stop_file, "STOP"),
            runs: beside(&self.runs_dir, "runs"),
            recipes: beside(&self.upgrade.work_dir, "recipes"),
            git_cache: beside(&self.runner.git_cache, "git"),
            file,
            dir,
        }
    }

    /// The state file (see [`StatePaths::file`]).
    fn state_file(&self, flag: Option<&Path>) -> PathBuf {
        if let Some(p) = flag {
            return absolute(p);
        }
        if let Some(p) = &self.state_path {
            return p.clone();
        }
        let base = std::env::var_os("XDG_STATE_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
            .unwrap_or_else(|| PathBuf::from("."));
        absolute(&base.join("afk").join("afk.db"))
    }

    /// The Prometheus textfile to rewrite after every tick, if configured.
    pub fn metrics_file(&self) -> Option<&Path> {
        self.metrics_file.as_deref()
    }

    /// The status page to rewrite after every tick, if configured.
    pub fn status_page(&self) -> Option<&Path> {
        self.status_page.as_deref()
    }

    /// The issue whose body afk keeps as the status page's Markdown twin.
    pub fn status_issue(&self) -> Option<&crate::core::status::issue::IssueRef> {
        self.status_issue.as_ref()
    }

    /// Relative paths made absolute against the config file's directory.
    pub(super) fn resolve_paths(&mut self) {
        let base = self.base_dir.clone();
        let resolve = |p: &mut Option<PathBuf>| {
            if let Some(p) = p.as_mut().filter(|p| !p.is_absolute()) {
                *p = absolute(&base.join(&*p));
            }
        };
        resolve(&mut self.state_path);
        resolve(&mut self.runs_dir);
        resolve(&mut self.stop_file);
        resolve(&mut self.metrics_file);
        resolve(&mut self.status_page);
        resolve(&mut self.forge.token_file);
        resolve(&mut self.forge.entra_token_file);
        if let Some(t) = self.tracker.as_mut() {
            resolve(&mut t.token_file);
            resolve(&mut t.client_id_file);
            resolve(&mut t.client_secret_file);
            resolve(&mut t.hook_secret_file);
        }
        resolve(&mut self.hook.secret_file);
        resolve(&mut self.telemetry_keys.headers_file);
        resolve(&mut self.forge.app_private_key_file);
        resolve(&mut self.upgrade.work_dir);
        resolve(&mut self.runner.git_cache);
        resolve(&mut self.runner.kubernetes.token_file);
        resolve(&mut self.runner.kubernetes.ca_file);
        let b = &mut self.runner.boxed;
        for p in b.read_only.iter_mut().chain(b.read_write.iter_mut()) {
            if !p.is_absolute() {
                *p = absolute(&base.join(&*p));
            }
        }
    }

    /// The status page must be a file of its own.
    pub(super) fn validate_files(&self) -> Result<()> {
        if let Some(page) = &self.status_page
            && (Some(page) == self.metrics_file.as_ref() || Some(page) == self.state_path.as_ref())
        {
            return Err(cfg_err(format!(
                "config: status_page {} is also the state file or metrics_file; give the page a file of its own",
                page.display()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{BASE, parse};

    #[test]
    fn relative_paths_are_relative_to_the_config_file() {
        let c = parse(
            "state_path = \"data/afk.db\"\nmetrics_file = \"m/afk.prom\"\n\
             [forge]\ntoken_file = \"token\"\n[upgrade]\nwork_dir = \"clones\"\n",
        )
        .unwrap();
        let base = PathBuf::from(BASE);
        assert_eq!(c.paths(None).file, base.join("data/afk.db"));
        assert_eq!(c.paths(None).stop, base.join("data/STOP"));
        assert_eq!(c.paths(None).runs, base.join("data/runs"));
        assert_eq!(c.metrics_file(), Some(base.join("m/afk.prom").as_path()));
        assert_eq!(c.forge.token_file, Some(base.join("token")));
        assert_eq!(c.paths(None).recipes, base.join("clones"));
        let e = parse("status_page = \"m.prom\"\nmetrics_file = \"m.prom\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("give the page a file of its own"), "{e}");
        let c = parse("status_page = \"www/index.html\"\n").unwrap();
        assert_eq!(c.status_page(), Some(base.join("www/index.html").as_path()));
        assert_eq!(parse("status_page = \"\"\n").unwrap().status_page(), None);
        let c = parse("runs_dir = \"r\"\nstop_file = \"/abs/STOP\"\n").unwrap();
        assert_eq!(c.paths(None).runs, base.join("r"));
        assert_eq!(c.paths(None).stop, PathBuf::from("/abs/STOP"));
    }

    #[test]
    fn empty_paths_mean_the_default() {
        let c = parse(
            "state_path = \"s/afk.db\"\nmetrics_file = \"\"\n[forge]\ntoken_file = \"\"\n[upgrade]\nwork_dir = \"\"\n",
        )
        .unwrap();
        assert_eq!(c.metrics_file(), None);
        assert_eq!(c.forge.token_file, None);
        assert_eq!(c.paths(None).recipes, PathBuf::from(BASE).join("s/recipes"));
    }

    #[test]
    fn every_path_accessor_is_absolute_even_for_a_relative_config_dir_or_flag() {
        let c = Config::parse("state_path = \"d/afk.db\"\n", Path::new("rel/dir")).unwrap();
        let flag = Path::new("elsewhere/afk.db");
        let cwd = std::env::current_dir().unwrap();
        assert!(c.base_dir.is_absolute());
        for flag in [None, Some(flag)] {
            for p in [
                c.paths(flag).file,
                c.paths(flag).dir,
                c.paths(flag).runs,
                c.paths(flag).stop,
                c.paths(flag).recipes,
            ] {
                assert!(p.is_absolute(), "flag {flag:?}: {}", p.display());
            }
        }
        assert_eq!(c.paths(Some(flag)).file, cwd.join("elsewhere/afk.db"));
        assert_eq!(c.paths(Some(flag)).runs, cwd.join("elsewhere/runs"));
        assert!(parse("").unwrap().paths(None).file.is_absolute());
    }

    #[test]
    fn the_config_dir_is_canonicalised() {
        let dir = std::env::temp_dir().join(format!("afk-config-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let c = Config::parse("state_path = \"afk.db\"\n", &dir.join("sub/..")).unwrap();
        let canon = std::fs::canonicalize(&dir).unwrap();
        assert_eq!(c.paths(None).file, canon.join("afk.db"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn state_paths_resolve_the_flag_once() {
        let c = parse("state_path = \"s/afk.db\"\nruns_dir = \"r\"\n").unwrap();
        let base = PathBuf::from(BASE);
        let p = c.paths(None);
        assert_eq!(p.file, base.join("s/afk.db"));
        assert_eq!(p.dir, base.join("s"));
        assert_eq!(p.runs, base.join("r"), "a runs_dir set wins");
        assert_eq!(p.stop, base.join("s/STOP"), "else beside the state file");
        assert_eq!(p.recipes, base.join("s/recipes"));
        let flag = Path::new("/elsewhere/x.db");
        let p = c.paths(Some(flag));
        assert_eq!(p.file, flag, "--state wins over state_path");
        assert_eq!(p.stop, Path::new("/elsewhere/STOP"));
        assert_eq!(p.runs, base.join("r"));
        assert_eq!(p.recipes, Path::new("/elsewhere/recipes"));
    }
}
