//! The lessons journal (docs/reports.md#afk-lessons) as ticks use it: an
//! observer, never a gate.
//! `Journal::auto` is the one entry point for automatic lessons; whatever goes
//! wrong inside it becomes one warning line and the tick goes on unchanged.

use crate::command_error::UsageError;
use crate::config::Config;
use crate::store::Source;
use crate::store::lessons::{Lesson, NewLesson};
use crate::types::RepoName;
use crate::types::lesson::LessonSource;
use std::path::Path;
use std::time::Duration;

/// Lesson types are slugs: lower-case letters, digits and `_`; another
/// `--type` is a usage error (exit 2).
pub fn check_type(t: &str) -> Result<(), UsageError> {
    if crate::core::kinds::is_slug(t) {
        Ok(())
    } else {
        Err(UsageError(format!(
            "lessons: --type \"{t}\" is not a slug (lower-case letters, digits and _, e.g. {})",
            crate::core::kinds::LessonKind::NAMES.join(", ")
        )))
    }
}

pub struct Journal {
    enabled: bool,
    /// false: lessons are read, never recorded
    writes: bool,
    source: Source,
    dedup: Duration,
}

impl Journal {
    /// The journal in the state file at `state_path`; `read_only`: it records nothing.
    pub fn new(cfg: &Config, state_path: &Path, read_only: bool) -> Journal {
        let mut j = Journal::on(cfg, Source::File(state_path.to_path_buf()));
        j.writes = !read_only;
        j
    }

    /// The journal in a tick's store (a dry run's: its copy in memory).
    pub fn on(cfg: &Config, source: Source) -> Journal {
        Journal {
            enabled: cfg.lessons.enabled,
            writes: true,
            source,
            dedup: cfg.lessons.dedup_window,
        }
    }

    /// Record an automatic lesson (source `auto`, deduplicated). Never fails.
    pub fn auto(&self, mut l: NewLesson) -> Option<i64> {
        if !self.enabled || !self.writes {
            return None;
        }
        l.source = LessonSource::Auto;
        let ty = l.lesson_type.clone();
        let res = self
            .source
            .open()
            .and_then(|mut s| s.insert_lesson(&l, Some(self.dedup)));
        match res {
            Ok(id) => id,
            Err(e) => {
                crate::log::warn(&format!(
                    "lessons: could not record a {ty} lesson (the tick goes on): {}",
                    one_line(&e)
                ));
                None
            }
        }
    }

    /// Open lessons of a repo, newest first, for a prompt. Never fails.
    pub fn for_prompt(&self, repo: &RepoName, limit: usize) -> Vec<Lesson> {
        if !self.enabled || limit == 0 {
            return vec![];
        }
        let res = self.source.read_existing().and_then(|s| match s {
            Some(s) => s.open_lessons(repo, limit),
            None => Ok(vec![]),
        });
        match res {
            Ok(v) => v,
            Err(e) => {
                crate::log::warn(&format!(
                    "lessons: could not read lessons for the prompt (the tick goes on): {}",
                    one_line(&e)
                ));
                vec![]
            }
        }
    }
}

fn one_line(e: &anyhow::Error) -> String {
    e.to_string().replace('\n', " ")
}

