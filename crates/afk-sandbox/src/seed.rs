//! What tests load into the forge (`sandbox --seed`, `/_admin/seed`,
//! `/_admin/issues`), and how it lands in the model.

use super::git;
use super::model::{Forge, Issue, Repo};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Why a pull request could not be opened.
pub(super) enum OpenPull {
    NoBranch,
    Exists,
    Other(String),
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct SeedIssue {
    pub number: Option<u64>,
    pub title: String,
    pub body: String,
    pub labels: Vec<String>,
    /// Who added each label (a timeline event per label). Default: the author.
    pub labeled_by: Option<String>,
    pub author: Option<String>,
    pub state: Option<String>,
    pub pull: bool,
    /// For a pull request: its head branch (in the repo's git repository).
    pub head: Option<String>,
    /// For a pull request from a fork: the fork's `owner/name` (default: this repo).
    pub head_repo: Option<String>,
    /// Issue numbers in the same repo this one depends on (dependencies API).
    pub depends_on: Vec<u64>,
    /// What the scripted model answers an agent working on this issue
    /// (`model_api`): shell commands, then a final message.
    pub script: Option<Vec<super::model_api::Step>>,
    /// A script per turn: `turns[0]` for the first, `turns[1]` for corrective
    /// turn 2, and so on (the last again past the end); `script` is then unused.
    pub turns: Option<Vec<Vec<super::model_api::Step>>>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct SeedRepo {
    pub name: String,
    pub labels: Option<Vec<String>>,
    pub collaborators: BTreeMap<String, String>,
    /// false: the dependencies endpoint answers 404 (feature off)
    pub dependencies: Option<bool>,
    /// false: permission lookups answer 403 (afk's account is not an admin)
    pub permission_lookup: Option<bool>,
    /// the repo was renamed: its old path redirects here
    pub renamed_to: Option<String>,
    /// false: the repository is public (anyone reads its issues) [true]
    pub private: Option<bool>,
    /// false: a draft pull request is refused, as GitHub refuses one on a
    /// private repository of a Free or Pro plan [true]
    pub drafts: Option<bool>,
    /// a local git repository (a path: a working tree or a bare one) whose
    /// branches and history the new repo starts with (its checked-out
    /// branch becomes `main` when it has none)
    pub import: Option<String>,
    /// the CI command run on every push to a branch with an open PR
    /// (`crate::ci_run`)
    pub ci: Option<SeedCi>,
    pub issues: Vec<SeedIssue>,
}

/// A repo's CI: `command` (program, then arguments) run in a checkout of
/// each pushed commit, its result posted as status `context` [ci/test];
/// killed after `timeout` [10m].
#[derive(Deserialize, Default, Clone, Debug)]
#[serde(deny_unknown_fields, default)]
pub struct SeedCi {
    pub command: Vec<String>,
    pub context: Option<String>,
    pub timeout: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct Seed {
    /// afk's forge token (default: drawn at random per sandbox, printed)
    pub token: Option<String>,
    /// the Kubernetes API's bearer token (default: drawn, printed)
    pub k8s_token: Option<String>,
    /// the agent-thread service's bearer token (default: drawn, printed)
    pub agent_token: Option<String>,
    /// the key the scripted model requires of every request (default: none
    /// required); an empty string requires none again
    pub model_key: Option<String>,
    pub me: Option<String>,
    /// where the forge posts its webhooks (`crate::webhooks`), from now on
    pub hook_url: Option<String>,
    /// the secret it signs them with (default: drawn at random)
    pub hook_secret: Option<String>,
    pub repos: Vec<SeedRepo>,
}

/// The labels a seeded repo gets when the seed names none: afk's own.
const DEFAULT_LABELS: &[&str] = &[
    "ready-for-agent",
    "agent-in-progress",
    "agent-paused",
    "ready-for-human",
    "priority/critical",
    "priority/high",
    "priority/medium",
    "priority/low",
];

impl Forge {
    /// Add to the forge: a repo seeded again keeps its issues and gains the new ones.
    pub fn seed(&mut self, s: Seed) -> Result<(), String> {
        if let Some(t) = s.token {
            self.kube.forge_token(&t);
            self.token = t;
        }
        if let Some(t) = s.k8s_token {
            self.kube.token = t;
        }
        if let Some(t) = s.agent_token {
            self.agent_token = t;
        }
        if let Some(k) = s.model_key {
            self.model_key = (!k.is_empty()).then_some(k);
        }
        if let Some(m) = s.me {
            self.me = m;
        }
        for r in s.repos {
            self.seed_repo(r)?;
        }
        // after the repos: what the seed itself made is sent to nobody
        if s.hook_url.is_some() || s.hook_secret.is_some() {
            let url = s.hook_url.or_else(|| self.outbox.url().map(str::to_string));
            self.outbox
                .set(url.filter(|u| !u.is_empty()), s.hook_secret)?;
        }
        Ok(())
    }

    fn seed_repo(&mut self, r: SeedRepo) -> Result<(), String> {
        // GitLab's projects nest in groups (`group/sub/project`)
        if self.gl.on {
            afk_model::RepoName::parse_for(afk_model::NameShape::Nested, &r.name)
                .map_err(|e| format!("repo name {}", e.0))?;
        } else if self.outbox.dialect == "azure-devops" {
            // `project/repository`, Azure DevOps's own naming (spaces allowed)
            crate::model::azure::check_name(&r.name)?;
        } else if !afk_model::is_repo_name(&r.name) {
            return Err(format!("repo name \"{}\" is not owner/repo", r.name));
        }
        if !self.repos.contains_key(&r.name) {
            self.create_repo(&r)?;
        }
        let repo = self.repos.get_mut(&r.name).unwrap();
        repo.collaborators.extend(r.collaborators);
        if let Some(d) = r.dependencies {
            repo.deps_enabled = d;
        }
        if let Some(d) = r.drafts {
            repo.drafts = d;
        }
        if let Some(p) = r.permission_lookup {
            repo.permission_lookup = p;
        }
        if r.renamed_to.is_some() {
            repo.renamed_to = r.renamed_to;
        }
        if let Some(p) = r.private {
            repo.private = p;
        }
        if let Some(ci) = r.ci {
            let command = super::model::ci::Command::parse(
                ci.command,
                ci.context.as_deref(),
                ci.timeout.as_deref(),
            )?;
            self.set_ci_command(&r.name, command);
        }
        for i in r.issues {
            self.add_issue(&r.name, i)?;
        }
        Ok(())
    }

    /// A new repo with its git repository and labels, nothing else yet.
    fn create_repo(&mut self, r: &SeedRepo) -> Result<(), String> {
        match &r.import {
            Some(from) => git::import(&self.git_dir(&r.name), std::path::Path::new(from))?,
            None => git::init_bare(&self.git_dir(&r.name), &r.name)?,
        }
        let id = self.id();
        let names = r
            .labels
            .clone()
            .unwrap_or_else(|| DEFAULT_LABELS.iter().map(|s| s.to_string()).collect());
        let labels = names.into_iter().map(|n| (self.id(), n)).collect();
        self.repos.insert(
            r.name.clone(),
            Repo {
                id,
                full_name: r.name.clone(),
                labels,
                org_labels: Default::default(),
                issues: BTreeMap::new(),
                collaborators: BTreeMap::new(),
                deps_enabled: true,
                permission_lookup: true,
                renamed_to: None,
                private: true,
                drafts: true,
            },
        );
        Ok(())
    }

    /// Add an issue or pull request (numbered after the highest unless given),
    /// its labels added by `labeled_by` or the author.
    /// A pull request opened through the API by afk's account, from `head`
    /// into main; one open pull request per head branch of this repository
    /// (a fork's PR from a branch of the same name is another head, as on
    /// the real forges). Each dialect words the refusals its own way.
    pub(super) fn open_pull(
        &mut self,
        full: &str,
        head: &str,
        title: &str,
        body: &str,
    ) -> Result<u64, OpenPull> {
        if git::head(&self.git_dir(full), head).is_none() {
            return Err(OpenPull::NoBranch);
        }
        if self.repos[full].issues.values().any(|i| {
            i.pull
                && i.state == "open"
                && i.head.as_deref() == Some(head)
                && i.head_repo.as_deref().is_none_or(|r| r == full)
        }) {
            return Err(OpenPull::Exists);
        }
        let seed = SeedIssue {
            title: title.to_string(),
            body: body.to_string(),
            author: Some(self.me.clone()),
            pull: true,
            head: Some(head.to_string()),
            ..Default::default()
        };
        self.add_issue(full, seed).map_err(OpenPull::Other)
    }

    pub(super) fn add_issue(&mut self, repo: &str, i: SeedIssue) -> Result<u64, String> {
        let id = self.id();
        let r = self.repos.get(repo).ok_or(format!("no repo {repo}"))?;
        // a merge request's number is its own sequence's when GitLab numbers them apart
        let number = match i.number {
            Some(n) if i.pull => self.pr_key(n),
            Some(n) => n,
            None => self.next_number(r, i.pull),
        };
        if let Some(steps) = i.script.clone() {
            self.scripts.insert((repo.to_string(), number), steps);
        }
        if let Some(turns) = i.turns.clone() {
            self.turn_scripts.insert((repo.to_string(), number), turns);
        }
        let r = self.repos.get_mut(repo).ok_or(format!("no repo {repo}"))?;
        let author = i.author.unwrap_or_else(|| "alice".into());
        let state = i.state.unwrap_or_else(|| "open".into());
        let closed_at = (state == "closed").then(super::model::wall);
        r.issues.insert(
            number,
            Issue {
                id,
                number,
                title: i.title,
                body: i.body,
                state,
                labels: vec![],
                pull: i.pull,
                author: author.clone(),
                deps: i.depends_on,
                gitea_deps: false,
                hidden_deps: vec![],
                timeline: vec![],
                head: i.head,
                head_repo: i.head_repo,
                renames: vec![],
                hidden: vec![],
                updated_at: None,
                base: "main".into(),
                merged: false,
                draft: false,
                merge_sha: None,
                head_gone: None,
                broken: vec![],
                created_at: super::model::wall(),
                closed_at,
                merged_at: None,
            },
        );
        let by = i.labeled_by.unwrap_or(author);
        for l in i.labels {
            self.label(repo, number, &l, &by, true)?;
        }
        if i.pull {
            self.ci_pull_opened(repo, number);
        }
        Ok(number)
    }
}
