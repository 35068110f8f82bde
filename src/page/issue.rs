//! The status issue (`status_issue`, SPEC 10.1): after a tick that ran, the
//! issue's body is made the Markdown twin of the status page, from the same
//! [`Page`] the HTML is built from. One conditional GET (the state file
//! keeps its `ETag`), then a PATCH only when the text differs: at most one
//! edit per tick, none when nothing changed. The body read is only compared,
//! never kept or shown: whatever someone else wrote there is data, and the
//! next edit replaces it.

use crate::core::status_issue::{IssueRef, SkipRow, Twin, needs_edit, render};
use crate::core::status_page::Page;
use crate::forge::Forge;
use crate::session::Session;
use crate::store::Store;
use crate::types::IssueNumber;
use anyhow::Result;

/// The body for `page`, with what only the issue shows (tick health without
/// its moments, the last poll's skips) read from the same state file.
pub(crate) fn body(s: &Store, page: &Page) -> Result<String> {
    // tick health as the page has it, without its moments
    let ticks: Vec<crate::core::status_issue::TickRow> = page
        .ticks
        .iter()
        .map(|t| crate::core::status_issue::TickRow {
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

/// Read the issue (conditionally) and replace its body when it differs.
pub(crate) fn keep(forge: &dyn Forge, issue: &IssueRef, body: &str) -> Result<Kept> {
    let current = forge.issue(&issue.repo, issue.number)?;
    if !needs_edit(current.body.as_deref(), body) {
        return Ok(Kept::Unchanged);
    }
    forge.edit_issue_body(&issue.repo, issue.number, body)?;
    Ok(Kept::Edited(body.chars().count()))
}

/// After a tick: keep the issue from `page` (built once, for the HTML page
/// too). Never fails the tick: a problem is one WARN line. A dry run reads
/// the issue and says what it would write, and writes nothing.
pub(crate) fn after_tick(ctx: &Session, issue: &IssueRef, s: &Store, page: &Page) {
    let done = body(s, page).and_then(|b| {
        let forge = ctx.status_issue_forge()?;
        keep(forge.as_ref(), issue, &b)
    });
    let would = if ctx.dry_run() { "would " } else { "" };
    match done {
        Ok(Kept::Unchanged) => {
            crate::log::debug(&format!("status issue {issue}: unchanged; nothing written"))
        }
        Ok(Kept::Edited(n)) if ctx.dry_run() => crate::log::info(&format!(
            "status issue {issue}: {would}replace its body ({n} characters){}",
            " (dry run: nothing written)"
        )),
        Ok(Kept::Edited(n)) => crate::log::debug(&format!(
            "status issue {issue}: body replaced ({n} characters)"
        )),
        Err(e) => crate::log::warn(&format!("status issue {issue}: not updated: {e:#}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forge::memory::MemoryForge;

    fn the_issue() -> IssueRef {
        IssueRef::parse("acme/ops#5").unwrap()
    }

    #[test]
    fn the_issue_is_edited_only_when_its_text_differs() {
        let forge = MemoryForge::new("afk")
            .repo("acme/ops")
            .issue("acme/ops", 5, "afk status");
        let issue = the_issue();
        assert_eq!(keep(&forge, &issue, "twin\n").unwrap(), Kept::Edited(5));
        assert_eq!(keep(&forge, &issue, "twin\n").unwrap(), Kept::Unchanged);
        assert_eq!(forge.writes(), vec!["edit_issue_body acme/ops#5"]);
        // someone else's edit is replaced by the next tick, once
        let forge = forge.with_issue("acme/ops", 5, |i| i.body = Some("pwned".into()));
        assert_eq!(keep(&forge, &issue, "twin\n").unwrap(), Kept::Edited(5));
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
        assert!(keep(&forge, &the_issue(), "twin\n").is_err());
        assert!(forge.writes().is_empty());
    }
}
