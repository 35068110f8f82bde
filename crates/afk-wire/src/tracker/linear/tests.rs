use super::*;
use afk_model::tracker::LinearRef;

const ME: &str = "00000000-0000-4000-8000-00000000afc0";
const ALICE: &str = "a11ce000-0000-4000-8000-000000000001";
const MALLORY: &str = "ba11ad00-0000-4000-8000-000000000002";
const READY_ID: &str = "1abe1000-0000-4000-8000-000000000001";
const MAP_ID: &str = "1abe1000-0000-4000-8000-000000000002";

fn names() -> HashMap<String, String> {
    HashMap::from([
        (READY_ID.to_string(), "ready-for-agent".to_string()),
        (MAP_ID.to_string(), "backend".to_string()),
    ])
}

fn entry(n: u8, by: Option<&str>, at: &str) -> LinearHistory {
    LinearHistory {
        id: format!("{n:02x}000000-0000-4000-8000-000000000000"),
        created_at: at.into(),
        actor: by.map(|b| LinearRef { id: b.into() }),
        ..Default::default()
    }
}

fn adds(mut h: LinearHistory, id: &str) -> LinearHistory {
    h.added_label_ids = Some(vec![id.into()]);
    h
}

fn brief(t: &[TimelineEvent]) -> Vec<String> {
    t.iter()
        .map(|e| {
            let k = match e.kind {
                TimelineKind::LabelAdded => "+",
                TimelineKind::LabelRemoved => "-",
                TimelineKind::Renamed => "edit",
                TimelineKind::Other => "?",
            };
            format!("{k}{} by {}", e.label.as_deref().unwrap_or(""), e.actor)
        })
        .collect()
}

fn read(history: &[LinearHistory], labels: &[&str], ready: &Ready) -> Vec<String> {
    let labels: Vec<String> = labels.iter().map(|l| l.to_string()).collect();
    let now = Now {
        creator: Some(MALLORY),
        created: Some("2026-01-01T00:00:00.000Z"),
        labels: &labels,
        ready_label: "ready-for-agent",
        ready,
    };
    let map_labels = vec!["backend".to_string()];
    let map = MapReads {
        projects: true,
        labels: &map_labels,
    };
    brief(&timeline(history, (ME, "afk"), &now, &names(), &map).unwrap())
}

/// A case's name, its history, the labels and the timeline read.
type Case = (
    &'static str,
    Vec<LinearHistory>,
    Vec<&'static str>,
    Vec<&'static str>,
);

/// The rule "the arming is the last history entry that added the ready
/// label, by its actor; pages in any order are read by time then id".
#[test]
fn a_linear_history_is_read_as_the_timeline_the_ready_rule_reads() {
    let label = Ready::Label("ready-for-agent".into());
    let t1 = "2026-01-02T10:00:00.000Z";
    let t2 = "2026-01-02T11:00:00.000Z";
    let cases: Vec<Case> = vec![
        (
            "added by alice",
            vec![adds(entry(1, Some(ALICE), t1), READY_ID)],
            vec!["ready-for-agent"],
            vec!["+ready-for-agent by a11ce000-0000-4000-8000-000000000001"],
        ),
        (
            "pages out of order are sorted by time",
            vec![
                adds(entry(2, Some(ALICE), t2), READY_ID),
                adds(entry(1, Some(MALLORY), t1), READY_ID),
            ],
            vec!["ready-for-agent"],
            vec![
                "+ready-for-agent by ba11ad00-0000-4000-8000-000000000002",
                "+ready-for-agent by a11ce000-0000-4000-8000-000000000001",
            ],
        ),
        (
            "no actor: an integration, anonymous",
            vec![adds(entry(1, None, t1), READY_ID)],
            vec!["ready-for-agent"],
            vec!["+ready-for-agent by "],
        ),
        (
            "a bot acting on a person's behalf is anonymous",
            vec![{
                let mut h = adds(entry(1, Some(ALICE), t1), READY_ID);
                h.bot_actor = Some(afk_model::tracker::LinearBot {
                    kind: Some("github".into()),
                });
                h
            }],
            vec!["ready-for-agent"],
            vec!["+ready-for-agent by "],
        ),
        (
            // Linear logs nothing of an issue's first 3 minutes, whoever
            // changed it: no one can be shown to have armed it
            "no entry: the ready label with the issue is no one's",
            vec![],
            vec!["ready-for-agent"],
            vec!["+ready-for-agent by "],
        ),
        (
            "no entry: another label with the issue is its creator's",
            vec![],
            vec!["backend"],
            vec!["+backend by ba11ad00-0000-4000-8000-000000000002"],
        ),
        (
            "a label afk does not read is left out; null label ids are none",
            vec![adds(
                entry(1, Some(ALICE), t1),
                "0ther000-0000-4000-8000-000000000000",
            )],
            vec![],
            vec![],
        ),
    ];
    for (name, history, labels, want) in cases {
        assert_eq!(read(&history, &labels, &label), want, "{name}");
    }
}

