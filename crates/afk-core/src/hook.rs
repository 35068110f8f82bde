// One file: `afk hook`'s rules (~790 lines) and the table tests that pin them, kept beside them as everywhere in core.
//! `afk hook`'s rules (docs/hook.md): which headers of a forge's webhook
//! delivery count as its signature and how each is read, which tick an
//! event starts, the repository and delivery id it names, and what each
//! case is answered and exits with. The HMAC itself is computed (and
//! compared in constant time) by the binary; these rules decide from what
//! it found.

use crate::types::Invalid;
use crate::types::TickKind;
use afk_model::ForgeKind;

pub mod azure;
pub mod form;
pub mod tracker_hint;

/// The kind of forge a webhook delivery comes from, by how it signs its
/// deliveries and names their events: Gitea and Forgejo one way, GitHub
/// another, GitLab a third, Azure DevOps (which signs nothing: Basic auth,
/// its event and id in the body) a fourth. (Not the sandbox's `Dialect`,
/// which is the forge API the fake speaks.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sender {
    Gitea,
    Github,
    Gitlab,
    AzureDevops,
    /// Jira Cloud beside the forge (`[tracker]`, docs/trackers.md): an
    /// admin webhook saved with a secret signs `X-Hub-Signature:
    /// sha256=<hex>`; its event is in the body (`webhookEvent`)
    Jira,
    /// Linear beside the forge: `Linear-Signature`, the hex HMAC-SHA256 of
    /// the body; its event is the body's `type`, its time the body's
    /// `webhookTimestamp` ([`linear_fresh`]); answered `200`, the only
    /// answer Linear does not retry
    Linear,
}

/// How one signature header carries its proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proof {
    /// the hex HMAC-SHA256 of the body
    HexHmac,
    /// `sha256=` and the hex HMAC-SHA256 of the body
    PrefixedHmac,
    /// the secret itself
    Token,
    /// `Basic` and the base64 of a non-empty user name, `:` and the secret
    /// as the password (Azure DevOps's service hooks)
    Basic,
}

impl Sender {
    /// The dialect of a `forge.kind`; None for a kind whose deliveries afk
    /// does not read. Every kind is named: a new one is a compile error here.
    pub fn of_forge(kind: ForgeKind) -> Option<Sender> {
        match kind {
            ForgeKind::Gitea | ForgeKind::Forgejo => Some(Sender::Gitea),
            ForgeKind::Github => Some(Sender::Github),
            ForgeKind::Gitlab => Some(Sender::Gitlab),
            ForgeKind::AzureDevops => Some(Sender::AzureDevops),
        }
    }

    /// The headers that count as a signature for this dialect, and how
    /// each carries its proof. Only these count: another dialect's header,
    /// or GitHub's SHA-1 `X-Hub-Signature`, is no signature.
    pub fn signatures(self) -> &'static [(&'static str, Proof)] {
        match self {
            Sender::Gitea => &[
                ("X-Gitea-Signature", Proof::HexHmac),
                ("X-Forgejo-Signature", Proof::HexHmac),
            ],
            Sender::Github => &[("X-Hub-Signature-256", Proof::PrefixedHmac)],
            Sender::Gitlab => &[("X-Gitlab-Token", Proof::Token)],
            Sender::AzureDevops => &[("Authorization", Proof::Basic)],
            // only `sha256=`: a SHA-1 or bare value never counts
            Sender::Jira => &[("X-Hub-Signature", Proof::PrefixedHmac)],
            Sender::Linear => &[("Linear-Signature", Proof::HexHmac)],
        }
    }

    /// The headers naming the event's kind, first found wins (none on
    /// Azure DevOps: its body's `eventType`, [`named`]).
    pub fn event_headers(self) -> &'static [&'static str] {
        match self {
            Sender::Gitea => &["X-Gitea-Event", "X-Forgejo-Event"],
            Sender::Github => &["X-GitHub-Event"],
            Sender::Gitlab => &["X-Gitlab-Event"],
            Sender::AzureDevops | Sender::Jira | Sender::Linear => &[],
        }
    }

    /// The headers naming the delivery (the same id on a redelivery; none
    /// on Azure DevOps: its body's ids, [`named`]).
    pub fn delivery_headers(self) -> &'static [&'static str] {
        match self {
            Sender::Gitea => &["X-Gitea-Delivery", "X-Forgejo-Delivery"],
            Sender::Github => &["X-GitHub-Delivery"],
            Sender::Gitlab => &["X-Gitlab-Event-UUID"],
            Sender::AzureDevops => &[],
            // the same across Jira's retries
            Sender::Jira => &["X-Atlassian-Webhook-Identifier"],
            Sender::Linear => &["Linear-Delivery"],
        }
    }

    /// Which tick an event of this kind starts: an issue event starts
    /// poll, a comment, review, status, check, workflow, pipeline, job,
    /// push or PR event starts watch; None: afk does not use it.
    pub fn tick_of(self, event: &str) -> Option<TickKind> {
        let event = event.trim();
        let (poll, watch): (&[&str], &[&str]) = match self {
            // Gitea sends the event's family in X-Gitea-Event; its older
            // releases and Forgejo's the exact type: both are read
            Sender::Gitea => (
                &["issues", "issue_label", "issue_assign", "issue_milestone"],
                &[
                    "issue_comment",
                    "pull_request",
                    "pull_request_sync",
                    "pull_request_label",
                    "pull_request_comment",
                    "pull_request_review",
                    "pull_request_review_approved",
                    "pull_request_review_rejected",
                    "pull_request_review_comment",
                    "pull_request_rejected",
                    "pull_request_approved",
                    "status",
                    "workflow_run",
                    "workflow_job",
                    "push",
                ],
            ),
            Sender::Github => (
                &["issues"],
                &[
                    "issue_comment",
                    "pull_request",
                    "pull_request_review",
                    "pull_request_review_comment",
                    "pull_request_review_thread",
                    "status",
                    "check_run",
                    "check_suite",
                    "workflow_run",
                    "push",
                ],
            ),
            Sender::Gitlab => (
                &["Issue Hook", "Confidential Issue Hook"],
                &[
                    "Note Hook",
                    "Confidential Note Hook",
                    // a 👍 (or any award) on a comment: a trusted person's
                    // answer to afk's question is read by the next watch
                    "Emoji Hook",
                    "Merge Request Hook",
                    "Pipeline Hook",
                    "Job Hook",
                    "Push Hook",
                ],
            ),
            // a work item's events poll; a repository's and a build's watch
            Sender::AzureDevops => (
                azure::ITEM_EVENTS,
                &[
                    "git.pullrequest.created",
                    "git.pullrequest.updated",
                    "git.pullrequest.merged",
                    "ms.vss-code.git-pullrequest-comment-event",
                    "git.push",
                    "build.complete",
                ],
            ),
            // an issue's events poll its project's mapped repositories,
            // and its deletion watches them (a run on it ends); a comment
            // is never a command, so none of its events ticks
            Sender::Jira => (
                &[
                    "jira:issue_created",
                    "jira:issue_updated",
                    "issuelink_created",
                    "issuelink_deleted",
                ],
                &["jira:issue_deleted"],
            ),
            // an issue's events (a label put on it comes as an `Issue`
            // update) poll its team's mapped repositories; a comment is
            // never a command; an `IssueLabel` event is the label itself
            // and a session's events (a delegation, a prompt in it) poll
            // too: the poll reads who delegated, the watch that follows
            // reads the session
            Sender::Linear => (&["Issue", "AgentSessionEvent"], &[]),
        };
        if poll.contains(&event) {
            Some(TickKind::Poll)
        } else if watch.contains(&event) {
            Some(TickKind::Watch)
        } else {
            None
        }
    }

    /// The repository's full name in a delivery's JSON body (Gitea and
    /// GitHub: `repository.full_name`; GitLab: `project.path_with_namespace`;
    /// Azure DevOps: [`azure::hint`]'s), nothing else of it; None when
    /// absent or the body is no such JSON. The body is already bounded by
    /// `max_body`, and serde's depth limit bounds the nesting.
    pub fn repo_of(self, body: &[u8]) -> Option<String> {
        if self == Sender::AzureDevops {
            return azure::hint(body).repo;
        }
        #[derive(serde::Deserialize)]
        struct Named {
            full_name: Option<String>,
            path_with_namespace: Option<String>,
        }
        #[derive(serde::Deserialize)]
        struct Body {
            repository: Option<Named>,
            project: Option<Named>,
        }
        let b: Body = serde_json::from_slice(body).ok()?;
        let name = match self {
            Sender::Gitea | Sender::Github => b.repository?.full_name,
            Sender::Gitlab => b.project?.path_with_namespace,
            Sender::AzureDevops | Sender::Jira | Sender::Linear => None,
        }?;
        let name = name.trim();
        (!name.is_empty()).then(|| name.to_string())
    }
}

