//! The human's answer (issue 12): when an escalated issue is armed again, the
//! next prompt carries what trusted people said since afk's escalation comment.
//! Pure: who is trusted is the caller's question, asked lazily per author.

use crate::conversation::FirstRead;

/// One comment as the forge listed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    pub id: i64,
    pub author: String,
    pub body: String,
}

/// The comments after afk's escalation comment (`after_id`), without afk's
/// own: the trusted people's, in order, and how many others were left out.
/// Comment ids grow with time on both forges.
pub fn since_escalation(
    comments: &[Said],
    after_id: i64,
    me: &str,
    mut trusted: impl FnMut(&str) -> bool,
) -> (Vec<Said>, usize) {
    let mut kept = vec![];
    let mut left_out = 0;
    for c in comments.iter().filter(|c| c.id > after_id) {
        if c.author.eq_ignore_ascii_case(me) {
            continue;
        }
        if trusted(&c.author) {
            kept.push(c.clone());
        } else {
            left_out += 1;
        }
    }
    (kept, left_out)
}

/// Why an answer afk reads now is not carried into the prompt (None: it
/// is). The forges date to the second, so an answer edited in its own second
/// shows no edit: one afk has read before is carried only while its body is
/// what afk first read (`conversation::first_read`), and one whose first
/// read was folded past the run's bound is not known, so not carried.
pub fn not_carried(first: FirstRead) -> Option<&'static str> {
    match first {
        FirstRead::Now
        | FirstRead::Before {
            same_body: true, ..
        } => None,
        FirstRead::Before {
            same_body: false, ..
        } => Some("changed after afk read it"),
        FirstRead::Folded => Some("read before, what it said then not kept"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hardening item 8b: what afk first read of an answer is what reaches
    /// the prompt, whatever its dates say.
    #[test]
    fn an_answer_is_carried_only_as_afk_first_read_it() {
        let before = |command, same_body| FirstRead::Before { command, same_body };
        let changed = Some("changed after afk read it");
        // what afk read of it before -> why it is not carried
        let cases = [
            // read now for the first time: carried as it is
            (FirstRead::Now, None),
            // read before, the same body: carried, a command or not then
            (before(false, true), None),
            (before(true, true), None),
            // its body is not what afk first read: never carried
            (before(false, false), changed),
            (before(true, false), changed),
            // read before, what it said then folded away: not carried
            (
                FirstRead::Folded,
                Some("read before, what it said then not kept"),
            ),
        ];
        for (first, why) in cases {
            assert_eq!(not_carried(first), why, "{first:?}");
        }
    }

    fn said(id: i64, author: &str) -> Said {
        Said {
            id,
            author: author.into(),
            body: format!("comment {id}"),
        }
    }

    #[test]
    fn only_trusted_people_after_the_escalation_are_carried() {
        let comments = vec![
            said(3, "alice"),   // before the escalation
            said(5, "afk-bot"), // the escalation itself
            said(6, "alice"),
            said(7, "mallory"),
            said(8, "AFK-BOT"), // afk's own checklist edit
            said(9, "bob"),
        ];
        let trusted = |who: &str| who == "alice" || who == "bob";
        let (kept, left_out) = since_escalation(&comments, 5, "afk-bot", trusted);
        let ids: Vec<i64> = kept.iter().map(|c| c.id).collect();
        assert_eq!(ids, vec![6, 9]);
        assert_eq!(left_out, 1, "mallory's comment is left out and counted");
        let (none, zero) = since_escalation(&comments, 9, "afk-bot", trusted);
        assert!(none.is_empty() && zero == 0);
    }
}
