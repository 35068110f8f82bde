//! Whether a command's words can be taken as its author's
//! (docs/reviews.md#commands). Gitea's and GitLab's answers date a comment
//! to the second and keep no edit history, so a rewrite in the comment's
//! first second, before any tick read it, shows nowhere. Where an account
//! afk does not trust holds a forge token that may edit others' comments
//! (`runner.workspace = "agent"`) and no signed delivery reported the
//! comment as it was written (`afk hook`), afk cannot prove the words its
//! author's: a `stop` or `hold` is still carried out (each only halts the
//! run, which the agent can do by itself), any other command waits for its
//! author's 👍 on afk's question — a reaction nobody else can give in their
//! name, on a comment afk wrote and checks unchanged.

use crate::types::TalkSaid;

/// How afk knows a comment reads as its author wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// the forge shows every edit (GitHub's `lastEditedAt`), or no account
    /// but trusted people's and afk's may edit it, or a signed delivery
    /// reported it as written (its edit would be reported too)
    Shown,
    /// none of those: an edit in its first second would show nowhere
    Unprovable,
}

/// The proof a comment has: `tells_edits` (the forge shows an edit in a
/// comment's own second), `agent_holds_token` (the agent's account holds a
/// forge token: `workspace = "agent"`), `delivered` (a signed delivery
/// reported the comment as written).
pub fn proof(tells_edits: bool, agent_holds_token: bool, delivered: bool) -> Proof {
    if tells_edits || !agent_holds_token || delivered {
        Proof::Shown
    } else {
        Proof::Unprovable
    }
}

/// Whether afk asks a command's author before carrying it out: only a
/// command it cannot prove unedited that does more than halt the run (an
/// unknown verb is only answered with the verbs, a `budget` not in its
/// grammar only with the grammar).
pub fn asks_its_author(proof: Proof, what: &TalkSaid) -> bool {
    let answered_only = match what {
        TalkSaid::Stop | TalkSaid::Hold | TalkSaid::Unknown(_) => true,
        TalkSaid::Budget(args) => crate::budget::budget_command::parse(args).is_none(),
        _ => false,
    };
    proof == Proof::Unprovable && !answered_only
}

/// The reaction that confirms, as afk's forge adapters spell it (GitLab's
/// `thumbsup` is read as this).
pub(crate) const THUMBS_UP: &str = "+1";

/// afk's question on the thread: which comment, which verb, what a 👍
/// does. Nothing of the comment's text is in it (the author reads their
/// comment itself, which afk checks unchanged since it first read it).
pub fn question(comment: i64, verb: &str) -> String {
    format!(
        "afk cannot tell whether comment {comment} (a {verb} command) reads as its author wrote it: \
         this forge dates comments to the second and shows no edit made in a comment's first \
         second, and the agent's account holds a forge token. To its author: if that comment \
         reads as you wrote it, add a 👍 to this one and afk carries it out; otherwise leave it, \
         and nothing is done. (No 👍 is needed with a signed webhook: see afk's docs/reviews.md.)",
        verb = crate::sanitize::md_code(verb)
    )
}

/// What a waiting command's state is on this tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    /// its author's 👍 is on afk's question, both comments as they were
    Given,
    /// not yet
    NotYet,
    /// never: why
    Void(&'static str),
}