/// The value of header `name` (case-insensitive), the first one.
pub fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

/// The first of `names` present.
pub fn first_of<'h>(headers: &'h [(String, String)], names: &[&str]) -> Option<&'h str> {
    names.iter().find_map(|n| header(headers, n))
}

/// A verified delivery's event kind and id: its dialect's headers, or on
/// Azure DevOps its body's (`eventType`; `subscriptionId` +
/// `notificationId`, else `id`: [`azure::hint`]). Read only once it
/// verified: nothing of an unverified body is read.
pub fn named(
    dialect: Sender,
    headers: &[(String, String)],
    body: &[u8],
) -> (Option<String>, Option<String>) {
    if dialect == Sender::AzureDevops {
        let hint = azure::hint(body);
        return (hint.event, hint.delivery);
    }
    let own = |names: &[&str]| first_of(headers, names).map(str::to_string);
    match dialect {
        Sender::Jira => return (jira_event(body), own(dialect.delivery_headers())),
        Sender::Linear => return (linear_event(body), own(dialect.delivery_headers())),
        _ => {}
    }
    (
        own(dialect.event_headers()),
        own(dialect.delivery_headers()),
    )
}

/// A Jira delivery's event kind: its body's `webhookEvent`, one line.
fn jira_event(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(rename = "webhookEvent")]
        event: Option<String>,
    }
    let b: Body = serde_json::from_slice(body).ok()?;
    let e = crate::sanitize::one_line(b.event?.trim(), 100);
    (!e.is_empty()).then_some(e)
}

/// A Linear delivery's event kind: its body's `type` (`Issue`, `Comment`,
/// …), one line.
fn linear_event(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(rename = "type")]
        kind: Option<String>,
    }
    let b: Body = serde_json::from_slice(body).ok()?;
    let e = crate::sanitize::one_line(b.kind?.trim(), 100);
    (!e.is_empty()).then_some(e)
}

/// Whether a verified Linear delivery is fresh: its body's
/// `webhookTimestamp` (milliseconds, inside the signed body) within 60
/// seconds of `now_ms`, before or after, as Linear's SDK checks it; the
/// unsigned `linear-timestamp` header never counts (its CHANGELOG, fix
/// 7f440a4). A body without the number is stale.
pub fn linear_fresh(body: &[u8], now_ms: i64) -> bool {
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(rename = "webhookTimestamp")]
        at: Option<f64>,
    }
    let Some(at) = serde_json::from_slice::<Body>(body).ok().and_then(|b| b.at) else {
        return false;
    };
    at.is_finite() && (at - now_ms as f64).abs() <= 60_000.0
}

/// Which side a delivery comes from when a tracker is beside the forge
/// (docs/trackers.md#webhooks): Jira's when it carries Jira's signature
/// header or its delivery id and no signature header of the forge's; a GitHub delivery (its `X-GitHub-Event`) is GitHub's whatever
/// else it carries (GitHub also sends a SHA-1 `X-Hub-Signature`, which
/// never counts). None: it carries both a forge's signature header and
/// Jira's, and counts for neither (401).
pub fn side(forge: Sender, tracker: Sender, headers: &[(String, String)]) -> Option<Sender> {
    let has = |names: &[(&str, Proof)]| names.iter().any(|(n, _)| header(headers, n).is_some());
    if forge == Sender::Github && header(headers, "X-GitHub-Event").is_some() {
        return Some(forge);
    }
    let tracker_signed = has(tracker.signatures());
    let tracker_named = first_of(headers, tracker.delivery_headers()).is_some();
    match (has(forge.signatures()), tracker_signed, tracker_named) {
        (true, true, _) => None,
        // the tracker's, signed or not (then it is refused as unsigned)
        (false, true, _) | (false, false, true) => Some(tracker),
        _ => Some(forge),
    }
}

/// The user name of a verified delivery's `Authorization: Basic`, for the
/// log alone (Azure DevOps's; it proves nothing), on one line; None for the
/// other dialects.
pub fn basic_user(dialect: Sender, headers: &[(String, String)]) -> Option<String> {
    claims(dialect, headers)
        .into_iter()
        .find_map(|(_, claim)| match claim {
            Claim::Basic { user, .. } => Some(crate::sanitize::one_line(&user, 100)),
            _ => None,
        })
}

