//! `afk lessons record | list | update | snapshot`.

use super::Ctx;
use crate::cli::{LessonList, LessonRecord, LessonUpdate, LessonsCmd};
use crate::lessons::check_type;
use crate::output::emit;
use crate::output::table;
use crate::store::Store;
use crate::store::lessons::{Filter, LessonSource, NewLesson, Update};
use crate::types::RunId;
use anyhow::{Result, bail};
use serde::Serialize;

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

pub fn run(ctx: &Ctx, cmd: &LessonsCmd) -> Result<u8> {
    // The kill switch: no state file access at all.
    if !ctx.config.lessons.enabled {
        emit(
            ctx.json,
            &Read {
                enabled: false,
                // a list is a list, empty: a script reading `.lessons` needs no case
                lessons: matches!(cmd, LessonsCmd::List(_)).then_some(&[]),
                snapshot: None,
            },
            "lessons: disabled (lessons.enabled = false); nothing read or written\n",
        );
        return Ok(0);
    }
    match cmd {
        LessonsCmd::Record(a) => record(ctx, a),
        LessonsCmd::List(a) => list(ctx, a),
        LessonsCmd::Update(a) => update(ctx, a),
        LessonsCmd::Snapshot => snapshot(ctx),
    }
}

fn record(ctx: &Ctx, a: &LessonRecord) -> Result<u8> {
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
        attribution: a.attribution,
        target_repo: a.target_repo.clone(),
        target_domain: a.target_domain,
    };
    let path = ctx.state_path();
    if let Some(run) = a.run_id
        && Store::open_existing(&path)?.is_none()
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
        dry_run: ctx.dry_run,
    };
    emit(ctx.json, &written, &human);
    Ok(0)
}

fn list(ctx: &Ctx, a: &LessonList) -> Result<u8> {
    let s = Store::open_reading(&ctx.state_path())?;
    let lessons = s.lessons(&Filter {
        lesson_type: a.lesson_type.clone(),
        // `open` is new or in_progress; the store's filter knows it
        status: a.status,
        repo: a.repo.clone(),
        work_item: a.work_item.clone(),
        limit: a.limit.unwrap_or(ctx.config.lessons.list_limit),
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
        ctx.json,
        &Read {
            enabled: true,
            lessons: Some(&lessons),
            snapshot: None,
        },
        &human,
    );
    Ok(0)
}

fn update(ctx: &Ctx, a: &LessonUpdate) -> Result<u8> {
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
    if Store::open_existing(&path)?.is_none() {
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
        dry_run: ctx.dry_run,
    };
    emit(ctx.json, &written, &human);
    Ok(0)
}

fn snapshot(ctx: &Ctx) -> Result<u8> {
    let s = Store::open_reading(&ctx.state_path())?;
    let snap = s.lesson_snapshot()?;
    let mut human = format!("lessons: {} in all, {} open\n", snap.total, snap.open);
    for (k, v) in &snap.by_type {
        human.push_str(&format!("  type {k}: {v}\n"));
    }
    for (k, v) in &snap.by_status {
        human.push_str(&format!("  status {k}: {v}\n"));
    }
    emit(
        ctx.json,
        &Read {
            enabled: true,
            lessons: None,
            snapshot: Some(&snap),
        },
        &human,
    );
    Ok(0)
}
