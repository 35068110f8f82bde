//! `afk lessons record | list | update | snapshot`.

use crate::session::{Outcome, Session};

use crate::lessons::check_type;
use crate::output::emit;
use crate::output::table;
use crate::store::lessons::{Filter, LessonSource, NewLesson, Update};
use crate::types::RunId;
use anyhow::{Result, bail};
use serde::Serialize;

#[derive(clap::Subcommand, Debug)]
pub enum Args {
    /// Record a lesson by hand (source = manual; never deduplicated)
    #[command(after_long_help = "\
Examples:
  afk lessons record --type flaky_test --repo acme/api --work-item acme/api#7 \\
      --root-cause \"a timing test\" --suggestion \"use a fake clock\"
  afk --json lessons record --type gate_failure --target-domain reliability")]
    Record(LessonRecord),
    /// Lessons, newest first
    #[command(after_long_help = "\
Examples:
  afk lessons list --status open            new or in progress
  afk lessons list --repo acme/api --limit 20
  afk --json lessons list --type gate_failure")]
    List(LessonList),
    /// Change a lesson's status or attribution; stamps updated_at
    #[command(after_long_help = "\
Examples:
  afk lessons update 12 --status in_progress --attribution repo --target-repo acme/api
  afk lessons update 12 --status closed --related-item acme/api#9")]
    Update(LessonUpdate),
    /// Totals by type and status, and the open count
    #[command(after_long_help = "\
Examples:
  afk lessons snapshot
  afk --json lessons snapshot | jq .open")]
    Snapshot,
}

#[derive(clap::Args, Debug)]
pub struct LessonRecord {
    /// Lesson type, a slug such as gate_failure or flaky_test
    #[arg(long = "type", value_name = "T")]
    pub lesson_type: String,
    /// Repository the lesson is about (owner/repo)
    #[arg(long, value_name = "R")]
    pub repo: Option<String>,
    /// The issue or PR it came from, e.g. owner/repo#7
    #[arg(long, value_name = "W")]
    pub work_item: Option<String>,
    /// The run it came from (see `afk runs`); it must exist
    #[arg(long, value_name = "ID")]
    pub run_id: Option<i64>,
    /// Stage where it went wrong, e.g. dispatch, ci, review, deploy
    #[arg(long, value_name = "S")]
    pub stage: Option<String>,
    /// Who or what was at work: an agent program, a person, afk
    #[arg(long, value_name = "A")]
    pub agent: Option<String>,
    /// Why it went wrong
    #[arg(long, value_name = "TEXT")]
    pub root_cause: Option<String>,
    /// What to do next time (shown to the next agent in this repo)
    #[arg(long, value_name = "TEXT")]
    pub suggestion: Option<String>,
    /// Anything else: logs, links, numbers
    #[arg(long, value_name = "TEXT")]
    pub detail: Option<String>,
    #[command(flatten)]
    pub fix: FixTarget,
}

/// Where a lesson's fix belongs and what it is about (`record` and `update`).
#[derive(clap::Args, Debug)]
pub struct FixTarget {
    /// Where the fix belongs
    #[arg(
        long,
        value_name = "A",
        value_parser = crate::clap_values::Allowed::<crate::types::lesson::Attribution>::new()
    )]
    pub attribution: Option<crate::types::lesson::Attribution>,
    /// The repository that should change to fix it (owner/repo)
    #[arg(long, value_name = "R")]
    pub target_repo: Option<String>,
    /// What the lesson is about
    #[arg(
        long,
        value_name = "D",
        value_parser = crate::clap_values::Allowed::<crate::types::lesson::TargetDomain>::new()
    )]
    pub target_domain: Option<crate::types::lesson::TargetDomain>,
}