/// A delivery id or fingerprint as one repository's tick of a delivery
/// that ticks several records it ([`Work::Ticks`]): the first one's
/// recording it must not make the next one's a replay.
pub fn per_repo(id: &str, repo: &str) -> String {
    format!("{id}@{}", crate::event_fold::repo_key(repo))
}

/// What one signature header claims, for the binary to check against the
/// secret: the HMAC's bytes, the token, Basic's password (its user name
/// only logged), or nothing that can verify.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    Mac(Vec<u8>),
    Token(String),
    Basic {
        user: String,
        password: String,
    },
    /// not the shape its header carries (not hex, no `sha256=`): fails
    Malformed,
}

/// Every signature header of `dialect` present in `headers` (each
/// occurrence, so a second copy must verify too), with what it claims.
pub fn claims(dialect: Sender, headers: &[(String, String)]) -> Vec<(&'static str, Claim)> {
    let mut out = vec![];
    for (k, v) in headers {
        let Some((name, proof)) = dialect
            .signatures()
            .iter()
            .find(|(n, _)| k.eq_ignore_ascii_case(n))
        else {
            continue;
        };
        let v = v.trim();
        let claim = match proof {
            Proof::HexHmac => hex(v).map_or(Claim::Malformed, Claim::Mac),
            Proof::PrefixedHmac => v
                .strip_prefix("sha256=")
                .and_then(hex)
                .map_or(Claim::Malformed, Claim::Mac),
            Proof::Token if v.is_empty() => Claim::Malformed,
            Proof::Token => Claim::Token(v.to_string()),
            Proof::Basic => azure::basic(v).map_or(Claim::Malformed, |(user, password)| {
                Claim::Basic { user, password }
            }),
        };
        out.push((*name, claim));
    }
    out
}

/// The bytes of a hex string of an HMAC-SHA256 (32 bytes), else None.
fn hex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Whether a delivery is signed: `checked` holds, per claim found, whether
/// it verified. None found, or any that failed: not signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Signed,
    /// no header of the configured kind's
    Unsigned,
    /// one that did not verify
    Forged,
}

pub fn verdict(checked: &[bool]) -> Verdict {
    if checked.is_empty() {
        Verdict::Unsigned
    } else if checked.iter().all(|ok| *ok) {
        Verdict::Signed
    } else {
        Verdict::Forged
    }
}

/// What a delivery is answered, and with which exit afk hook ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// not signed by the secret (401, exit 1)
    Unauthorized,
    /// no secret to check against (503, exit 2)
    NoSecret,
    /// not all of it within `read_timeout` (408, exit 1)
    Timeout,
    /// over `max_body` (413, exit 1)
    TooLarge,
    /// no `Content-Length` (411, exit 1)
    NoLength,
    /// not a POST (405, exit 1)
    NotPost,
    /// not an HTTP/1.x request (400, exit 1)
    Malformed,
    /// 202, and this is done with it
    Accepted(Work),
}

/// What a signed delivery starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Work {
    /// the tick of this kind over that one repository (exit: the tick's)
    Tick(TickKind, String),
    /// the tick of this kind over each of these repositories in turn, each
    /// known by the delivery's ids with its name ([`per_repo`]): an event
    /// that names a project, not a repository (Azure DevOps's work-item and
    /// build events; exit: the worst tick's)
    Ticks(TickKind, Vec<String>),
    /// nothing: why (a repository outside the allowlist, an unused kind)
    Ignored(String),
    /// nothing: a delivery already handled
    Replayed,
}

impl Work {
    /// Whether it starts a tick (one or several).
    pub fn ticks(&self) -> bool {
        matches!(self, Work::Tick(..) | Work::Ticks(..))
    }
}

/// Whether a brake holds an event's tick (docs/hook.md): the kill switch
/// (`poll.enabled = false`) or the stop file stops every trigger, queues
/// nothing, and touches no state; cron's scheduled ticks are the way back.
pub fn brake(enabled: bool, stop_file: Option<&str>) -> Option<String> {
    match (enabled, stop_file) {
        (false, _) => {
            Some("the kill switch is on (poll.enabled = false): no event starts a tick".into())
        }
        (true, Some(f)) => Some(format!(
            "the stop file {} is there: no event starts a tick",
            crate::sanitize::one_line(f, 200)
        )),
        (true, None) => None,
    }
}

impl Answer {
    /// The status line's code and reason.
    pub fn status(&self) -> (u16, &'static str) {
        match self {
            Answer::Unauthorized => (401, "Unauthorized"),
            Answer::NoSecret => (503, "Service Unavailable"),
            Answer::Timeout => (408, "Request Timeout"),
            Answer::TooLarge => (413, "Content Too Large"),
            Answer::NoLength => (411, "Length Required"),
            Answer::NotPost => (405, "Method Not Allowed"),
            Answer::Malformed => (400, "Bad Request"),
            Answer::Accepted(_) => (202, "Accepted"),
        }
    }

    /// afk hook's exit: Some for an answer that ends it; None for a tick,
    /// whose own exit code is afk hook's.
    pub fn exit(&self) -> Option<u8> {
        match self {
            Answer::NoSecret => Some(2),
            Answer::Accepted(Work::Tick(..) | Work::Ticks(..)) => None,
            Answer::Accepted(_) => Some(0),
            _ => Some(1),
        }
    }

    /// The response's body: one line saying what came of it (no detail of
    /// the request).
    pub fn text(&self) -> String {
        match self {
            Answer::Unauthorized => "no valid signature\n".into(),
            Answer::NoSecret => "afk hook has no secret configured\n".into(),
            Answer::Timeout => "the request did not arrive in time\n".into(),
            Answer::TooLarge => "the request is too large\n".into(),
            Answer::NoLength => "a Content-Length is required\n".into(),
            Answer::NotPost => "only POST\n".into(),
            Answer::Malformed => "not an HTTP/1.1 request\n".into(),
            Answer::Accepted(Work::Tick(kind, repo)) => format!("{kind} tick for {repo}\n"),
            Answer::Accepted(Work::Ticks(kind, repos)) => {
                format!("{kind} ticks for {}\n", repos.join(", "))
            }
            Answer::Accepted(Work::Ignored(why)) => format!("ignored: {why}\n"),
            Answer::Accepted(Work::Replayed) => "delivery already handled\n".into(),
        }
    }

    /// The whole HTTP response to `dialect`: a delivery Linear sent and
    /// afk took is answered `200` with no body (Linear retries any other
    /// answer); everything else as [`Answer::response`].
    pub fn response_to(&self, dialect: Sender) -> String {
        match (self, dialect) {
            (Answer::Accepted(_), Sender::Linear) => {
                "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into()
            }
            _ => self.response(),
        }
    }

