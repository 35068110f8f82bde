//! `afk runs show` for people: the run, its timeline, what the agent said,
//! and the files of its run folder.

use super::Shown;
use crate::core::run_history::{duration_s, human_duration, spend_said};
use crate::store::runs::Run;
use time::OffsetDateTime;

pub(super) fn show(doc: &Shown, r: &Run, now: OffsetDateTime) -> String {
    let mut h = format!(
        "run {}: {} \"{}\" — {}{}\nbranch {}, {}, {}, spend {}\n",
        r.id,
        // a tracker's issue by its key, as every report names it
        crate::core::prompt::place(
            r.repo.as_str(),
            r.issue,
            crate::core::prompt::tracker_key(&r.branch, r.issue).as_deref()
        ),
        crate::core::sanitize::one_line(&r.title, 120),
        r.state,
        r.end_reason
            .as_deref()
            .map(|x| format!(" ({x})"))
            .unwrap_or_default(),
        r.branch,
        crate::core::plural(r.turns as usize, "agent turn", "agent turns"),
        human_duration(duration_s(&r.created_at, r.ended_at.as_deref(), now)),
        spend_said(
            doc.metered.as_ref().map(|m| m.usd),
            doc.run.spend_usd,
            doc.run.reported_usd
        ),
    );
    // a paused run says at which limit, its figures and until when
    if let Some(p) = &doc.run.paused {
        h.push_str(&format!("{}\n", crate::core::budget::pause::cell(p)));
    }
    // its limits, and who raised them by a comment
    if let Some(line) = crate::core::budget::pause::limits_line(&doc.limits) {
        h.push_str(&format!("{line}\n"));
    }
    // why afk's box ended the last turn leads what the run says of it,
    // before the exit status and the log's end (`core::box_reason`)
    if let Some(why) = &doc.box_said {
        h.push_str(&format!(
            "{}: {}\n",
            crate::core::box_reason::LEAD,
            crate::core::sanitize::for_terminal(why)
        ));
    }
    if !doc.spend_sources.is_empty() {
        let parts: Vec<String> = doc
            .spend_sources
            .iter()
            .map(|f| {
                let what = f.turn.map_or("thread".to_string(), |t| format!("turn {t}"));
                format!(
                    "{what} {} ({})",
                    crate::core::budget::spend::usd(f.usd),
                    f.source
                )
            })
            .collect();
        h.push_str(&format!("spend read from: {}\n", parts.join(", ")));
    }
    if let Some(p) = doc.phase {
        h.push_str(&format!(
            "agent phase: {p} ({})\n",
            doc.phase_at.unwrap_or("-")
        ));
    }
    if let Some(code) = doc.exit_status.filter(|c| *c != 0) {
        h.push_str(&format!("agent exited with status {code}\n"));
    }
    h.push('\n');
    for m in &doc.timeline {
        h.push_str(&format!(
            "  {:<20}  {}\n",
            crate::clock::shown(m.at),
            m.what
        ));
    }
    said_part(&mut h, doc);
    files_part(&mut h, doc);
    h
}

/// What the agent and the gate said, and the reviews and commands afk acted on.
fn said_part(h: &mut String, doc: &Shown) {
    if let Some(m) = &doc.final_message {
        let fence = crate::core::sanitize::fence_for(m);
        h.push_str(&format!(
            "\nfinal message (the agent's own words):\n{fence}text\n{}\n{fence}\n",
            crate::core::sanitize::for_terminal(m)
        ));
    }
    if let Some(g) = &doc.gate {
        h.push_str(&format!(
            "\nthe change gate: {}\n",
            crate::core::sanitize::for_terminal(g)
        ));
    }
    if let Some(end) = &doc.log_end {
        h.push_str(&format!(
            "\nthe end of agent.log:\n{}\n",
            crate::core::sanitize::for_terminal(end)
        ));
    }
    if !doc.conversation.is_empty() {
        h.push_str("\nreviews and commands:\n");
        for i in &doc.conversation {
            h.push_str(&format!(
                "  {:<20}  {} by {}: {} — {}\n",
                i.at,
                crate::core::answer::item_name(doc.forge, i.kind, i.item),
                crate::core::sanitize::one_line(&i.author, 60),
                crate::core::sanitize::one_line(&i.what.words(), 100),
                i.outcome.words()
            ));
        }
    }
}

/// The checkout, the run folder's files, the progress file and the log.
fn files_part(h: &mut String, doc: &Shown) {
    if let Some(c) = &doc.checkout {
        h.push_str(&format!("\nthe agent's checkout (on this host): {c}\n"));
    }
    h.push_str(&format!("\nfiles in {} (on this host):\n", doc.run_dir));
    for f in doc.files {
        h.push_str(&format!("  {f}\n"));
    }
    if doc.progress_skipped_lines > 0 {
        h.push_str(&format!(
            "\n(progress.jsonl: {} over {} MiB skipped; afk reads its last {} MiB)\n",
            crate::core::plural(doc.progress_skipped_lines, "line", "lines"),
            crate::core::progress::MAX_LINE >> 20,
            crate::core::progress::TAIL_BYTES >> 20,
        ));
    }
    if !doc.progress.is_empty() {
        h.push_str("\n--- progress.jsonl ---\n");
        for l in &doc.progress {
            h.push_str(&format!("{l}\n"));
        }
    }
    if let Some(text) = doc.agent_log {
        h.push_str("\n--- agent.log ---\n");
        h.push_str(text);
        if !text.ends_with('\n') {
            h.push('\n');
        }
    }
}
