//! `afk lessons record | list | update | snapshot`.

use crate::session::{Outcome, Session};

use crate::command_error::UsageError;
use crate::lessons::check_type;
use crate::output::emit;
use crate::output::table;
use crate::store::lessons::{Filter, LessonSource, NewLesson, Update};
use crate::types::RunId;
use anyhow::{Result, bail};
use clap::builder::TypedValueParser;
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
    /// Where the fix belongs
    #[arg(
        long,
        value_name = "A",
        value_parser = crate::clap_values::Allowed::<Attribution>::new().map(crate::types::lesson::Attribution::from)
    )]
    pub attribution: Option<crate::types::lesson::Attribution>,
    /// The repository that should change to fix it (owner/repo)
    #[arg(long, value_name = "R")]
    pub target_repo: Option<String>,
    /// What the lesson is about
    #[arg(
        long,
        value_name = "D",
        value_parser = crate::clap_values::Allowed::<TargetDomain>::new().map(crate::types::lesson::TargetDomain::from)
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
        value_parser = crate::clap_values::Allowed::<StatusFilter>::new().map(crate::types::lesson::StatusFilter::from)
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
        value_parser = crate::clap_values::Allowed::<LessonStatus>::new().map(crate::types::lesson::LessonStatus::from)
    )]
    pub status: Option<crate::types::lesson::LessonStatus>,
    /// Where the fix belongs
    #[arg(
        long,
        value_name = "A",
        value_parser = crate::clap_values::Allowed::<Attribution>::new().map(crate::types::lesson::Attribution::from)
    )]
    pub attribution: Option<crate::types::lesson::Attribution>,
    /// The repository that should change to fix it (owner/repo)
    #[arg(long, value_name = "R")]
    pub target_repo: Option<String>,
    /// What the lesson is about
    #[arg(
        long,
        value_name = "D",
        value_parser = crate::clap_values::Allowed::<TargetDomain>::new().map(crate::types::lesson::TargetDomain::from)
    )]
    pub target_domain: Option<crate::types::lesson::TargetDomain>,
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

/// A lesson's status.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LessonStatus {
    /// Recorded, nobody has looked at it yet
    New,
    /// Someone is on it
    #[value(name = "in_progress")]
    InProgress,
    /// Dealt with
    Closed,
}

/// The statuses `lessons list --status` accepts: a status, or `open`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusFilter {
    /// Recorded, nobody has looked at it yet
    New,
    /// Someone is on it
    #[value(name = "in_progress")]
    InProgress,
    /// Dealt with
    Closed,
    /// new or in_progress (what `lessons snapshot` counts as open)
    Open,
}

/// Where a lesson's fix belongs.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attribution {
    /// afk, the runner or the agent setup
    Platform,
    /// the repository the agent worked in
    Repo,
    /// both
    Both,
}

/// What a lesson is about.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetDomain {
    Reliability,
    Quality,
    Speed,
    Cost,
    Security,
}

// The lessons journal's values as the command line spells and explains them;
// each becomes the model's value of the same name (`crate::types::lesson::LessonStatus`, …)
// as clap parses it, so a command sees the model's types only.

impl From<LessonStatus> for crate::types::lesson::LessonStatus {
    fn from(v: LessonStatus) -> Self {
        match v {
            LessonStatus::New => crate::types::lesson::LessonStatus::New,
            LessonStatus::InProgress => crate::types::lesson::LessonStatus::InProgress,
            LessonStatus::Closed => crate::types::lesson::LessonStatus::Closed,
        }
    }
}

impl From<StatusFilter> for crate::types::lesson::StatusFilter {
    fn from(v: StatusFilter) -> Self {
        use crate::types::lesson::StatusFilter::{Is, Open};
        match v {
            StatusFilter::New => Is(crate::types::lesson::LessonStatus::New),
            StatusFilter::InProgress => Is(crate::types::lesson::LessonStatus::InProgress),
            StatusFilter::Closed => Is(crate::types::lesson::LessonStatus::Closed),
            StatusFilter::Open => Open,
        }
    }
}

impl From<Attribution> for crate::types::lesson::Attribution {
    fn from(v: Attribution) -> Self {
        match v {
            Attribution::Platform => crate::types::lesson::Attribution::Platform,
            Attribution::Repo => crate::types::lesson::Attribution::Repo,
            Attribution::Both => crate::types::lesson::Attribution::Both,
        }
    }
}

impl From<TargetDomain> for crate::types::lesson::TargetDomain {
    fn from(v: TargetDomain) -> Self {
        match v {
            TargetDomain::Reliability => crate::types::lesson::TargetDomain::Reliability,
            TargetDomain::Quality => crate::types::lesson::TargetDomain::Quality,
            TargetDomain::Speed => crate::types::lesson::TargetDomain::Speed,
            TargetDomain::Cost => crate::types::lesson::TargetDomain::Cost,
            TargetDomain::Security => crate::types::lesson::TargetDomain::Security,
        }
    }
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

fn usage(r: Result<(), String>) -> Result<()> {
    r.map_err(|m| anyhow::Error::new(UsageError(m)))
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
    usage(check_type(&a.lesson_type))?;
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
        attribution: a.attribution,
        target_repo: a.target_repo.clone(),
        target_domain: a.target_domain,
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
        bail!("lessons: no run {run} (see `afk runs`): nothing recorded");
    }
    let id = s
        .insert_lesson(&l, None)?
        .expect("manual lessons are never dropped");
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
        attribution: a.attribution,
        target_repo: a.target_repo.clone(),
        target_domain: a.target_domain,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clap_values::value_name;
    use crate::types::lesson;
    use clap::ValueEnum;

    fn names<E: ValueEnum>() -> Vec<String> {
        E::value_variants().iter().map(value_name).collect()
    }

    #[test]
    fn value_enums_spell_what_the_journal_stores() {
        let cases = [
            ("status", names::<LessonStatus>(), crate::lessons::STATUSES),
            (
                "attribution",
                names::<Attribution>(),
                crate::lessons::ATTRIBUTIONS,
            ),
            (
                "target domain",
                names::<TargetDomain>(),
                crate::lessons::DOMAINS,
            ),
        ];
        for (what, got, want) in cases {
            assert_eq!(got, want, "{what}");
        }
    }

    /// Each value the command line accepts becomes the model's value of the
    /// same name, so what is stored is what was typed.
    #[test]
    fn each_flag_value_becomes_the_model_value_of_its_name() {
        fn check<E: ValueEnum, M: From<E> + std::fmt::Display>() {
            for v in E::value_variants() {
                assert_eq!(M::from(v.clone()).to_string(), value_name(v));
            }
        }
        check::<LessonStatus, lesson::LessonStatus>();
        check::<Attribution, lesson::Attribution>();
        check::<TargetDomain, lesson::TargetDomain>();
        for v in StatusFilter::value_variants() {
            let want = match lesson::StatusFilter::from(*v) {
                lesson::StatusFilter::Is(s) => s.as_str(),
                lesson::StatusFilter::Open => "open",
            };
            assert_eq!(value_name(v), want);
        }
    }

    #[test]
    fn list_status_accepts_open_beside_every_status() {
        let mut want: Vec<String> = crate::lessons::STATUSES
            .iter()
            .map(|s| s.to_string())
            .collect();
        want.push("open".into());
        assert_eq!(names::<StatusFilter>(), want);
    }
}