    /// The whole HTTP response.
    pub fn response(&self) -> String {
        let (code, reason) = self.status();
        let body = self.text();
        format!(
            "HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    }
}

/// What a signed delivery starts: its event's tick for its repository when
/// the kind is used and the repository allowlisted (`allowlisted` says
/// whether a name is), else ignored, saying why.
pub fn work(
    dialect: Sender,
    event: Option<&str>,
    repo: Option<&str>,
    allowlisted: impl Fn(&str) -> bool,
) -> Work {
    let Some(event) = event.filter(|e| !e.is_empty()) else {
        return Work::Ignored("no event kind".into());
    };
    let Some(kind) = dialect.tick_of(event) else {
        return Work::Ignored(format!("event {event:?} is none afk uses"));
    };
    let Some(repo) = repo else {
        return Work::Ignored(format!("event {event:?} names no repository"));
    };
    if !allowlisted(repo) {
        return Work::Ignored(format!("{repo} is not in poll.allowlist"));
    }
    Work::Tick(kind, repo.to_string())
}

/// What a signed delivery starts, by its event and body, over `allowlist`:
/// [`work`] for its repository; on Azure DevOps, an event that points at a
/// project ([`azure::aim`]: a work item's, a build's, a repository's named
/// only by its id) starts its tick for every allowlisted repository. afk
/// keeps no project ids to narrow them by; each tick reads the forge
/// itself, so a tick of a repository the event did not touch finds
/// nothing to do (docs/azure-devops.md).
pub fn work_over(dialect: Sender, event: Option<&str>, body: &[u8], allowlist: &[String]) -> Work {
    let allowlisted = |name: &str| allowlist.iter().any(|r| r.eq_ignore_ascii_case(name));
    // a Jira issue's event starts its tick for every repository the map
    // names (`allowlist` is those): its payload's project and components
    // are hints, never what picks a repository
    if let Sender::Jira | Sender::Linear = dialect {
        return match event.and_then(|e| dialect.tick_of(e)) {
            Some(kind) if !allowlist.is_empty() => Work::Ticks(kind, allowlist.to_vec()),
            Some(_) => Work::Ignored("[[tracker.map]] names no repository".into()),
            None => Work::Ignored(format!(
                "afk does not act on the {} event {:?}",
                if dialect == Sender::Jira {
                    "Jira"
                } else {
                    "Linear"
                },
                event.unwrap_or("")
            )),
        };
    }
    if dialect != Sender::AzureDevops {
        return work(
            dialect,
            event,
            dialect.repo_of(body).as_deref(),
            allowlisted,
        );
    }
    let hint = azure::hint(body);
    let aimed = event.map(|e| azure::aim(e, &hint));
    match (aimed, event.and_then(|e| dialect.tick_of(e))) {
        (Some(azure::Aim::Every), Some(kind)) if !allowlist.is_empty() => {
            Work::Ticks(kind, allowlist.to_vec())
        }
        (Some(azure::Aim::Every), Some(_)) => Work::Ignored("poll.allowlist is empty".into()),
        (Some(azure::Aim::Repo(name)), _) => work(dialect, event, Some(name.as_str()), allowlisted),
        _ => work(dialect, event, None, allowlisted),
    }
}

/// What a signed delivery says of a comment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommentNews {
    /// written now (this comment, when the delivery names it): no tick
    /// takes a command from it for [`EDIT_GRACE`] after the delivery, and
    /// its own tick starts then, so an edit in the comment's own second is
    /// reported first
    Written(Option<i64>),
    /// this comment (by id) was edited
    Edited(i64),
}

/// How long after a comment's delivery its tick starts: the forges date to
/// the second, and their edit deliveries follow within it.
pub const EDIT_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// What a signed delivery says of a comment: GitHub's and Gitea's
/// `issue_comment` and `pull_request_review_comment` (Gitea also
/// `pull_request_comment`) with `action` `created` or `edited`, GitLab's
/// `Note Hook` with `object_attributes.action` `create` or `update`
/// (GitLab 16.11 on; an older one sends no action and no edits). The forges
/// date to the second, so an edit in a comment's own second shows in no
/// date; the forge's own word that it was edited is the strongest marker
/// there is (docs/reviews.md#commands). None for anything else.
pub fn comment_news(dialect: Sender, event: Option<&str>, body: &[u8]) -> Option<CommentNews> {
    #[derive(serde::Deserialize)]
    struct Id {
        id: Option<i64>,
        action: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct Body {
        action: Option<String>,
        comment: Option<Id>,
        object_attributes: Option<Id>,
    }
    let event = event?.trim();
    let b: Body = serde_json::from_slice(body).ok()?;
    let (action, id) = match dialect {
        // it tells any edit apart itself (`tells_comment_edits`): no grace;
        // a tracker's comment is never a command
        Sender::AzureDevops | Sender::Jira | Sender::Linear => return None,
        Sender::Gitea | Sender::Github => {
            let comments: &[&str] = match dialect {
                Sender::Gitea => &[
                    "issue_comment",
                    "pull_request_comment",
                    "pull_request_review_comment",
                ],
                _ => &["issue_comment", "pull_request_review_comment"],
            };
            if !comments.contains(&event) {
                return None;
            }
            (b.action?, b.comment?.id)
        }
        Sender::Gitlab => {
            // a note on a confidential issue, and an internal note, comes
            // as `Confidential Note Hook`, with the same body
            let notes = ["Note Hook", "Confidential Note Hook"];
            let note = b.object_attributes.filter(|_| notes.contains(&event))?;
            (note.action.unwrap_or_else(|| "create".into()), note.id)
        }
    };
    match action.as_str() {
        "created" | "create" => Some(CommentNews::Written(id)),
        "edited" | "update" => Some(CommentNews::Edited(id?)),
        _ => None,
    }
}

/// The largest request head (request line and headers) read.
pub const MAX_HEAD: usize = 64 * 1024;

/// A request's head: its method and headers, and where its body starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    pub method: String,
    pub headers: Vec<(String, String)>,
    /// the body's length, from `Content-Length`
    pub length: Option<u64>,
    /// the head's length in bytes, with its blank line
    pub size: usize,
}

/// The head of an HTTP/1.x request at the start of `bytes`: Ok(None) while
/// it is incomplete (read on), Err(answer) when it can be refused now
/// (malformed, over [`MAX_HEAD`], a body over `max_body` by its
/// `Content-Length`, no `Content-Length`, not a POST).
pub fn parse_head(bytes: &[u8], max_body: u64) -> Result<Option<Head>, Answer> {
    let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if bytes.len() > MAX_HEAD {
            Err(Answer::TooLarge)
        } else {
            Ok(None)
        };
    };
    if end > MAX_HEAD {
        return Err(Answer::TooLarge);
    }
    let text = std::str::from_utf8(&bytes[..end]).map_err(|_| Answer::Malformed)?;
    let mut lines = text.split("\r\n");
    let line = lines.next().unwrap_or_default();
    let mut parts = line.split(' ');
    let (Some(method), Some(_target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Answer::Malformed);
    };
    if !version.starts_with("HTTP/1.") {
        return Err(Answer::Malformed);
    }
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .ok_or(Answer::Malformed)
        })
        .collect::<Result<_, _>>()?;
    let length = match header(&headers, "Content-Length") {
        Some(v) => Some(v.parse::<u64>().map_err(|_| Answer::Malformed)?),
        None => None,
    };
    if length.is_some_and(|n| n > max_body) {
        return Err(Answer::TooLarge);
    }
    if method != "POST" {
        return Err(Answer::NotPost);
    }
    if length.is_none() {
        return Err(Answer::NoLength);
    }
    Ok(Some(Head {
        method: method.to_string(),
        headers,
        length,
        size: end + 4,
    }))
}

