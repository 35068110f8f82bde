//! The workspace as an edge of a tick (docs/how-it-works.md#the-workspace): the
//! real one over `afk_git::workspace` (the cache, the checkout, forwarding with
//! afk's credential), or a dry run's, which makes nothing and records what it
//! would have done. Poll makes the checkout before a run's first turn; watch
//! forwards each ended turn, opens afk's own PR and re-makes the checkout
//! before a corrective turn; a run's end removes it.

use crate::config::Config;
use crate::core::kube::workspace::GitAuth;
use crate::forge::Forge;
use crate::types::{IssueNumber, RepoName, RunId};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

pub use afk_git::workspace::{BranchSummary, Forwarded, Made};

/// Which run's checkout.
#[derive(Debug, Clone, Copy)]
pub struct At<'a> {
    pub repo: &'a RepoName,
    pub issue: IssueNumber,
    pub run_id: RunId,
    pub run_dir: &'a Path,
    pub branch: &'a str,
}

/// What a tick does with the agents' checkouts.
pub trait Checkouts: Send + Sync {
    /// A fresh checkout of the run's branch in its workdir.
    fn make(&self, forge: &dyn Forge, at: &At) -> Result<Made>;
    /// Turn `turn`'s work pushed to the forge (idempotent).
    fn forward(&self, forge: &dyn Forge, at: &At, turn: u32) -> Result<Forwarded>;
    /// The run is over: its checkout and records go.
    fn remove(&self, at: &At) -> Result<()>;
    /// What the run's branch at `sha` holds over its base, from afk's cache
    /// (at most `shown` commits listed); None where the tick cannot know.
    fn summary(&self, at: &At, sha: &str, shown: usize) -> Option<BranchSummary> {
        let _ = (at, sha, shown);
        None
    }
    /// What the tick should say once (a cache made again).
    fn notes(&self) -> Vec<String> {
        vec![]
    }
    /// Whether afk does the git around a turn (its checkout, its push, the
    /// run's PR opened by afk's account): every workspace but the agent's
    /// own. Ticks ask this, never the config's workspace mode.
    fn afks(&self) -> bool {
        true
    }
}

/// What a run's turn is told of who does the git around it:
/// `AFK_WORKSPACE=afk` (afk's checkout; afk pushes and opens the PR; no forge
/// credential) or `agent` (its own). contrib/agent-image's entrypoint reads it.
pub fn turn_env(cfg: &Config) -> [(&'static str, &'static str); 1] {
    [("AFK_WORKSPACE", cfg.runner.workspace().as_str())]
}

/// The run's checkout folder: `runner.workdir` with its placeholders.
pub fn workdir_of(cfg: &Config, at: &At) -> PathBuf {
    let prompt = at.run_dir.join("prompt-1.md");
    let values = crate::core::placeholders::Values {
        run_dir: at.run_dir,
        repo: at.repo.as_str(),
        issue: at.issue,
        branch: at.branch,
        prompt_file: &prompt,
    };
    PathBuf::from(crate::core::placeholders::substitute(
        &cfg.runner.workdir,
        &values,
    ))
}

/// afk's checkout of a run on this machine, while it is still there: none
/// when afk makes no checkouts (`workspace = "agent"`), so a command asks
/// this, never the workspace mode (`afk runs show`).
pub fn checkout_left(cfg: &Config, at: &At) -> Option<PathBuf> {
    if cfg.runner.workspace() != crate::types::Workspace::Afk {
        return None;
    }
    let w = workdir_of(cfg, at);
    w.join(".git").exists().then_some(w)
}

/// The repository's git URL on the forge (`Config::git_url`).
pub fn git_url(cfg: &Config, repo: &RepoName) -> Result<String> {
    cfg.git_url(repo.as_str())
        .ok_or_else(|| anyhow::anyhow!("workspace: forge.url is needed to fetch and push {repo}"))
}

