//! Linear's ready rule (docs/trackers.md#linear): which issues the search
//! asks for, who armed an issue (from its `IssueHistory`), whether it
//! changed after, and whether that person is trusted. Every value comes in
//! as Linear sent it (docs/fidelity/linear.md); the adapter does the
//! reading.

pub use super::described::{MAX_DESCRIBED_BLOCKERS, blockers_under};
use super::jira::{rfc3339, time};
pub use super::trust::Trust;
use afk_model::tracker::{LinearHistory, LinearUser};
use afk_model::{TimelineEvent, TimelineKind};
use serde_json::{Value, json};
use std::collections::HashMap;

/// The state types of a finished issue: never ready, and what abandonment
/// reads as done.
pub const DONE_TYPES: [&str; 3] = ["completed", "canceled", "duplicate"];

/// What arms an issue (`[tracker] ready`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ready {
    /// the ready label, by its name (compared without case, as Linear's
    /// `eqIgnoreCase` filter compares it)
    Label(String),
    /// a move into one of these states (one per mapped team), read as the
    /// ready label
    Status(Vec<String>),
    /// a delegation to afk's app user (this id), read as the ready label
    Delegate(String),
}

/// The search that nominates ready issues: the mapped teams (by key), not
/// finished, and armed as `ready` says. Each candidate is read again; the
/// search only nominates.
pub fn ready_filter(team_keys: &[String], ready: &Ready) -> Value {
    let mut f = json!({
        "team": {"key": {"in": team_keys}},
        "state": {"type": {"nin": DONE_TYPES}},
    });
    match ready {
        Ready::Label(l) => f["labels"] = json!({"some": {"name": {"eqIgnoreCase": l}}}),
        Ready::Status(ids) => f["state"]["id"] = json!({"in": ids}),
        Ready::Delegate(me) => f["delegate"] = json!({"id": {"eq": me}}),
    }
    f
}

/// Whether an answer's error (as afk words it, Linear's message and code
/// in it) is Linear's rate limit: its `RATELIMITED` code (the docs) or
/// its `ratelimited` type (the SDK's `error.ts`).
pub fn rate_limited(error: &str) -> bool {
    error.contains("RATELIMITED") || error.contains("ratelimited")
}

pub use super::marker::{marker_in, marker_out};

/// A history entry's id is a UUID, which afk's timeline numbers: its first
/// fifteen hex digits (60 bits of a v4 UUID's random ones) as a number,
/// the same every tick. An id that is no UUID is the adapter's error.
pub fn event_id(uuid: &str) -> Result<i64, BadEntry> {
    let hex: String = uuid.chars().filter(|c| *c != '-').collect();
    let ok = hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit());
    match ok {
        true => i64::from_str_radix(&hex[..15], 16).map_err(|_| BadEntry(uuid.into())),
        false => Err(BadEntry(uuid.into())),
    }
}

/// A history entry afk cannot place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadEntry(pub String);

impl std::fmt::Display for BadEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "linear: a history entry's id or time is not Linear's ({:?})",
            self.0
        )
    }
}

/// The history in the order it happened: by `createdAt` as an instant,
/// then by id (Linear documents no order for `issue.history`, and its
/// pages may come in either).
pub fn in_order(history: &[LinearHistory]) -> Result<Vec<&LinearHistory>, BadEntry> {
    let mut out = vec![];
    for h in history {
        let at = time(&h.created_at).ok_or_else(|| BadEntry(h.created_at.clone()))?;
        out.push((at, h));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
    Ok(out.into_iter().map(|(_, h)| h).collect())
}

/// What the issue is now, beside its history.
pub struct Now<'a> {
    /// its `creator`'s id (None: an integration made it, or a deleted account)
    pub creator: Option<&'a str>,
    pub created: Option<&'a str>,
    /// the names of afk's labels (and the map's) it carries
    pub labels: &'a [String],
    /// afk's ready label, and what stands for it when it is no label
    pub ready_label: &'a str,
    pub ready: &'a Ready,
}

