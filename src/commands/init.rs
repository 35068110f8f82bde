//! `afk init`: write the commented starter config; `--create-labels` makes afk's labels.

use crate::command_error::UsageError;
use crate::config;
use crate::edges::Files;
use crate::output::emit;
use crate::session::{Outcome, Session};
use crate::types::RepoName;
use anyhow::{Context, Result, bail};
use serde::Serialize;
use std::path::Path;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Overwrite an existing file
    #[arg(long)]
    pub force: bool,
    /// Also create afk's labels in every allowlisted repo
    #[arg(long)]
    pub create_labels: bool,
    /// The forge the starter config is for: its `forge.kind`, an example
    /// `forge.url`, and what differs (GitLab: `watch.update_branch = "rebase"`)
    #[arg(
        long,
        default_value = "gitea",
        value_parser = crate::clap_values::Allowed::<config::ForgeKind>::new()
    )]
    pub forge: config::ForgeKind,
    /// A tracker beside the forge: the starter's `[tracker]` block is that
    /// tracker's (commented, with the account afk should have and the
    /// webhook to register)
    #[arg(long, value_parser = ["jira", "linear"])]
    pub tracker: Option<String>,
}

/// What `afk init --json` prints.
#[derive(Serialize, Default)]
struct Report {
    command: &'static str,
    dry_run: bool,
    /// the config file written (or, in a dry run, that would be)
    #[serde(skip_serializing_if = "Option::is_none")]
    written: Option<String>,
    /// `--create-labels`: one entry per repo and label
    #[serde(skip_serializing_if = "Vec::is_empty")]
    labels: Vec<LabelItem>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<crate::tick::ErrorItem>,
}

#[derive(Serialize)]
struct LabelItem {
    #[serde(skip_serializing_if = "Option::is_none")]
    repo: Option<RepoName>,
    /// beside a tracker: `jira` or `linear`, where afk's labels are
    #[serde(skip_serializing_if = "Option::is_none")]
    tracker: Option<&'static str>,
    label: String,
    /// `exists`, `created`, `would_create`, `made_on_first_use` (a forge
    /// whose first write that adds a label makes it: Azure DevOps' tags)
    /// or `failed`
    action: &'static str,
}

pub fn run(s: &Session, a: &Args) -> Result<Outcome> {
    // without --config: ./afk.toml (not the search `load` does: init writes one)
    let path = s
        .config_flag()
        .map_or_else(|| "afk.toml".into(), Path::to_path_buf);
    let mut r = Report {
        command: "init",
        dry_run: s.dry_run(),
        ..Default::default()
    };
    if a.create_labels {
        let human = create_labels(s, &path, &mut r)?;
        emit(s.json(), &r, &human);
        return Ok(Outcome::code(u8::from(!r.errors.is_empty())));
    }
    if path.exists() && !a.force {
        bail!(crate::hint::hinted(
            UsageError(format!("init: {} exists", path.display())).into(),
            "pass --force to overwrite it"
        ));
    }
    r.written = Some(path.display().to_string());
    let files = s.files();
    let mut text = config::starter_for(a.forge);
    if let Some(kind) = &a.tracker {
        text = config::with_tracker(&text, kind);
    }
    write_starter(&files, &path, &text)?;
    let human = files.tense().pick(
        format!(
            "wrote {} (afk ships disabled: set poll.enabled and poll.allowlist to arm it)\n",
            path.display()
        ),
        format!("init (dry run): would write {}\n", path.display()),
    );
    emit(s.json(), &r, &human);
    Ok(Outcome::OK)
}

/// Write the starter config beside, then rename: never a half-written config.
fn write_starter(files: &Files, path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        files
            .create_dir_all(dir)
            .with_context(|| format!("init: cannot create {}", dir.display()))?;
    }
    let tmp = path.with_extension("toml.tmp");
    files
        .write(&tmp, text.as_bytes())
        .with_context(|| format!("init: cannot write {}", tmp.display()))?;
    files
        .rename(&tmp, path)
        .with_context(|| format!("init: cannot write {}", path.display()))
}