/// The `Authorization` header git sends for `token` under `auth`: a PAT as
/// `Basic` of `:` and the token, an Entra token as `Bearer`; None for
/// askpass. The Basic credential's encoded form is held too: a git error
/// that echoed the header would show it, never the token.
pub fn auth_header(auth: GitAuth, token: &str) -> Option<String> {
    match auth {
        GitAuth::Login => None,
        GitAuth::Basic => {
            let basic = crate::redact::Secret::new(crate::forge::profile::basic_credential(token));
            Some(format!("Authorization: Basic {}", basic.expose()))
        }
        GitAuth::Bearer => Some(format!("Authorization: Bearer {token}")),
    }
}

/// On Azure DevOps, git's credential as a header (`Config::git_auth`),
/// handed to each git call as `http.<url>.extraHeader` in its environment.
/// None on every other kind (askpass).
pub fn git_header(cfg: &Config) -> Result<Option<afk_git::Credentials>> {
    if cfg.git_auth() == GitAuth::Login {
        return Ok(None);
    }
    let (token, auth) = match cfg.entra_token()? {
        Some(t) => (t, GitAuth::Bearer),
        None => (cfg.forge_token()?, GitAuth::Basic),
    };
    Ok(
        auth_header(auth, token.expose()).map(|header| afk_git::Credentials {
            username: String::new(),
            password: token.expose().to_string(),
            header: Some(header),
        }),
    )
}

/// The real workspace, under `runner.git_cache`.
pub struct Real {
    cfg: Config,
    root: PathBuf,
    /// the state file's folder (the advisories' index beside it)
    state_dir: PathBuf,
    /// the tick kind: its private folder in the cache root
    scratch: &'static str,
    /// afk's git credential, asked for once a tick (afk's login is a request)
    creds: std::sync::OnceLock<std::result::Result<(String, String), crate::types::Invalid>>,
}

impl Real {
    pub fn new(cfg: &Config, (root, state_dir): (&Path, &Path), scratch: &'static str) -> Real {
        Real {
            cfg: cfg.clone(),
            root: root.to_path_buf(),
            state_dir: state_dir.to_path_buf(),
            scratch,
            creds: std::sync::OnceLock::new(),
        }
    }

    /// afk's credential for git: a GitHub App's installation token as
    /// `x-access-token`, else afk's login and the configured token; on Azure
    /// DevOps a header (`git_header`).
    fn open(&self, forge: &dyn Forge) -> Result<afk_git::workspace::Workspace> {
        if let Some(creds) = git_header(&self.cfg)? {
            return Ok(self.with_creds(creds));
        }
        let pair = self.creds.get_or_init(|| {
            let pair = match forge.git_credentials() {
                Some(pair) => pair,
                None => forge
                    .me()
                    .and_then(|me| Ok((me.login, self.cfg.forge_token()?.expose().to_string()))),
            };
            pair.map_err(|e| crate::types::Invalid::from(format!("{e:#}")))
        });
        let (username, password) = pair.clone().map_err(|e| anyhow::anyhow!(e))?;
        Ok(self.with_creds(afk_git::Credentials {
            username,
            password,
            header: None,
        }))
    }

    fn with_creds(&self, creds: afk_git::Credentials) -> afk_git::workspace::Workspace {
        afk_git::workspace::Workspace::new(&self.root, self.scratch, Some(creds))
            .with_author(self.cfg.runner.git_author())
            .with_leftover_ignore(self.cfg.runner.leftover_ignore.clone())
            .with_gate(self.cfg.gate_policy())
            .with_secrets(crate::redact::held())
            .with_tick_end(crate::process::tick_end())
    }

    fn place<'a>(
        &self,
        at: &'a At,
        url: &'a str,
        workdir: &'a Path,
        run: &'a str,
    ) -> afk_git::workspace::Place<'a> {
        afk_git::workspace::Place {
            repo: at.repo.as_str(),
            url,
            branch: at.branch,
            run,
            run_dir: at.run_dir,
            workdir,
        }
    }
}