/// Which changes the map reads.
pub struct MapReads<'a> {
    /// the map narrows by project
    pub projects: bool,
    /// the labels the map narrows by
    pub labels: &'a [String],
}

/// An issue's history as afk's forge-neutral timeline, in the order it
/// happened, so the forges' ready rule reads it as it reads a forge's:
/// - a label an entry added or removed is a label event by the entry's
///   actor, named through `names` (label id → name; a label afk does not
///   read is left out); an entry with no actor (an integration, an
///   automation, a system change) or with a bot actor is anonymous (`""`,
///   never trusted);
/// - with `ready = "status"`, a move into a ready state is the ready
///   label's addition and a move out its removal; with `ready =
///   "delegate"`, a delegation to afk's user and its removal;
/// - a label the issue carries that no entry added came with its creation
///   (Linear writes no history in an issue's first minutes): a label event
///   first, id 0, by the creator;
/// - an entry by anyone but `me` that changes what enters the prompt or
///   picks the repository (the title, the description, the team, the
///   project where the map narrows by projects, a map label) is one
///   `Renamed` event before its label events: Linear groups one actor's
///   changes, so the arming entry's own edit is the armer's, before the
///   arming. A description edited in that entry by someone else
///   (`descriptionUpdatedBy`) is theirs, after it.
pub fn timeline(
    history: &[LinearHistory],
    (me, me_login): (&str, &str),
    now: &Now,
    names: &HashMap<String, String>,
    map: &MapReads,
) -> Result<Vec<TimelineEvent>, BadEntry> {
    let ordered = in_order(history)?;
    let event =
        |id: i64, kind: TimelineKind, label: Option<&str>, actor: &str, at: &str| TimelineEvent {
            id,
            kind,
            label: label.map(str::to_string),
            actor: match actor == me && !me.is_empty() {
                true => me_login.to_string(),
                false => actor.to_string(),
            },
            created_at: time(at).map(rfc3339),
        };
    let named = |ids: &Option<Vec<String>>| -> Vec<String> {
        ids.iter()
            .flatten()
            .filter_map(|id| names.get(id).cloned())
            .collect()
    };
    // (into, out of) the ready state or delegation, for an entry
    let arms = |h: &LinearHistory| match now.ready {
        Ready::Label(_) => (false, false),
        Ready::Status(ids) => (
            h.to_state_id.as_ref().is_some_and(|s| ids.contains(s)),
            h.from_state_id.as_ref().is_some_and(|s| ids.contains(s)),
        ),
        Ready::Delegate(id) => (
            h.to_delegate.as_ref().is_some_and(|d| d.id == *id),
            h.from_delegate.as_ref().is_some_and(|d| d.id == *id),
        ),
    };
    let labelled = matches!(now.ready, Ready::Label(_));
    let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let added_ever = |label: &str| {
        history
            .iter()
            .any(|h| match same(label, now.ready_label) && !labelled {
                true => arms(h).0,
                false => named(&h.added_label_ids).iter().any(|l| same(l, label)),
            })
    };
    let mut out = vec![];
    for l in now.labels.iter().filter(|l| !added_ever(l)) {
        let at = now.created.unwrap_or("");
        // Linear logs no change made in an issue's first 3 minutes, by
        // anyone: the ready label (or state, or delegation) with no entry
        // may be another person's, so it is no one's; another label is
        // the creator's
        let by = match same(l, now.ready_label) {
            true => "",
            false => now.creator.unwrap_or(""),
        };
        out.push(event(0, TimelineKind::LabelAdded, Some(l), by, at));
    }
    for h in ordered {
        let id = event_id(&h.id)?;
        let by = match (&h.actor, &h.bot_actor) {
            (Some(a), None) => a.id.as_str(),
            _ => "",
        };
        let at = h.created_at.as_str();
        let added = named(&h.added_label_ids);
        let removed = named(&h.removed_label_ids);
        let touches_map = |l: &String| map.labels.iter().any(|m| same(m, l));
        let reads = h.from_title.is_some()
            || h.to_title.is_some()
            || h.updated_description == Some(true)
            || h.from_team_id.is_some()
            || h.to_team_id.is_some()
            || (map.projects && (h.from_project_id.is_some() || h.to_project_id.is_some()))
            || added.iter().chain(&removed).any(touches_map);
        if (by != me || me.is_empty()) && reads {
            out.push(event(id, TimelineKind::Renamed, None, by, at));
        }
        // with ready by status or delegation the ready label is that alone
        let real = |l: &&String| labelled || !same(l, now.ready_label);
        for l in added.iter().filter(real) {
            out.push(event(id, TimelineKind::LabelAdded, Some(l), by, at));
        }
        for l in removed.iter().filter(real) {
            out.push(event(id, TimelineKind::LabelRemoved, Some(l), by, at));
        }
        match arms(h) {
            (true, _) => out.push(event(
                id,
                TimelineKind::LabelAdded,
                Some(now.ready_label),
                by,
                at,
            )),
            (_, true) => out.push(event(
                id,
                TimelineKind::LabelRemoved,
                Some(now.ready_label),
                by,
                at,
            )),
            _ => {}
        }
        let others = h
            .description_updated_by
            .iter()
            .flatten()
            .find(|u| u.id != by && u.id != me);
        if let (Some(u), Some(true)) = (others, h.updated_description) {
            out.push(event(id, TimelineKind::Renamed, None, &u.id, at));
        }
    }
    Ok(out)
}