/// A size in bytes: "5MiB", "512KiB", "1MB", "1000000" ([`crate::bounds::parse_size`]).
pub fn parse_size(s: &str) -> Result<u64, Invalid> {
    crate::bounds::parse_size(s, "\"5MiB\", \"512KiB\"")
}

/// The line the log gets for a delivery (never its body).
pub fn log_line(answer: &Answer, event: Option<&str>, delivery: Option<&str>) -> String {
    log_line_to(answer, None, event, delivery)
}

/// [`log_line`] for a delivery from `dialect`, with the status it is
/// answered (Linear's taken deliveries: 200, [`Answer::response_to`]).
pub fn log_line_to(
    answer: &Answer,
    dialect: Option<Sender>,
    event: Option<&str>,
    delivery: Option<&str>,
) -> String {
    let code = match (answer, dialect) {
        (Answer::Accepted(_), Some(Sender::Linear)) => 200,
        _ => answer.status().0,
    };
    let about = match (event, delivery) {
        (Some(e), Some(d)) => format!(" (event {e:?}, delivery {d})"),
        (Some(e), None) => format!(" (event {e:?})"),
        (None, Some(d)) => format!(" (delivery {d})"),
        (None, None) => String::new(),
    };
    format!("hook: {code}: {}{about}", answer.text().trim_end())
}

#[cfg(test)]
mod edit_tests {
    use super::*;