impl Checkouts for Real {
    fn make(&self, forge: &dyn Forge, at: &At) -> Result<Made> {
        let ws = self.open(forge)?;
        let (url, workdir, run) = (
            self.remote(forge, at.repo)?,
            workdir_of(&self.cfg, at),
            at.run_id.to_string(),
        );
        crate::private_files::private_dir(at.run_dir)
            .with_context(|| format!("workspace: cannot create {}", at.run_dir.display()))?;
        let made = ws.make(&self.place(at, &url, &workdir, &run));
        self.say(&ws);
        made.with_context(|| format!("{}: the checkout of {}", at.repo, at.branch))
    }

    fn forward(&self, forge: &dyn Forge, at: &At, turn: u32) -> Result<Forwarded> {
        // the gate's advisories: read when the turn moves a dependency; a
        // folder that does not read forwards nothing (exit 2)
        let advisories = crate::advisories::in_force(&self.cfg, &self.state_dir);
        let ws = self
            .open(forge)?
            .with_gate(self.cfg.gate_policy().with_advisories(advisories));
        let (url, workdir, run) = (
            self.remote(forge, at.repo)?,
            workdir_of(&self.cfg, at),
            at.run_id.to_string(),
        );
        let done = ws.forward(&self.place(at, &url, &workdir, &run), turn);
        self.say(&ws);
        done.map_err(|e| crate::advisories::unread(&self.cfg, e))
            .with_context(|| format!("{}: forwarding turn {turn} of {}", at.repo, at.branch))
    }

    fn summary(&self, at: &At, sha: &str, shown: usize) -> Option<BranchSummary> {
        // the gate's advisories name what lists the new dependency versions
        // (a folder that does not read lists them without)
        let advisories = crate::advisories::in_force(&self.cfg, &self.state_dir);
        let ws = afk_git::workspace::Workspace::new(&self.root, self.scratch, None)
            .with_gate(self.cfg.gate_policy().with_advisories(advisories));
        let (workdir, run) = (workdir_of(&self.cfg, at), at.run_id.to_string());
        let url = String::new();
        ws.summary(&self.place(at, &url, &workdir, &run), sha, shown)
    }

    fn remove(&self, at: &At) -> Result<()> {
        let ws = afk_git::workspace::Workspace::new(&self.root, self.scratch, None);
        let (workdir, run) = (workdir_of(&self.cfg, at), at.run_id.to_string());
        let url = String::new();
        ws.remove(&self.place(at, &url, &workdir, &run))
    }
}

impl Real {
    /// `repo`'s default branch fetched into afk's cache with afk's
    /// credential: harvest's one fetch per repository and tick, for line
    /// survival and the leaderboard figures.
    pub fn fetch_tip(&self, forge: &dyn Forge, repo: &RepoName) -> Result<()> {
        let ws = self.open(forge)?;
        let url = self.remote(forge, repo)?;
        let fetched = ws.fetch_tip(repo.as_str(), &url);
        self.say(&ws);
        fetched.with_context(|| format!("{repo}: harvest"))
    }

    /// Line survival of each due run, `repo` fetched by [`Real::fetch_tip`].
    pub fn survival_fetched(
        &self,
        forge: &dyn Forge,
        repo: &RepoName,
        due: &[afk_git::workspace::SurvivalDue],
    ) -> Result<Vec<Result<crate::core::survival::Survived>>> {
        let ws = self.open(forge)?;
        let counted = ws.survival_fetched(repo.as_str(), due);
        self.say(&ws);
        counted.with_context(|| format!("{repo}: line survival"))
    }