/// The rule "trust, Linear": never afk's own account or the agent's;
/// anyone named in `trusted_accounts`; otherwise an active user who is no
/// guest and no app, and (with `trusted_team_members`) a member of the
/// issue's team. A workspace admin is trusted only as a member.
pub fn trust(
    user: &LinearUser,
    member: bool,
    never: &[&str],
    trusted_accounts: &[String],
    trusted_team_members: bool,
) -> Trust {
    let id = user.id.as_str();
    if never.iter().any(|n| !n.is_empty() && *n == id) {
        return Trust::Untrusted(format!("{id} is afk's own account or the agent's"));
    }
    if trusted_accounts.iter().any(|t| t == id) {
        return Trust::Trusted(format!("{id} is named in tracker.trusted_accounts"));
    }
    if user.active != Some(true) {
        return Trust::Untrusted(format!("{id} is not an active user"));
    }
    if user.guest != Some(false) || user.app != Some(false) {
        let what = match user.app != Some(false) {
            true => "an app user",
            false => "a guest",
        };
        return Trust::Untrusted(format!(
            "{id} is {what}, trusted only when named in tracker.trusted_accounts"
        ));
    }
    match (trusted_team_members, member) {
        (true, true) => Trust::Trusted(format!("{id} is a member of the issue's team")),
        (true, false) => Trust::Untrusted(format!(
            "{id} is not a member of the issue's team and not named in tracker.trusted_accounts"
        )),
        (false, _) => Trust::Untrusted(format!(
            "{id} is not named in tracker.trusted_accounts (tracker.trusted_team_members is off)"
        )),
    }
}

/// A label's name as afk's config writes it, where the two differ only in
/// case: Linear compares label names without case (its filter's
/// `eqIgnoreCase`; a name is taken in every case at once), so a label
/// `Ready-For-Agent` is afk's `ready-for-agent`, in the labels and
/// in the history the arming is read from alike. Any other name is kept.
pub fn afk_case(name: &str, afk: &[String]) -> String {
    afk.iter()
        .find(|a| a.eq_ignore_ascii_case(name))
        .map_or_else(|| name.to_string(), Clone::clone)
}

/// An id in UUID v4 form from 16 drawn bytes, its version and variant
/// bits set: the id afk gives a label it creates on Linear
/// (`IssueLabelCreateInput.id` takes one), so a create whose answer was
/// lost is found again by it rather than sent twice.
pub fn uuid_v4(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests;