/// A lesson as one prompt line: `[type] root cause — suggestion`.
pub fn prompt_line(l: &Lesson) -> String {
    let mut s = format!("[{}]", l.lesson_type);
    if let Some(w) = &l.work_item {
        s.push_str(&format!(" {w}:"));
    }
    if let Some(r) = &l.root_cause {
        s.push_str(&format!(" {r}"));
    }
    if let Some(sg) = &l.suggestion {
        s.push_str(&format!(" — {sg}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use std::path::PathBuf;

    #[test]
    fn types_are_slugs() {
        assert!(check_type("gate_failure").is_ok());
        assert!(check_type("flaky_test2").is_ok());
        assert!(check_type("Gate Failure").is_err());
        assert!(check_type("").is_err());
    }

    fn tmp_state(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("afk-lessons-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d.join("afk.db")
    }

    fn cfg(window: &str) -> Config {
        Config::parse(
            &format!("[lessons]\ndedup_window = \"{window}\"\n"),
            Path::new("."),
        )
        .unwrap()
    }

    fn gate(repo: &str) -> NewLesson {
        NewLesson {
            lesson_type: "gate_failure".into(),
            repo: Some(repo.into()),
            work_item: Some(format!("{repo}#1")),
            stage: Some("ci".into()),
            ..Default::default()
        }
    }

    #[test]
    fn auto_lessons_are_deduplicated_within_the_window() {
        let p = tmp_state("dedup");
        let j = Journal::new(&cfg("1h"), &p, false);
        assert!(j.auto(gate("a/b")).is_some());
        assert_eq!(
            j.auto(gate("a/b")),
            None,
            "same type/repo/item/stage: dropped"
        );
        assert!(
            j.auto(gate("a/c")).is_some(),
            "another repo is another lesson"
        );
        let mut other_stage = gate("a/b");
        other_stage.stage = Some("deploy".into());
        assert!(j.auto(other_stage).is_some());
        // manual lessons are never dropped
        let mut s = Store::open(&p).unwrap();
        let mut m = gate("a/b");
        m.source = LessonSource::Manual;
        assert!(s.insert_lesson(&m, None).unwrap().is_some());
        assert!(s.insert_lesson(&m, None).unwrap().is_some());
        let _ = std::fs::remove_dir_all(p.parent().unwrap());
    }

    #[test]
    fn a_zero_window_disables_dedup() {
        let p = tmp_state("zero");
        let j = Journal::new(&cfg("0s"), &p, false);
        assert!(j.auto(gate("a/b")).is_some());
        assert!(j.auto(gate("a/b")).is_some());
        let _ = std::fs::remove_dir_all(p.parent().unwrap());
    }

    #[test]
    fn disabled_or_dry_run_records_nothing_and_touches_nothing() {
        let p = tmp_state("off");
        let mut c = cfg("1h");
        c.lessons.enabled = false;
        assert_eq!(Journal::new(&c, &p, false).auto(gate("a/b")), None);
        assert_eq!(Journal::new(&cfg("1h"), &p, true).auto(gate("a/b")), None);
        assert!(!p.exists());
        assert!(
            Journal::new(&c, &p, false)
                .for_prompt(&"a/b".parse().unwrap(), 5)
                .is_empty()
        );
    }

    #[test]
    fn a_broken_journal_returns_none_instead_of_failing() {
        let p = tmp_state("broken");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(
            &p,
            "garbage garbage garbage garbage garbage garbage garbage garbage garbage garbage",
        )
        .unwrap();
        let j = Journal::new(&cfg("1h"), &p, false);
        assert_eq!(j.auto(gate("a/b")), None);
        assert!(j.for_prompt(&"a/b".parse().unwrap(), 5).is_empty());
        let _ = std::fs::remove_dir_all(p.parent().unwrap());
    }

    #[test]
    fn prompt_lines_read_well() {
        let l = Lesson {
            id: 1,
            created_at: String::new(),
            updated_at: None,
            lesson_type: "gate_failure".into(),
            source: LessonSource::Auto,
            status: crate::types::lesson::LessonStatus::New,
            repo: Some("a/b".into()),
            work_item: Some("a/b#3".into()),
            run_id: None,
            stage: None,
            agent: None,
            root_cause: Some("lint failed".into()),
            suggestion: Some("run the linter before pushing".into()),
            detail: None,
            attribution: None,
            target_repo: None,
            target_domain: None,
            related_item: None,
        };
        assert_eq!(
            prompt_line(&l),
            "[gate_failure] a/b#3: lint failed — run the linter before pushing"
        );
    }
}
