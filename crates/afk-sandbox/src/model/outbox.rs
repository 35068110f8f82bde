//! What the forge's outgoing webhooks hold (`webhooks.rs` sends them):
//! where they go and how they are signed, the sender's queue, and the
//! events, in no dialect's words, the model reports where they happen.

use serde_json::Value;
use std::collections::VecDeque;
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex};

/// Where deliveries go, signed with what, and the sender's queue.
#[derive(Default)]
pub(crate) struct Outbox {
    /// the dialect's name (`Dialect::as_str`) its deliveries are in
    pub(crate) dialect: &'static str,
    pub(crate) url: Option<String>,
    pub(crate) secret: String,
    pub(crate) tx: Option<SyncSender<Delivery>>,
    /// every delivery and how it ended, the newest [`KEPT`]
    pub(crate) sent: Arc<Mutex<VecDeque<Value>>>,
    /// comments edited since the last request's deliveries (kept only
    /// while deliveries are sent)
    pub(crate) edited: Vec<i64>,
}

impl Outbox {
    /// Comment `id`'s body was edited: its delivery goes with this
    /// request's others.
    pub(crate) fn comment_edited(&mut self, id: i64) {
        if self.url.is_some() {
            self.edited.push(id);
        }
    }
}

/// One delivery for the sender thread.
pub(crate) struct Delivery {
    pub(crate) url: String,
    pub(crate) event: String,
    pub(crate) id: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

/// Something that happened on the forge, in no dialect's words.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Event {
    Labeled {
        repo: String,
        number: u64,
        label: String,
        added: bool,
        by: String,
    },
    /// an issue or PR opened (`state` "opened"), closed or reopened
    State {
        repo: String,
        number: u64,
        action: &'static str,
    },
    Comment {
        repo: String,
        number: u64,
        id: i64,
        /// an edit of it, not its writing
        edited: bool,
    },
    /// an award (a reaction) on a comment: GitLab's `Emoji Hook`
    Award {
        repo: String,
        number: u64,
        /// the comment's id
        note: i64,
        id: i64,
    },
    Review {
        repo: String,
        number: u64,
        id: i64,
    },
    /// a reply in the thread of a submitted review, which the forge keeps
    /// under the replied review (Gitea: `crate::reviews::reply`)
    ThreadReply {
        repo: String,
        number: u64,
        review: i64,
        id: i64,
    },
    /// a line comment of a review new with it (GitHub's review with line
    /// comments, and GitHub's reply in a thread: a review of its own whose
    /// one comment is the reply); GitHub alone delivers each of its own
    LineComment {
        repo: String,
        number: u64,
        review: i64,
        id: i64,
    },
    Status {
        repo: String,
        sha: String,
        state: String,
        context: String,
    },
    CheckRun {
        repo: String,
        sha: String,
        name: String,
        conclusion: Option<String>,
    },
    Push {
        repo: String,
        branch: String,
        before: String,
        after: String,
    },
}
