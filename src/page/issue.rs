//! The status issue (`status_issue`, docs/configuration.md): after a tick that
//! ran, the issue's body is made the Markdown twin of the status page, from the
//! same [`Page`] the HTML is built from. The state file records the digest of
//! the body afk last wrote there: a tick whose text is the same asks the forge
//! nothing (no GET: on a forge without ETags, Gitea's, that was the whole
//! issue every tick), one whose text changed PATCHes it, without reading it
//! first. afk never reads the body back: whatever someone else wrote there
//! is replaced by the next change of afk's text.

use crate::core::status::issue::{IssueRef, SkipRow, Twin, Written, needs_edit, render};
use crate::core::status::page::Page;
use crate::forge::Forge;
use crate::store::Store;
use crate::types::IssueNumber;
use anyhow::Result;

/// The body for `page`, with what only the issue shows (tick health without
/// its moments, the last poll's skips) read from the same state file.
pub(crate) fn body(s: &Store, page: &Page) -> Result<String> {
    // tick health as the page has it, without its moments
    let ticks: Vec<crate::core::status::issue::TickRow> = page
        .ticks
        .iter()
        .map(|t| crate::core::status::issue::TickRow {
            kind: t.kind.clone(),
            state: t.state.clone(),
            exit: t.exit,
            errors: t.errors,
        })
        .collect();
    let skipped: Option<Vec<SkipRow>> = s.poll_skips()?.map(|rows| {
        rows.into_iter()
            .map(|(repo, issue, reason)| SkipRow {
                repo,
                issue: IssueNumber(issue),
                reason,
            })
            .collect()
    });
    Ok(render(&Twin {
        page,
        ticks: &ticks,
        skipped: skipped.as_deref(),
    }))
}

/// What became of the issue.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Kept {
    /// its body is the twin already: nothing written
    Unchanged,
    /// its body was replaced (or, for a dry run, would be): its length in characters
    Edited(usize),
}

/// Replace the issue's body: one PATCH, no read.
pub(crate) fn write(forge: &dyn Forge, issue: &IssueRef, body: &str) -> Result<Kept> {
    forge.edit_issue_body(&issue.repo, crate::forge::Target::Issue(issue.number), body)?;
    Ok(Kept::Edited(body.chars().count()))
}

/// The digest the state file keeps of a body afk wrote (SHA-256, hex).
fn digest(body: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(body.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Keep the issue from `body`: nothing when afk last wrote exactly that
/// there, else one PATCH through the tick's forge (a dry run's records it)
/// and the record of it in the tick's store (a dry run's copy).
fn keep(on: &super::On, issue: &IssueRef, body: &str) -> Result<Kept> {
    let key = format!("{}/{issue}", on.cfg.forge.url.trim_end_matches('/'));
    let d = digest(body);
    let last = on.store.status_issue_written()?;
    let last = last
        .as_ref()
        .map(|(issue, digest)| Written { issue, digest });
    let wanted = Written {
        issue: &key,
        digest: &d,
    };
    if !needs_edit(last, wanted) {
        return Ok(Kept::Unchanged);
    }
    let kept = write((on.forge)()?, issue, body)?;
    if let Err(e) = on.store.record_status_issue_written(&key, &d) {
        crate::log::warn(&format!(
            "status issue {issue}: body replaced, but the state file cannot record it (the next tick writes it again): {e:#}"
        ));
    }
    Ok(kept)
}

/// After a tick: keep the issue from `page` (built once, for the HTML page
/// too). Never fails the tick: a problem is one WARN line. A dry run says
/// what it would write, and writes nothing.
pub(crate) fn after_tick(on: &super::On, issue: &IssueRef, page: &Page) {
    let done = body(on.store, page).and_then(|b| keep(on, issue, &b));
    match done {
        Ok(Kept::Unchanged) => {
            crate::log::debug(&format!("status issue {issue}: unchanged; nothing written"))
        }
        Ok(Kept::Edited(n)) => {
            let told = format!(
                "status issue {issue}: {} ({n} characters){}",
                on.tense.pick("body replaced", "would replace its body"),
                on.tense.pick("", " (dry run: nothing written)")
            );
            match on.tense {
                crate::tense::Tense::Did => crate::log::debug(&told),
                crate::tense::Tense::Would => crate::log::info(&told),
            }
        }
        Err(e) => crate::log::warn(&format!("status issue {issue}: not updated: {e:#}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use afk_forge_memory::MemoryForge;

    fn the_issue() -> IssueRef {
        IssueRef::parse("acme/ops#5").unwrap()
    }

    #[test]
    fn a_write_replaces_the_body_without_reading_it() {
        let forge = MemoryForge::new("afk")
            .repo("acme/ops")
            .issue("acme/ops", 5, "afk status")
            .with_issue("acme/ops", 5, |i| i.body = Some("someone's".into()));
        assert_eq!(
            write(&forge, &the_issue(), "twin\n").unwrap(),
            Kept::Edited(5)
        );
        assert_eq!(forge.writes(), vec!["edit_issue_body acme/ops#5"]);
        assert_eq!(forge.calls("issue"), 0, "never read");
        assert_eq!(
            forge.issue_now("acme/ops", 5).body.as_deref(),
            Some("twin\n")
        );
    }

    #[test]
    fn a_missing_issue_is_an_error_and_nothing_is_written() {
        let forge = MemoryForge::new("afk")
            .repo("acme/ops")
            .issue("acme/ops", 1, "other");
        assert!(write(&forge, &the_issue(), "twin\n").is_err());
        assert!(forge.writes().is_empty());
    }

    #[test]
    fn a_digest_names_the_text_exactly() {
        assert_eq!(digest("twin\n"), digest("twin\n"));
        assert_ne!(digest("twin\n"), digest("twin\r\n"));
        assert_eq!(digest("").len(), 64);
    }
}