/// The rule "an edit after the arming by anyone but afk (the title, the
/// description, the team, the project, a map label) is an edit; the arming
/// entry's own edit is the armer's, before it".
#[test]
fn an_edit_after_the_linear_arming_is_read_as_one() {
    let label = Ready::Label("ready-for-agent".into());
    let t1 = "2026-01-02T10:00:00.000Z";
    let t2 = "2026-01-02T11:00:00.000Z";
    let cases: Vec<Case> = vec![
        (
            "a title edit after the arming, by another",
            vec![adds(entry(1, Some(ALICE), t1), READY_ID), {
                let mut h = entry(2, Some(MALLORY), t2);
                h.to_title = Some("new".into());
                h.from_title = Some("old".into());
                h
            }],
            vec!["ready-for-agent"],
            vec![
                "+ready-for-agent by a11ce000-0000-4000-8000-000000000001",
                "edit by ba11ad00-0000-4000-8000-000000000002",
            ],
        ),
        (
            "the arming entry's own edit is the armer's, before the arming",
            vec![{
                let mut h = adds(entry(1, Some(ALICE), t1), READY_ID);
                h.updated_description = Some(true);
                h
            }],
            vec!["ready-for-agent"],
            vec![
                "edit by a11ce000-0000-4000-8000-000000000001",
                "+ready-for-agent by a11ce000-0000-4000-8000-000000000001",
            ],
        ),
        (
            "a description another edited in the arming entry is theirs, after",
            vec![{
                let mut h = adds(entry(1, Some(ALICE), t1), READY_ID);
                h.updated_description = Some(true);
                h.description_updated_by = Some(vec![LinearRef { id: MALLORY.into() }]);
                h
            }],
            vec!["ready-for-agent"],
            vec![
                "edit by a11ce000-0000-4000-8000-000000000001",
                "+ready-for-agent by a11ce000-0000-4000-8000-000000000001",
                "edit by ba11ad00-0000-4000-8000-000000000002",
            ],
        ),
        (
            "a team move, a project move and a map label are edits; afk's own are not",
            vec![
                {
                    let mut h = entry(1, Some(MALLORY), t1);
                    h.from_team_id = Some("t1".into());
                    h.to_team_id = Some("t2".into());
                    h
                },
                {
                    let mut h = entry(2, Some(ME), t2);
                    h.to_project_id = Some("p".into());
                    h
                },
                adds(entry(3, Some(ALICE), "2026-01-02T12:00:00.000Z"), MAP_ID),
            ],
            vec!["backend"],
            vec![
                "edit by ba11ad00-0000-4000-8000-000000000002",
                "edit by a11ce000-0000-4000-8000-000000000001",
                "+backend by a11ce000-0000-4000-8000-000000000001",
            ],
        ),
    ];
    for (name, history, labels, want) in cases {
        assert_eq!(read(&history, &labels, &label), want, "{name}");
    }
}