    /// The leaderboard figures of each due run, `repo` fetched by
    /// [`Real::fetch_tip`].
    pub fn figures(
        &self,
        forge: &dyn Forge,
        repo: &RepoName,
        due: &[afk_git::workspace::FiguresDue],
        afk_merges: &std::collections::HashSet<String>,
    ) -> Result<Vec<Result<afk_git::workspace::FiguresFound>>> {
        let ws = self.open(forge)?;
        let found = ws.figures(repo.as_str(), due, afk_merges);
        self.say(&ws);
        found.with_context(|| format!("{repo}: leaderboard figures"))
    }

    /// Harvest's revert proof on a forge whose diffs carry no text: `repo`'s
    /// `branch` fetched into afk's cache with afk's credential, once a tick.
    pub fn fetch_base(&self, forge: &dyn Forge, repo: &RepoName, branch: &str) -> Result<()> {
        let ws = self.open(forge)?;
        let url = self.remote(forge, repo)?;
        let fetched = ws.fetch_base(repo.as_str(), &url, branch);
        self.say(&ws);
        fetched.with_context(|| format!("{repo}: reverts"))
    }

    /// What `sha` changed against its first parent, read from afk's cache
    /// (its base branch fetched by [`Real::fetch_base`]) as the forges show
    /// a commit's files.
    pub fn commit_diff(
        &self,
        forge: &dyn Forge,
        repo: &RepoName,
        sha: &str,
    ) -> Result<Vec<crate::types::FileDiff>> {
        let ws = self.open(forge)?;
        let text = ws.commit_diff(repo.as_str(), sha);
        self.say(&ws);
        let text = text.with_context(|| format!("{repo}: reverts"))?;
        Ok(crate::core::undo::git_file_diffs(&text))
    }

    /// The URL git fetches `repo` from and pushes it to: by its name, so
    /// only while the forge says that name is still the repository afk
    /// first read (a renamed one's old name may be another's).
    fn remote(&self, forge: &dyn Forge, repo: &RepoName) -> Result<String> {
        forge.git_by_name(repo)?;
        git_url(&self.cfg, repo)
    }

    fn say(&self, ws: &afk_git::workspace::Workspace) {
        for n in ws.take_notes() {
            crate::log::warn(&n);
        }
    }
}

/// afk's workspace inside the turn's Kubernetes Job (docs/kubernetes.md): the
/// Job's git containers make the checkout and forward the branch, so the tick
/// makes and removes nothing; what the Job forwarded reaches watch from the
/// runner ([`crate::runner::Runner::forwarded`]), and watch opens the PR.
pub struct InJob;

impl Checkouts for InJob {
    fn make(&self, _: &dyn Forge, _: &At) -> Result<Made> {
        Ok(Made {
            base: String::new(),
            head: String::new(),
            existed: false,
        })
    }
    fn forward(&self, _: &dyn Forge, _: &At, _: u32) -> Result<Forwarded> {
        Ok(Forwarded::Nothing)
    }
    fn remove(&self, _: &At) -> Result<()> {
        Ok(())
    }
    /// The Job's forwarding container listed the run's dependency changes
    /// with its push (`run_files::job_deps`); its commits are the PR's own.
    fn summary(&self, at: &At, sha: &str, _: usize) -> Option<BranchSummary> {
        let deps = crate::run_files::job_deps(at.run_dir, sha);
        (!deps.is_empty()).then(|| BranchSummary {
            base: String::new(),
            commits: vec![],
            count: 0,
            shortstat: String::new(),
            afk_committed: vec![],
            afk_committed_total: 0,
            deps,
        })
    }
}

/// No workspace: `workspace = "agent"` (the agent does its own git).
pub struct Agents;

impl Checkouts for Agents {
    fn make(&self, _: &dyn Forge, _: &At) -> Result<Made> {
        anyhow::bail!("workspace = \"agent\": afk makes no checkout")
    }
    fn forward(&self, _: &dyn Forge, _: &At, _: u32) -> Result<Forwarded> {
        Ok(Forwarded::Nothing)
    }
    fn remove(&self, _: &At) -> Result<()> {
        Ok(())
    }
    fn afks(&self) -> bool {
        false
    }
}