#[derive(clap::Args, Debug)]
pub struct LessonList {
    /// Only lessons of this type (a slug such as gate_failure)
    #[arg(long = "type", value_name = "T")]
    pub lesson_type: Option<String>,
    /// Only lessons in this status; open = new or in_progress
    #[arg(
        long,
        value_name = "S",
        value_parser = crate::clap_values::Allowed::<crate::types::lesson::StatusFilter>::new()
    )]
    pub status: Option<crate::types::lesson::StatusFilter>,
    /// Only lessons about this repository (owner/repo)
    #[arg(long, value_name = "R")]
    pub repo: Option<String>,
    /// Only lessons of this issue or PR, e.g. owner/repo#7
    #[arg(long, value_name = "W")]
    pub work_item: Option<String>,
    /// At most this many, newest first [default: lessons.list_limit, 100]
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
}

#[derive(clap::Args, Debug)]
pub struct LessonUpdate {
    /// The lesson's id (see `afk lessons list`)
    pub id: i64,
    /// New status
    #[arg(
        long,
        value_name = "S",
        value_parser = crate::clap_values::Allowed::<crate::types::lesson::LessonStatus>::new()
    )]
    pub status: Option<crate::types::lesson::LessonStatus>,
    #[command(flatten)]
    pub fix: FixTarget,
    /// A related issue or PR that tracks the fix, e.g. owner/repo#9
    #[arg(long, value_name = "X")]
    pub related_item: Option<String>,
    /// Replace the root cause
    #[arg(long, value_name = "TEXT")]
    pub root_cause: Option<String>,
    /// Replace the suggestion
    #[arg(long, value_name = "TEXT")]
    pub suggestion: Option<String>,
}

/// What `lessons record` and `lessons update` print with `--json`.
#[derive(Serialize)]
struct Written {
    id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated: Option<bool>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    dry_run: bool,
}

/// What `lessons list` and `lessons snapshot` print with `--json` (and a
/// disabled journal: `{"enabled": false}`, and `lessons list` an empty list).
#[derive(Serialize)]
struct Read<'a> {
    enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    lessons: Option<&'a [crate::store::lessons::Lesson]>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    snapshot: Option<&'a crate::store::lessons::Snapshot>,
}

pub fn run(ctx: &Session, cmd: &Args) -> Result<Outcome> {
    ctx.load()?;
    // The kill switch: no state file access at all.
    if !ctx.config().lessons.enabled {
        emit(
            ctx.json(),
            &Read {
                enabled: false,
                // a list is a list, empty: a script reading `.lessons` needs no case
                lessons: matches!(cmd, Args::List(_)).then_some(&[]),
                snapshot: None,
            },
            "lessons: disabled (lessons.enabled = false); nothing read or written\n",
        );
        return Ok(Outcome::OK);
    }
    match cmd {
        Args::Record(a) => record(ctx, a),
        Args::List(a) => list(ctx, a),
        Args::Update(a) => update(ctx, a),
        Args::Snapshot => snapshot(ctx),
    }
}

fn record(ctx: &Session, a: &LessonRecord) -> Result<Outcome> {
    check_type(&a.lesson_type)?;
    let l = NewLesson {
        lesson_type: a.lesson_type.clone(),
        source: LessonSource::Manual,
        repo: a.repo.clone(),
        work_item: a.work_item.clone(),
        run_id: a.run_id.map(RunId),
        stage: a.stage.clone(),
        agent: a.agent.clone(),
        root_cause: a.root_cause.clone(),
        suggestion: a.suggestion.clone(),
        detail: a.detail.clone(),
        attribution: a.fix.attribution,
        target_repo: a.fix.target_repo.clone(),
        target_domain: a.fix.target_domain,
    };
    let path = ctx.state_path();
    if let Some(run) = a.run_id
        && ctx.existing_store()?.is_none()
    {
        bail!(
            "lessons: no run {run} (no state file yet at {})",
            path.display()
        );
    }
    let mut local = ctx.local()?;
    let tense = local.tense();
    let s = &mut local.store;
    if let Some(run) = a.run_id
        && s.run(RunId(run))?.is_none()
    {
        return Err(crate::hint::hinted(
            anyhow::anyhow!("lessons: no run {run}: nothing recorded"),
            "`afk runs` lists them",
        ));
    }
    // only an automatic lesson is deduplicated (dropped): a manual one
    // dropped is afk's own bug
    let id = s.insert_lesson(&l, None)?.ok_or_else(|| {
        anyhow::Error::new(crate::types::InternalError::new(
            "lessons: the state file dropped a lesson recorded by hand",
        ))
    })?;
    // a dry run's copy of the store ends with the command: no id to name
    let kept = Some(id).filter(|_| s.source().lasts());
    let human = tense.pick(
        format!("recorded lesson {id}\n"),
        "lessons record (dry run): nothing written\n".into(),
    );
    let written = Written {
        id: kept,
        updated: None,
        dry_run: ctx.dry_run(),
    };
    emit(ctx.json(), &written, &human);
    Ok(Outcome::OK)
}