    #[test]
    fn an_edit_delivery_names_the_comment_it_edited() {
        use CommentNews::*;
        use Sender::*;
        let cases: &[(Sender, &str, &str, Option<CommentNews>)] = &[
            (
                Github,
                "issue_comment",
                r#"{"action":"edited","comment":{"id":7}}"#,
                Some(Edited(7)),
            ),
            (
                Github,
                "pull_request_review_comment",
                r#"{"action":"edited","comment":{"id":8}}"#,
                Some(Edited(8)),
            ),
            (
                Github,
                "issue_comment",
                r#"{"action":"created","comment":{"id":7}}"#,
                Some(Written(Some(7))),
            ),
            // a reply in a review's thread (issue 82 requirement 3)
            (
                Github,
                "pull_request_review_comment",
                r#"{"action":"created","comment":{"id":9,"in_reply_to_id":8,"pull_request_review_id":5}}"#,
                Some(Written(Some(9))),
            ),
            (
                Github,
                "issue_comment",
                r#"{"action":"deleted","comment":{"id":7}}"#,
                None,
            ),
            (
                Github,
                "issues",
                r#"{"action":"edited","comment":{"id":7}}"#,
                None,
            ),
            (
                Github,
                "pull_request_comment",
                r#"{"action":"edited","comment":{"id":7}}"#,
                None,
            ),
            (
                Gitea,
                "issue_comment",
                r#"{"action":"edited","comment":{"id":9}}"#,
                Some(Edited(9)),
            ),
            (
                Gitea,
                "pull_request_comment",
                r#"{"action":"edited","comment":{"id":9}}"#,
                Some(Edited(9)),
            ),
            (
                Gitea,
                "issue_comment",
                r#"{"action":"created","comment":{"id":9}}"#,
                Some(Written(Some(9))),
            ),
            // a reply in a review's thread (Gitea's type
            // `pull_request_comment`, `X-Gitea-Event: issue_comment`)
            (
                Gitea,
                "issue_comment",
                r#"{"action":"created","is_pull":true,"comment":{"id":11}}"#,
                Some(Written(Some(11))),
            ),
            // a comment review (`X-Gitea-Event: pull_request_comment`, of
            // type `pull_request_review_comment`): no comment of its own
            (
                Gitea,
                "pull_request_comment",
                r#"{"action":"reviewed","review":{"type":"pull_request_review_comment","content":"x"}}"#,
                None,
            ),
            (Gitea, "issue_comment", r#"{"action":"edited"}"#, None),
            (
                Gitea,
                "issue_comment",
                r#"{"action":"edited","comment":{"id":"9"}}"#,
                None,
            ),
            (
                Gitlab,
                "Note Hook",
                r#"{"object_attributes":{"id":5,"action":"update"}}"#,
                Some(Edited(5)),
            ),
            (
                Gitlab,
                "Note Hook",
                r#"{"object_attributes":{"id":5,"action":"create"}}"#,
                Some(Written(Some(5))),
            ),
            (
                Gitlab,
                "Confidential Note Hook",
                r#"{"object_attributes":{"id":6,"action":"update"}}"#,
                Some(Edited(6)),
            ),
            // GitLab before 16.11 sends no action, and only for new notes
            (
                Gitlab,
                "Note Hook",
                r#"{"object_attributes":{"id":5}}"#,
                Some(Written(Some(5))),
            ),
            (
                Gitlab,
                "Issue Hook",
                r#"{"object_attributes":{"id":5,"action":"update"}}"#,
                None,
            ),
            (Gitlab, "Note Hook", "not json", None),
        ];
        for (dialect, event, body, want) in cases {
            assert_eq!(
                comment_news(*dialect, Some(event), body.as_bytes()),
                *want,
                "{dialect:?} {event} {body}"
            );
        }
        assert_eq!(
            comment_news(Github, None, br#"{"action":"edited","comment":{"id":7}}"#),
            None
        );
    }
}

#[cfg(test)]
mod tests {
    /// The rule "a delivery is the forge's or Jira's by its headers; both
    /// signatures count for neither".
    #[test]
    fn a_delivery_is_the_forges_or_jiras_by_its_headers() {
        let h = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        type Headers = Vec<(String, String)>;
        let cases: [(Sender, Headers, Option<Sender>); 7] = [
            (
                Sender::Gitea,
                h(&[("X-Gitea-Signature", "ab")]),
                Some(Sender::Gitea),
            ),
            (
                Sender::Gitea,
                h(&[("X-Hub-Signature", "sha256=ab")]),
                Some(Sender::Jira),
            ),
            (
                Sender::Gitea,
                h(&[("X-Atlassian-Webhook-Identifier", "1")]),
                Some(Sender::Jira),
            ),
            (
                Sender::Gitea,
                h(&[
                    ("X-Hub-Signature", "sha256=ab"),
                    ("X-Gitea-Signature", "ab"),
                ]),
                None,
            ),
            (Sender::Gitea, h(&[]), Some(Sender::Gitea)),
            // GitHub also sends a SHA-1 X-Hub-Signature: its event header says whose
            (
                Sender::Github,
                h(&[
                    ("X-GitHub-Event", "issues"),
                    ("X-Hub-Signature", "sha1=ab"),
                    ("X-Hub-Signature-256", "sha256=ab"),
                ]),
                Some(Sender::Github),
            ),
            (
                Sender::Github,
                h(&[
                    ("X-Hub-Signature", "sha256=ab"),
                    ("X-Hub-Signature-256", "sha256=ab"),
                ]),
                None,
            ),
        ];
        for (forge, headers, want) in cases {
            assert_eq!(
                side(forge, Sender::Jira, &headers),
                want,
                "{forge:?} {headers:?}"
            );
        }
        // beside Linear: its signature or its delivery id make it Linear's;
        // Jira's header is the forge's (then refused as unsigned by it)
        let linear: [(Headers, Option<Sender>); 5] = [
            (h(&[("Linear-Signature", "ab")]), Some(Sender::Linear)),
            (h(&[("Linear-Delivery", "d-1")]), Some(Sender::Linear)),
            (
                h(&[("Linear-Signature", "ab"), ("X-Gitea-Signature", "ab")]),
                None,
            ),
            (h(&[("X-Hub-Signature", "sha256=ab")]), Some(Sender::Gitea)),
            (h(&[("X-Gitea-Signature", "ab")]), Some(Sender::Gitea)),
        ];
        for (headers, want) in linear {
            assert_eq!(
                side(Sender::Gitea, Sender::Linear, &headers),
                want,
                "{headers:?}"
            );
        }
    }

    /// The rule "a Linear delivery is fresh within 60 seconds of afk's
    /// clock, before or after, by its signed webhookTimestamp alone".
    #[test]
    fn a_linear_delivery_is_fresh_within_a_minute_by_its_signed_time() {
        let now = 1_796_000_000_000i64;
        let cases = [
            (format!(r#"{{"webhookTimestamp": {now}}}"#), true),
            (format!(r#"{{"webhookTimestamp": {}}}"#, now - 60_000), true),
            (format!(r#"{{"webhookTimestamp": {}}}"#, now + 60_000), true),
            (
                format!(r#"{{"webhookTimestamp": {}}}"#, now - 60_001),
                false,
            ),
            (
                format!(r#"{{"webhookTimestamp": {}}}"#, now + 61_000),
                false,
            ),
            (format!(r#"{{"webhookTimestamp": "{now}"}}"#), false),
            ("{}".to_string(), false),
            ("not json".to_string(), false),
        ];
        for (body, want) in cases {
            assert_eq!(linear_fresh(body.as_bytes(), now), want, "{body}");
        }
    }

    /// The rule "Linear is answered 200 with no body when afk takes its
    /// delivery; a refusal is as for any sender".
    #[test]
    fn linear_is_answered_200_and_others_as_before() {
        let took = Answer::Accepted(Work::Ignored("x".into()));
        assert!(
            took.response_to(Sender::Linear)
                .starts_with("HTTP/1.1 200 OK\r\n")
        );
        assert!(took.response_to(Sender::Linear).ends_with("\r\n\r\n"));
        assert!(took.response_to(Sender::Jira).starts_with("HTTP/1.1 202 "));
        // and its log line says the status it was answered
        assert!(log_line_to(&took, Some(Sender::Linear), None, None).starts_with("hook: 200: "));
        assert!(log_line_to(&took, Some(Sender::Jira), None, None).starts_with("hook: 202: "));
        assert!(
            Answer::Unauthorized
                .response_to(Sender::Linear)
                .starts_with("HTTP/1.1 401 ")
        );
        assert_eq!(Sender::Linear.tick_of("Issue"), Some(TickKind::Poll));
        assert_eq!(
            Sender::Linear.tick_of("AgentSessionEvent"),
            Some(TickKind::Poll)
        );
        for other in ["Comment", "IssueLabel", "Attachment"] {
            assert_eq!(Sender::Linear.tick_of(other), None, "{other}");
        }
    }

    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const MAC: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    #[test]
    fn only_the_configured_kinds_signature_headers_count() {
        let sha256 = format!("sha256={MAC}");
        type Case<'a> = (Sender, &'a [(&'a str, &'a str)], usize);
        let cases: &[Case] = &[
            (Sender::Gitea, &[("X-Gitea-Signature", MAC)], 1),
            (Sender::Gitea, &[("x-forgejo-signature", MAC)], 1),
            (
                Sender::Gitea,
                &[("X-Gitea-Signature", MAC), ("X-Forgejo-Signature", MAC)],
                2,
            ),
            // another kind's header is no signature
            (Sender::Gitea, &[("X-Hub-Signature-256", &sha256)], 0),
            (Sender::Gitea, &[("X-Gitlab-Token", "s")], 0),
            (Sender::Github, &[("X-Hub-Signature-256", &sha256)], 1),
            (Sender::Github, &[("X-Gitea-Signature", MAC)], 0),
            (Sender::Gitlab, &[("X-Gitlab-Token", "s")], 1),
            (Sender::Gitlab, &[("X-Gitea-Signature", MAC)], 0),
        ];
        for (d, headers, n) in cases {
            assert_eq!(claims(*d, &h(headers)).len(), *n, "{d:?} {headers:?}");
        }
    }

    #[test]
    fn a_sha1_signature_alone_never_counts() {
        let headers = h(&[(
            "X-Hub-Signature",
            "sha1=0011223344556677889900112233445566778899",
        )]);
        assert!(claims(Sender::Github, &headers).is_empty());
        assert_eq!(verdict(&[]), Verdict::Unsigned);
    }

    #[test]
    fn each_header_is_read_in_its_own_shape() {
        let mac = hex(MAC).unwrap();
        let cases: &[(Sender, &str, &str, Claim)] = &[
            (
                Sender::Gitea,
                "X-Gitea-Signature",
                MAC,
                Claim::Mac(mac.clone()),
            ),
            (
                Sender::Gitea,
                "X-Gitea-Signature",
                &MAC.to_uppercase(),
                Claim::Mac(mac.clone()),
            ),
            // Gitea's is bare hex, GitHub's prefixed
            (
                Sender::Gitea,
                "X-Gitea-Signature",
                &format!("sha256={MAC}"),
                Claim::Malformed,
            ),
            (
                Sender::Github,
                "X-Hub-Signature-256",
                &format!("sha256={MAC}"),
                Claim::Mac(mac.clone()),
            ),
            (Sender::Github, "X-Hub-Signature-256", MAC, Claim::Malformed),
            (
                Sender::Github,
                "X-Hub-Signature-256",
                "sha256=zz",
                Claim::Malformed,
            ),
            (
                Sender::Gitea,
                "X-Gitea-Signature",
                &MAC[..62],
                Claim::Malformed,
            ),
            (
                Sender::Gitlab,
                "X-Gitlab-Token",
                "the secret",
                Claim::Token("the secret".into()),
            ),
            (Sender::Gitlab, "X-Gitlab-Token", "", Claim::Malformed),
        ];
        for (d, name, value, want) in cases {
            let got = claims(*d, &h(&[(name, value)]));
            assert_eq!(
                got,
                vec![(
                    d.signatures().iter().find(|(n, _)| n == name).unwrap().0,
                    want.clone()
                )],
                "{d:?} {name}: {value}"
            );
        }
    }

    #[test]
    fn where_several_count_every_one_present_must_verify() {
        let cases: &[(&[bool], Verdict)] = &[
            (&[], Verdict::Unsigned),
            (&[true], Verdict::Signed),
            (&[true, true], Verdict::Signed),
            (&[true, false], Verdict::Forged),
            (&[false, true], Verdict::Forged),
            (&[false], Verdict::Forged),
        ];
        for (checked, want) in cases {
            assert_eq!(verdict(checked), *want, "{checked:?}");
        }
    }

    #[test]
    fn an_issue_event_starts_poll_the_others_watch_the_rest_nothing() {
        use TickKind::{Poll, Watch};
        let cases: &[(Sender, &str, Option<TickKind>)] = &[
            (Sender::Gitea, "issues", Some(Poll)),
            (Sender::Gitea, "issue_label", Some(Poll)),
            (Sender::Gitea, "issue_comment", Some(Watch)),
            (Sender::Gitea, "pull_request", Some(Watch)),
            (Sender::Gitea, "pull_request_sync", Some(Watch)),
            (Sender::Gitea, "pull_request_review_approved", Some(Watch)),
            // Gitea's families of a review's types (`X-Gitea-Event`)
            (Sender::Gitea, "pull_request_approved", Some(Watch)),
            (Sender::Gitea, "pull_request_rejected", Some(Watch)),
            (Sender::Gitea, "pull_request_comment", Some(Watch)),
            (Sender::Gitea, "status", Some(Watch)),
            (Sender::Gitea, "workflow_run", Some(Watch)),
            (Sender::Gitea, "push", Some(Watch)),
            (Sender::Gitea, "release", None),
            (Sender::Gitea, "create", None),
            (Sender::Github, "issues", Some(Poll)),
            (Sender::Github, "issue_comment", Some(Watch)),
            (Sender::Github, "pull_request_review", Some(Watch)),
            // a line comment, and a reply in a review's thread (issue 82
            // requirement 3)
            (Sender::Github, "pull_request_review_comment", Some(Watch)),
            (Sender::Github, "status", Some(Watch)),
            (Sender::Github, "check_run", Some(Watch)),
            (Sender::Github, "check_suite", Some(Watch)),
            (Sender::Github, "workflow_run", Some(Watch)),
            (Sender::Github, "push", Some(Watch)),
            (Sender::Github, "pull_request", Some(Watch)),
            (Sender::Github, "ping", None),
            (Sender::Github, "label", None),
            (Sender::Github, "Issue Hook", None),
            (Sender::Gitlab, "Issue Hook", Some(Poll)),
            (Sender::Gitlab, "Note Hook", Some(Watch)),
            (Sender::Gitlab, "Emoji Hook", Some(Watch)),
            (Sender::Gitlab, "Merge Request Hook", Some(Watch)),
            (Sender::Gitlab, "Pipeline Hook", Some(Watch)),
            (Sender::Gitlab, "Job Hook", Some(Watch)),
            (Sender::Gitlab, "Push Hook", Some(Watch)),
            (Sender::Gitlab, "Tag Push Hook", None),
            (Sender::Gitlab, "issues", None),
            (Sender::Jira, "jira:issue_created", Some(Poll)),
            (Sender::Jira, "jira:issue_updated", Some(Poll)),
            (Sender::Jira, "issuelink_deleted", Some(Poll)),
            (Sender::Jira, "jira:issue_deleted", Some(Watch)),
            (Sender::Jira, "comment_created", None),
        ];
        for (d, event, want) in cases {
            assert_eq!(d.tick_of(event), *want, "{d:?} {event}");
        }
    }

    #[test]
    fn only_the_repositorys_name_is_taken_from_the_body() {
        let cases: &[(Sender, &str, Option<&str>)] = &[
            (
                Sender::Gitea,
                r#"{"action":"label_updated","repository":{"full_name":"acme/api","name":"x"}}"#,
                Some("acme/api"),
            ),
            (
                Sender::Github,
                r#"{"repository":{"full_name":"acme/api"}}"#,
                Some("acme/api"),
            ),
            (
                Sender::Gitlab,
                r#"{"project":{"path_with_namespace":"acme/sub/api"},"repository":{"full_name":"x/y"}}"#,
                Some("acme/sub/api"),
            ),
            (
                Sender::Gitlab,
                r#"{"repository":{"full_name":"acme/api"}}"#,
                None,
            ),
            (Sender::Github, r#"{"repository":{"full_name":""}}"#, None),
            (Sender::Github, r#"{"repository":{"full_name":7}}"#, None),
            (Sender::Github, "not json", None),
            (Sender::Github, "[]", None),
        ];
        for (d, body, want) in cases {
            assert_eq!(d.repo_of(body.as_bytes()).as_deref(), *want, "{d:?} {body}");
        }
    }

    #[test]
    fn the_delivery_id_and_event_come_from_the_kinds_headers() {
        let headers = h(&[
            ("X-GitHub-Delivery", "gh-1"),
            ("X-Gitea-Delivery", "gt-1"),
            ("X-Forgejo-Event", "issues"),
            ("X-Gitlab-Event-UUID", "gl-1"),
        ]);
        let cases: &[(Sender, Option<&str>, Option<&str>)] = &[
            (Sender::Gitea, Some("gt-1"), Some("issues")),
            (Sender::Github, Some("gh-1"), None),
            (Sender::Gitlab, Some("gl-1"), None),
        ];
        for (d, delivery, event) in cases {
            assert_eq!(first_of(&headers, d.delivery_headers()), *delivery);
            assert_eq!(first_of(&headers, d.event_headers()), *event);
        }
    }

    #[test]
    fn a_signed_event_starts_its_tick_only_for_an_allowlisted_repository() {
        let allow = |r: &str| r == "acme/api";
        let cases: &[(Option<&str>, Option<&str>, Work)] = &[
            (
                Some("issues"),
                Some("acme/api"),
                Work::Tick(TickKind::Poll, "acme/api".into()),
            ),
            (
                Some("push"),
                Some("acme/api"),
                Work::Tick(TickKind::Watch, "acme/api".into()),
            ),
            (
                Some("issues"),
                Some("evil/repo"),
                Work::Ignored("evil/repo is not in poll.allowlist".into()),
            ),
            (
                Some("release"),
                Some("acme/api"),
                Work::Ignored("event \"release\" is none afk uses".into()),
            ),
            (
                Some("issues"),
                None,
                Work::Ignored("event \"issues\" names no repository".into()),
            ),
            (
                None,
                Some("acme/api"),
                Work::Ignored("no event kind".into()),
            ),
        ];
        for (event, repo, want) in cases {
            assert_eq!(work(Sender::Github, *event, *repo, allow), *want);
        }
    }

    #[test]
    fn each_answer_has_its_status_and_exit() {
        let tick = Work::Tick(TickKind::Poll, "acme/api".into());
        let cases: &[(Answer, u16, Option<u8>)] = &[
            (Answer::Unauthorized, 401, Some(1)),
            (Answer::NoSecret, 503, Some(2)),
            (Answer::Timeout, 408, Some(1)),
            (Answer::TooLarge, 413, Some(1)),
            (Answer::NoLength, 411, Some(1)),
            (Answer::NotPost, 405, Some(1)),
            (Answer::Malformed, 400, Some(1)),
            (Answer::Accepted(tick), 202, None),
            (Answer::Accepted(Work::Ignored("x".into())), 202, Some(0)),
            (Answer::Accepted(Work::Replayed), 202, Some(0)),
        ];
        // the brakes: every trigger answered, nothing started
        assert!(brake(false, None).is_some_and(|w| w.contains("poll.enabled = false")));
        assert!(brake(true, Some("/var/lib/afk/STOP")).is_some_and(|w| w.contains("STOP")));
        assert_eq!(brake(true, None), None);
        for (a, code, exit) in cases {
            assert_eq!((a.status().0, a.exit()), (*code, *exit), "{a:?}");
            let r = a.response();
            assert!(r.starts_with(&format!("HTTP/1.1 {code} ")), "{r}");
            let (_, body) = r.split_once("\r\n\r\n").unwrap();
            assert!(r.contains(&format!("Content-Length: {}\r\n", body.len())));
        }
    }

    #[test]
    fn a_request_head_is_refused_as_early_as_it_can_be() {
        let max = 100;
        let cases: &[(&str, Result<Option<u64>, Answer>)] = &[
            (
                "POST /hook HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
                Ok(Some(5)),
            ),
            ("POST /hook HTTP/1.1\r\nContent-Length: 5\r\n", Ok(None)),
            // refused by its Content-Length before the body is read
            (
                "POST /hook HTTP/1.1\r\nContent-Length: 101\r\n\r\n",
                Err(Answer::TooLarge),
            ),
            (
                "POST /hook HTTP/1.1\r\nContent-Length: x\r\n\r\n",
                Err(Answer::Malformed),
            ),
            ("POST /hook HTTP/1.1\r\n\r\n", Err(Answer::NoLength)),
            ("GET / HTTP/1.1\r\n\r\n", Err(Answer::NotPost)),
            ("POST /hook\r\n\r\n", Err(Answer::Malformed)),
            (
                "POST / SPDY/3\r\nContent-Length: 1\r\n\r\n",
                Err(Answer::Malformed),
            ),
            (
                "POST / HTTP/1.1\r\nno colon\r\n\r\n",
                Err(Answer::Malformed),
            ),
        ];
        for (text, want) in cases {
            let got = parse_head(text.as_bytes(), max).map(|h| h.and_then(|h| h.length));
            assert_eq!(got, *want, "{text:?}");
        }
        let long = format!("POST / HTTP/1.1\r\nX: {}", "a".repeat(MAX_HEAD));
        assert_eq!(parse_head(long.as_bytes(), max), Err(Answer::TooLarge));
        let head = parse_head(
            b"POST / HTTP/1.1\r\nContent-Length: 0\r\nX-A: b\r\n\r\n",
            max,
        )
        .unwrap()
        .unwrap();
        assert_eq!(head.size, 46);
        assert_eq!(header(&head.headers, "x-a"), Some("b"));
    }

    #[test]
    fn the_log_line_never_carries_the_body() {
        let line = log_line(&Answer::Unauthorized, Some("issues"), Some("d-1"));
        assert_eq!(
            line,
            "hook: 401: no valid signature (event \"issues\", delivery d-1)"
        );
    }

    #[test]
    fn a_size_is_a_number_and_its_unit() {
        let cases: &[(&str, Result<u64, ()>)] = &[
            ("5MiB", Ok(5 << 20)),
            ("512KiB", Ok(512 << 10)),
            ("1MB", Ok(1_000_000)),
            ("1000", Ok(1000)),
            (" 2 GiB ", Ok(2 << 30)),
            ("5mb", Err(())),
            ("MiB", Err(())),
            ("-1", Err(())),
            ("99999999999999GiB", Err(())),
        ];
        for (s, want) in cases {
            assert_eq!(parse_size(s).map_err(|_| ()), *want, "{s}");
        }
    }

    #[test]
    fn the_forge_kind_picks_the_dialect() {
        let cases = [
            (ForgeKind::Gitea, Some(Sender::Gitea)),
            (ForgeKind::Forgejo, Some(Sender::Gitea)),
            (ForgeKind::Github, Some(Sender::Github)),
            (ForgeKind::Gitlab, Some(Sender::Gitlab)),
            (ForgeKind::AzureDevops, Some(Sender::AzureDevops)),
        ];
        assert_eq!(cases.len(), ForgeKind::ALL.len(), "a row per kind");
        for (kind, want) in cases {
            assert_eq!(Sender::of_forge(kind), want, "{kind}");
        }
    }
}