/// The rule "with ready by status or delegation, the move into the ready
/// state (or the delegation to afk) is the arming, and a real label of the
/// ready label's name arms nothing".
#[test]
fn a_move_into_the_ready_state_or_a_delegation_to_afk_is_the_arming() {
    let t1 = "2026-01-02T10:00:00.000Z";
    let status = Ready::Status(vec!["s-ready".into()]);
    let into = {
        let mut h = entry(1, Some(ALICE), t1);
        h.from_state_id = Some("s-backlog".into());
        h.to_state_id = Some("s-ready".into());
        h
    };
    assert_eq!(
        read(&[into], &["ready-for-agent"], &status),
        vec!["+ready-for-agent by a11ce000-0000-4000-8000-000000000001"]
    );
    let out_of = {
        let mut h = entry(2, Some(MALLORY), t1);
        h.from_state_id = Some("s-ready".into());
        h.to_state_id = Some("s-done".into());
        h
    };
    assert_eq!(
        read(&[out_of], &[], &status),
        vec!["-ready-for-agent by ba11ad00-0000-4000-8000-000000000002"]
    );
    let label_only = adds(entry(3, Some(MALLORY), t1), READY_ID);
    assert_eq!(read(&[label_only], &[], &status), Vec::<String>::new());
    let delegate = Ready::Delegate(ME.into());
    let delegated = {
        let mut h = entry(4, Some(ALICE), t1);
        h.to_delegate = Some(LinearRef { id: ME.into() });
        h
    };
    assert_eq!(
        read(&[delegated], &["ready-for-agent"], &delegate),
        vec!["+ready-for-agent by a11ce000-0000-4000-8000-000000000001"]
    );
}

/// The rule "a history entry's UUID is numbered by its first fifteen hex
/// digits; anything else is refused".
#[test]
fn a_history_entry_is_numbered_by_its_uuid_and_a_bad_one_is_refused() {
    assert_eq!(
        event_id("00000000-0000-4000-8000-000000000000"),
        Ok(0x000000000000400)
    );
    assert_eq!(
        event_id("fffffffF-ffff-4fff-8fff-ffffffffffff"),
        Ok(0xffffffffffff4ff)
    );
    for bad in [
        "",
        "42",
        "not-a-uuid",
        "zzzzzzzz-0000-4000-8000-000000000000",
    ] {
        assert!(event_id(bad).is_err(), "{bad}");
    }
    let bad_time = LinearHistory {
        id: "00000000-0000-4000-8000-000000000000".into(),
        created_at: "yesterday".into(),
        ..Default::default()
    };
    assert!(in_order(&[bad_time]).is_err());
}

fn user(id: &str, active: bool, guest: bool, app: bool) -> LinearUser {
    LinearUser {
        id: id.into(),
        active: Some(active),
        guest: Some(guest),
        app: Some(app),
    }
}

/// The rule "trust, Linear: an active member of the issue's team who is no
/// guest and no app, or a named account; never afk's or the agent's".
#[test]
fn linear_trust_is_team_membership_for_active_people_and_names_for_the_rest() {
    let named = vec!["bot-1".to_string()];
    let cases = [
        (user(ALICE, true, false, false), true, true, true),
        (user(ALICE, true, false, false), false, true, false),
        (user(ALICE, true, false, false), true, false, false),
        (user(ALICE, false, false, false), true, true, false),
        (user(ALICE, true, true, false), true, true, false),
        (user(ALICE, true, false, true), true, true, false),
        (user("bot-1", true, false, true), false, true, true),
        (user(ME, true, false, false), true, true, false),
        (user("agent", true, false, false), true, true, false),
        (
            LinearUser {
                id: ALICE.into(),
                active: Some(true),
                guest: None,
                app: Some(false),
            },
            true,
            true,
            false,
        ),
    ];
    for (u, member, team_members, want) in cases {
        let t = trust(&u, member, &[ME, "agent"], &named, team_members);
        assert_eq!(
            matches!(t, Trust::Trusted(_)),
            want,
            "{u:?} member {member} team_members {team_members}: {t:?}"
        );
    }
}