fn list(ctx: &Session, a: &LessonList) -> Result<Outcome> {
    let s = ctx.read_store()?;
    let lessons = s.lessons(&Filter {
        lesson_type: a.lesson_type.clone(),
        // `open` is new or in_progress; the store's filter knows it
        status: a.status,
        repo: a.repo.clone(),
        work_item: a.work_item.clone(),
        limit: a.limit.unwrap_or(ctx.config().lessons.list_limit),
    })?;
    let rows: Vec<Vec<String>> = lessons
        .iter()
        .map(|l| {
            let text = l
                .root_cause
                .clone()
                .or(l.suggestion.clone())
                .unwrap_or_default();
            let text: String = text.chars().take(60).collect();
            vec![
                l.id.to_string(),
                l.created_at.clone(),
                l.lesson_type.clone(),
                l.source.to_string(),
                l.status.to_string(),
                l.work_item.clone().or(l.repo.clone()).unwrap_or_default(),
                text,
            ]
        })
        .collect();
    let human = if rows.is_empty() {
        "no lessons\n".to_string()
    } else {
        table(
            &[
                "ID",
                "CREATED",
                "TYPE",
                "SOURCE",
                "STATUS",
                "WHERE",
                "ROOT CAUSE",
            ],
            &rows,
        )
    };
    emit(
        ctx.json(),
        &Read {
            enabled: true,
            lessons: Some(&lessons),
            snapshot: None,
        },
        &human,
    );
    Ok(Outcome::OK)
}

fn update(ctx: &Session, a: &LessonUpdate) -> Result<Outcome> {
    let u = Update {
        status: a.status,
        attribution: a.fix.attribution,
        target_repo: a.fix.target_repo.clone(),
        target_domain: a.fix.target_domain,
        related_item: a.related_item.clone(),
        root_cause: a.root_cause.clone(),
        suggestion: a.suggestion.clone(),
    };
    if u.is_empty() {
        bail!(
            "lessons: update {}: nothing to update (give --status, --attribution, --target-repo, --target-domain, --related-item, --root-cause or --suggestion)",
            a.id
        );
    }
    let path = ctx.state_path();
    if ctx.existing_store()?.is_none() {
        bail!(
            "lessons: no lesson with id {} (no state file yet at {})",
            a.id,
            path.display()
        );
    }
    let mut local = ctx.local()?;
    let tense = local.tense();
    let s = &mut local.store;
    if !s.update_lesson(a.id, &u)? {
        bail!("lessons: no lesson with id {}", a.id);
    }
    let human = tense.pick(
        format!("updated lesson {}\n", a.id),
        "lessons update (dry run): nothing written\n".into(),
    );
    let written = Written {
        id: Some(a.id),
        updated: Some(s.source().lasts()),
        dry_run: ctx.dry_run(),
    };
    emit(ctx.json(), &written, &human);
    Ok(Outcome::OK)
}

fn snapshot(ctx: &Session) -> Result<Outcome> {
    let s = ctx.read_store()?;
    let snap = s.lesson_snapshot()?;
    let mut human = format!("lessons: {} in all, {} open\n", snap.total, snap.open);
    for (k, v) in &snap.by_type {
        human.push_str(&format!("  type {k}: {v}\n"));
    }
    for (k, v) in &snap.by_status {
        human.push_str(&format!("  status {k}: {v}\n"));
    }
    emit(
        ctx.json(),
        &Read {
            enabled: true,
            lessons: None,
            snapshot: Some(&snap),
        },
        &human,
    );
    Ok(Outcome::OK)
}
