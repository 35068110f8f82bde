//! `afk lessons record | list | update | snapshot`.

use super::{Ctx, UsageError, emit, table};
use crate::cli::LessonsCmd;
use crate::lessons::{ATTRIBUTIONS, DOMAINS, STATUSES, check_enum, check_type};
use crate::store::Store;
use crate::store::lessons::{Filter, NewLesson, Update};
use anyhow::{Result, bail};
use serde_json::json;

fn usage(r: Result<(), String>) -> Result<()> {
    r.map_err(|m| anyhow::Error::new(UsageError(m)))
}

fn check_opt(flag: &str, v: &Option<String>, allowed: &[&str]) -> Result<()> {
    match v {
        Some(v) => usage(check_enum(flag, v, allowed)),
        None => Ok(()),
    }
}

pub fn run(ctx: &Ctx, cmd: &LessonsCmd) -> Result<u8> {
    // The kill switch: no state file access at all.
    if !ctx.config.lessons.enabled {
        emit(
            ctx.json,
            &json!({"enabled": false}),
            "lessons: disabled (lessons.enabled = false); nothing read or written\n",
        );
        return Ok(0);
    }
    match cmd {
        LessonsCmd::Record(a) => {
            usage(check_type(&a.lesson_type))?;
            check_opt("attribution", &a.attribution, ATTRIBUTIONS)?;
            check_opt("target-domain", &a.target_domain, DOMAINS)?;
            let l = NewLesson {
                lesson_type: a.lesson_type.clone(),
                source: "manual".into(),
                repo: a.repo.clone(),
                work_item: a.work_item.clone(),
                run_id: None,
                stage: a.stage.clone(),
                agent: a.agent.clone(),
                root_cause: a.root_cause.clone(),
                suggestion: a.suggestion.clone(),
                detail: a.detail.clone(),
                attribution: a.attribution.clone(),
                target_repo: a.target_repo.clone(),
                target_domain: a.target_domain.clone(),
            };
            if ctx.dry_run {
                emit(
                    ctx.json,
                    &json!({"id": null, "dry_run": true}),
                    "lessons record (dry run): nothing written\n",
                );
                return Ok(0);
            }
            let mut s = Store::open(&ctx.state_path())?;
            let id = s
                .insert_lesson(&l, None)?
                .expect("manual lessons are never dropped");
            emit(
                ctx.json,
                &json!({"id": id}),
                &format!("recorded lesson {id}\n"),
            );
        }
        LessonsCmd::List(a) => {
            check_opt("status", &a.status, STATUSES)?;
            let s = Store::open_reading(&ctx.state_path())?;
            let lessons = s.lessons(&Filter {
                lesson_type: a.lesson_type.clone(),
                status: a.status.clone(),
                repo: a.repo.clone(),
                work_item: a.work_item.clone(),
                limit: a.limit,
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
                        l.source.clone(),
                        l.status.clone(),
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
                &json!({"enabled": true, "lessons": lessons}),
                &human,
            );
        }
        LessonsCmd::Update(a) => {
            check_opt("status", &a.status, STATUSES)?;
            check_opt("attribution", &a.attribution, ATTRIBUTIONS)?;
            check_opt("target-domain", &a.target_domain, DOMAINS)?;
            let u = Update {
                status: a.status.clone(),
                attribution: a.attribution.clone(),
                target_repo: a.target_repo.clone(),
                target_domain: a.target_domain.clone(),
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
            if ctx.dry_run {
                let s = Store::open_for_read(&path)?;
                if s.lesson(a.id)?.is_none() {
                    bail!("lessons: no lesson with id {}", a.id);
                }
                emit(
                    ctx.json,
                    &json!({"id": a.id, "updated": false, "dry_run": true}),
                    "lessons update (dry run): nothing written\n",
                );
                return Ok(0);
            }
            let mut s = match Store::open_existing(&path)? {
                Some(_) => Store::open(&path)?,
                None => bail!(
                    "lessons: no lesson with id {} (no state file yet at {})",
                    a.id,
                    path.display()
                ),
            };
            if !s.update_lesson(a.id, &u)? {
                bail!("lessons: no lesson with id {}", a.id);
            }
            emit(
                ctx.json,
                &json!({"id": a.id, "updated": true}),
                &format!("updated lesson {}\n", a.id),
            );
        }
        LessonsCmd::Snapshot => {
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
                &json!({"enabled": true, "total": snap.total, "open": snap.open,
                        "by_type": snap.by_type, "by_status": snap.by_status}),
                &human,
            );
        }
    }
    Ok(0)
}