/// The rule "the search asks for the mapped teams' unfinished issues,
/// armed as `ready` says".
#[test]
fn the_ready_search_filters_by_team_state_and_what_arms() {
    let teams = vec!["ENG".to_string()];
    let f = ready_filter(&teams, &Ready::Label("Ready".into()));
    assert_eq!(f["team"], json!({"key": {"in": ["ENG"]}}));
    assert_eq!(
        f["state"],
        json!({"type": {"nin": ["completed", "canceled", "duplicate"]}})
    );
    assert_eq!(
        f["labels"],
        json!({"some": {"name": {"eqIgnoreCase": "Ready"}}})
    );
    let f = ready_filter(&teams, &Ready::Status(vec!["s1".into()]));
    assert_eq!(f["state"]["id"], json!({"in": ["s1"]}));
    assert!(f.get("labels").is_none());
    let f = ready_filter(&teams, &Ready::Delegate(ME.into()));
    assert_eq!(f["delegate"], json!({"id": {"eq": ME}}));
}

/// The rule "Linear's rate limit is its RATELIMITED code or its
/// ratelimited type, nothing else".
#[test]
fn linears_rate_limit_is_its_code_or_its_type() {
    for (error, want) in [
        (
            "tracker: POST /graphql returned 400: unexpected answer (Rate limit exceeded (RATELIMITED))",
            true,
        ),
        ("linear: issues: Rate limit exceeded (ratelimited)", true),
        (
            "tracker: POST /graphql returned 400: unexpected answer (Entity not found: Issue (INPUT_ERROR))",
            false,
        ),
        ("tracker: POST /graphql returned 429: rate limited", false),
    ] {
        assert_eq!(super::rate_limited(error), want, "{error}");
    }
}

/// The rule "afk's marker is the first line of its comment in Linear in
/// plain words, and comes back as the forge's hidden one".
#[test]
fn afks_marker_is_plain_words_in_linear_and_comes_back_whole() {
    let cases = [
        (
            "<!-- afk:checklist -->\n**afk** progress",
            "afk · checklist\n**afk** progress",
        ),
        (
            "<!-- afk:escalation run=7 -->\nx",
            "afk · escalation · run 7\nx",
        ),
        (
            "<!-- afk:paused run=3 n=2 -->",
            "afk · paused · run 3 · n 2",
        ),
    ];
    for (forge, linear) in cases {
        assert_eq!(super::marker_out(forge), linear);
        assert_eq!(super::marker_in(linear), forge);
    }
    // anything else stays as it was, both ways
    for body in [
        "plain",
        "<!-- afk:x run=a -->\ny",
        "<!-- someone's -->",
        "text\n<!-- afk:checklist -->",
        "afk · Checklist",
        "afk · checklist · run seven",
        "",
    ] {
        assert_eq!(super::marker_out(body), body);
        assert_eq!(super::marker_in(body), body);
    }
}

#[test]
fn an_id_afk_gives_a_label_is_a_uuid_v4_of_its_draw() {
    // (drawn bytes, the id)
    let table: [([u8; 16], &str); 3] = [
        ([0; 16], "00000000-0000-4000-8000-000000000000"),
        ([0xff; 16], "ffffffff-ffff-4fff-bfff-ffffffffffff"),
        (
            [
                0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc,
                0xde, 0xf0,
            ],
            "12345678-9abc-4ef0-9234-56789abcdef0",
        ),
    ];
    for (draw, want) in table {
        assert_eq!(uuid_v4(draw), want, "{draw:?}");
    }
}

#[test]
fn a_linear_label_is_afks_whatever_its_case() {
    let afk = vec!["ready-for-agent".to_string(), "agent-paused".to_string()];
    // (the name in Linear, as afk reads it)
    for (name, want) in [
        ("ready-for-agent", "ready-for-agent"),
        ("READY-FOR-AGENT", "ready-for-agent"),
        ("Agent-Paused", "agent-paused"),
        ("ready-for-agent ", "ready-for-agent "),
        ("bug", "bug"),
    ] {
        assert_eq!(afk_case(name, &afk), want, "{name}");
    }
}