/// Whether a waiting command is carried out: `question` is afk's question
/// as read now (None: gone), intact when its body is what afk wrote and
/// its dates show no edit; `command_void` why the command comment itself
/// is no command now (edited, changed since afk first read it, gone);
/// `reactions` (login, content) on the question. Only the author's own 👍
/// counts (logins compared without case), never another's.
pub fn confirmation(
    author: &str,
    question: Option<bool>,
    command_void: Option<&'static str>,
    reactions: &[(String, String)],
) -> Confirmation {
    if let Some(why) = command_void {
        return Confirmation::Void(why);
    }
    match question {
        None => return Confirmation::Void("afk's question is gone"),
        Some(false) => return Confirmation::Void("afk's question was edited"),
        Some(true) => {}
    }
    let given = reactions
        .iter()
        .any(|(who, what)| who.eq_ignore_ascii_case(author) && what == THUMBS_UP);
    if given && !author.is_empty() {
        Confirmation::Given
    } else {
        Confirmation::NotYet
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_is_unprovable_only_where_the_forge_hides_an_edit_and_an_untrusted_account_could_make_it()
     {
        // (tells_edits, agent_holds_token, delivered, proof)
        let cases = [
            (false, true, false, Proof::Unprovable),
            (false, true, true, Proof::Shown),
            (false, false, false, Proof::Shown),
            (true, true, false, Proof::Shown),
            (true, false, true, Proof::Shown),
        ];
        for (tells, holds, delivered, want) in cases {
            assert_eq!(
                proof(tells, holds, delivered),
                want,
                "{tells} {holds} {delivered}"
            );
        }
    }

    #[test]
    fn an_unprovable_command_that_only_halts_is_carried_out_any_other_waits_for_its_author() {
        let cases = [
            (Proof::Unprovable, TalkSaid::Stop, false),
            (Proof::Unprovable, TalkSaid::Hold, false),
            (Proof::Unprovable, TalkSaid::Resume, true),
            (Proof::Unprovable, TalkSaid::Fix("go".into()), true),
            // budget spends money: in resume's and fix's class
            (Proof::Unprovable, TalkSaid::Budget("+5".into()), true),
            (Proof::Unprovable, TalkSaid::Budget("time 2h".into()), true),
            // ... but one not in its grammar is only answered with it
            (Proof::Unprovable, TalkSaid::Budget("".into()), false),
            (Proof::Unprovable, TalkSaid::Budget("lots".into()), false),
            (Proof::Unprovable, TalkSaid::Unknown("merge".into()), false),
            (Proof::Shown, TalkSaid::Resume, false),
            (Proof::Shown, TalkSaid::Fix("go".into()), false),
            (Proof::Shown, TalkSaid::Budget("+5".into()), false),
        ];
        for (p, what, want) in cases {
            assert_eq!(asks_its_author(p, &what), want, "{p:?} {what:?}");
        }
    }

    #[test]
    fn only_the_authors_own_thumbs_up_on_afk_s_unedited_question_carries_a_waiting_command_out() {
        let r = |who: &str, what: &str| (who.to_string(), what.to_string());
        let alice_up = vec![r("Alice", "+1")];
        type Case = (
            Option<bool>,
            Option<&'static str>,
            Vec<(String, String)>,
            Confirmation,
        );
        let cases: Vec<Case> = vec![
            (Some(true), None, alice_up.clone(), Confirmation::Given),
            (Some(true), None, vec![], Confirmation::NotYet),
            // another's 👍 (the agent's account's) confirms nothing
            (
                Some(true),
                None,
                vec![r("afk-agent", "+1")],
                Confirmation::NotYet,
            ),
            // the author's other reactions confirm nothing
            (
                Some(true),
                None,
                vec![r("alice", "heart")],
                Confirmation::NotYet,
            ),
            (
                Some(false),
                None,
                alice_up.clone(),
                Confirmation::Void("afk's question was edited"),
            ),
            (
                None,
                None,
                alice_up.clone(),
                Confirmation::Void("afk's question is gone"),
            ),
            (
                Some(true),
                Some("changed after afk read it"),
                alice_up,
                Confirmation::Void("changed after afk read it"),
            ),
        ];
        for (q, void, reactions, want) in cases {
            assert_eq!(
                confirmation("alice", q, void, &reactions),
                want,
                "{q:?} {void:?} {reactions:?}"
            );
        }
        assert_eq!(
            confirmation("", Some(true), None, &[r("", "+1")]),
            Confirmation::NotYet
        );
    }

    #[test]
    fn afk_s_question_names_the_comment_and_the_verb_as_code_and_nothing_of_its_text() {
        let q = question(17, "fix`](http://x)");
        assert!(q.contains("comment 17"), "{q}");
        assert!(q.contains("``fix`](http://x)``"), "{q}");
        assert!(q.contains("add a 👍 to this one"), "{q}");
    }
}