/// Make afk's labels in every allowlisted repo that lacks them (beside a
/// tracker: where the tracker keeps them).
fn create_labels(s: &Session, path: &Path, r: &mut Report) -> Result<String> {
    let on = Session::on_file(path, s.dry_run(), s.json())?;
    let c = on.config();
    // beside a tracker afk's labels are the tracker's, never the forge's
    if let Some(t) = &c.tracker {
        return tracker_labels(&on, t, r);
    }
    // a dry run's forge reads the labels there are and records the ones it makes
    let forge = on.forge()?;
    let tense = on.tense();
    // the labels afk makes are journaled as a tick's writes are
    // (docs/audit.md); a dry run makes none
    let _journal = match on.dry_run() {
        true => None,
        false => Some(crate::edges::audit_outside_tick(on.state_path())?),
    };
    let wanted = c.labels();
    let mut human = String::new();
    for repo in &c.poll.allowlist {
        let have = forge.repo_labels(repo)?;
        for (name, color) in wanted {
            let action = if have.iter().any(|l| l.name == name) {
                "exists"
            } else if c.profile().missing_label_warns {
                // Azure DevOps' tags: nothing to make, and
                // never said to be made
                "made_on_first_use"
            } else {
                match forge.create_label(repo, name, color) {
                    Ok(()) => tense.pick("created", "would_create"),
                    Err(e) => {
                        crate::log::error(&crate::command_error::person_line(&e));
                        r.errors
                            .push(crate::tick::ErrorItem::from_err(repo, None, &e));
                        "failed"
                    }
                }
            };
            human.push_str(&match action {
                "exists" => format!("{repo}: label \"{name}\" exists\n"),
                "would_create" => format!("{repo}: would create label \"{name}\"\n"),
                "created" => format!("{repo}: created label \"{name}\"\n"),
                "made_on_first_use" => format!(
                    "{repo}: tag \"{name}\" needs no making: afk's first write that adds it makes it\n"
                ),
                _ => format!("{repo}: could not create label \"{name}\"\n"),
            });
            r.labels.push(LabelItem {
                repo: Some(repo.clone()),
                tracker: None,
                label: name.to_string(),
                action,
            });
        }
    }
    Ok(human)
}

/// afk's labels on the tracker: Linear's workspace gets the ones it lacks
/// (never the ready label where a status or a delegation arms); Jira makes
/// a label the first time one is added, so nothing is sent to it.
fn tracker_labels(on: &Session, t: &config::Tracker, r: &mut Report) -> Result<String> {
    let c = on.config();
    let (kind, service) = match t.linear() {
        true => ("linear", "Linear"),
        false => ("jira", "Jira"),
    };
    let wanted: Vec<(&str, &str)> = c
        .labels()
        .into_iter()
        .filter(|(name, _)| *name != c.poll.ready_label || matches!(t.ready.as_str(), "" | "label"))
        .collect();
    let made = match t.linear() {
        true => {
            let Some(tracker) = on.tracker()? else {
                bail!(UsageError(format!(
                    "init: --create-labels: Linear's token ({}) is not set",
                    c.tracker_token_source()
                )));
            };
            let _journal = match on.dry_run() {
                true => None,
                false => Some(crate::edges::audit_outside_tick(on.state_path())?),
            };
            let mut draw = || crate::core::tracker::linear::uuid_v4(crate::spans::random());
            tracker.make_labels(&wanted, on.dry_run(), &mut draw)
        }
        // the default: nothing sent
        false => crate::forge::tracker::made_on_first_use(&wanted),
    };
    let mut human = String::new();
    for (name, got) in made {
        let action = match got {
            Ok(a) => a,
            Err(e) => {
                crate::log::error(&crate::command_error::person_line(&e));
                r.errors
                    .push(crate::tick::ErrorItem::from_err(kind, None, &e));
                "failed"
            }
        };
        human.push_str(&match action {
            "exists" => format!("{service}: label \"{name}\" exists\n"),
            "would_create" => format!("{service}: would create label \"{name}\" in the workspace\n"),
            "created" => format!("{service}: created label \"{name}\" in the workspace\n"),
            "made_on_first_use" => format!(
                "{service}: label \"{name}\" needs no making: Jira makes it the first time afk adds it\n"
            ),
            _ => format!("{service}: could not create label \"{name}\"\n"),
        });
        r.labels.push(LabelItem {
            repo: None,
            tracker: Some(kind),
            label: name,
            action,
        });
    }
    Ok(human)
}
