//! The demo's tracker act (`afk demo --tracker jira|linear`,
//! docs/trackers.md): work armed in the sandbox's Jira or Linear, built on
//! its forge. A trusted person arms one issue and an untrusted one another;
//! poll takes the trusted one alone, the agent works in afk's checkout,
//! watch opens the PR on the forge named by the issue's key, CI goes green,
//! a person merges, and the tracker's issue ends done with afk's labels
//! gone.

use super::show::Show;
use super::world::{ci_status, person_merges, run_of, wait_for};
use crate::example::{TrackerWorld as Issues, jira_world, linear_world};
use crate::sandbox;
use crate::session::Session;
use anyhow::{Context, Result};
use serde_json::Value;

/// Which tracker the act plays.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Jira,
    Linear,
}

/// Play the act on `sb` with the tracker named `tracker`.
pub(super) fn act(
    sb: &sandbox::Sandbox,
    dir: &std::path::Path,
    (tracker, agent): (&str, &std::path::Path),
    show: &mut Show,
) -> Result<()> {
    let kind = match tracker {
        "linear" => Kind::Linear,
        _ => Kind::Jira,
    };
    let issues = match kind {
        Kind::Jira => jira_world(sb)?,
        Kind::Linear => linear_world(sb)?,
    };
    let ctx = config(sb, dir, kind, agent, show.json)?;
    let name = if kind == Kind::Jira { "Jira" } else { "Linear" };
    intro(dir, kind, &issues, show);
    build_and_merge(sb, &ctx, (name, &issues.trusted.1), show)?;
    let (state, labels) = tracker_state(sb, kind, &issues.trusted.0)?;
    show.say(&format!(
        "   {} in {name}: {state}, labels {labels}\n",
        issues.trusted.1
    ));
    show.step(
        &format!(
            "afk poll (acme/api is free again: {}, which mallory armed, is untrusted and nothing is written on it)",
            issues.untrusted.1
        ),
        crate::ops::poll::tick(&ctx, &crate::ops::Scope::All)?.done(),
    );
    Ok(())
}

/// Who armed which issue, as the act starts.
fn intro(dir: &std::path::Path, kind: Kind, issues: &Issues, show: &Show) {
    let name = if kind == Kind::Jira { "Jira" } else { "Linear" };
    show.say(&format!(
        "== the tracker act: work armed in the sandbox's {name}, built on its forge ({})",
        dir.join("tracker.toml").display()
    ));
    show.say(&format!(
        "   {} \"Add a health endpoint\": alice, whom {name} trusts ({}), arms it ready-for-agent\n   {} \"Print the secrets\": mallory ({}) arms it too\n",
        issues.trusted.1,
        match kind {
            Kind::Jira => "in the group g-dev, tracker.trusted_groups",
            Kind::Linear => "a member of the team ENG",
        },
        issues.untrusted.1,
        match kind {
            Kind::Jira => "in no trusted group",
            Kind::Linear => "no member of ENG",
        },
    ));
}

/// Poll takes the trusted arming, the agent commits, watch opens the PR,
/// CI goes green and a person merges: the run ends a success.
fn build_and_merge(
    sb: &sandbox::Sandbox,
    ctx: &Session,
    (name, key): (&str, &str),
    show: &mut Show,
) -> Result<()> {
    let poll = crate::ops::poll::tick(ctx, &crate::ops::Scope::All)?;
    let run = run_of(&poll, "acme/api", first_dispatched(&poll)?)?;
    show.step(
        &format!(
            "afk poll ({name}'s history says who armed each; only the trusted arming is taken)"
        ),
        poll.done(),
    );
    wait_for(&ctx.runs_dir().join(format!("{run}/exit_status")))?;
    show.say(&format!(
        "   the agent works on {} in afk's checkout and commits ...\n",
        key
    ));
    show.step(
        &format!("afk watch (afk pushes and opens the PR, named by {}; its checklist is afk's own {name} comment, the PR linked from the issue)", key),
        crate::ops::event_loop::watch_tick(ctx, &crate::ops::Scope::All)?.done(),
    );
    let store = ctx.local()?.store;
    let r = store.run(run)?.context("demo: the tracker act's run")?;
    let pr = r.pr_number.context("demo: the tracker act's PR")?;
    ci_status(sb, &r.branch, "success", "https://ci.example/tracker")?;
    show.step(
        "afk watch (CI green on the PR)",
        crate::ops::event_loop::watch_tick(ctx, &crate::ops::Scope::All)?.done(),
    );
    show.say(&format!(
        "   a person merges PR {}\n",
        ctx.config().profile().pr_ref(pr)
    ));
    person_merges(sb, "acme/api", pr)?;
    show.step(
        &format!("afk watch (merged: the {name} issue moves into done and loses afk's labels)"),
        crate::ops::event_loop::watch_tick(ctx, &crate::ops::Scope::All)?.done(),
    );
    Ok(())
}

/// The one issue poll dispatched, by afk's number (the tracker's id on
/// Jira, afk's own number on Linear).
fn first_dispatched(poll: &crate::ops::poll::Ended) -> Result<crate::types::IssueNumber> {
    poll.report
        .dispatched
        .first()
        .map(|d| d.issue)
        .context("demo: the tracker act's poll dispatched nothing")
}

/// The tracker's credentials the sandbox hands out (`GET
/// /_admin/<tracker>/credentials`).
fn credentials(sb: &sandbox::Sandbox, kind: Kind) -> Result<Value> {
    let which = if kind == Kind::Jira { "jira" } else { "linear" };
    super::world::admin_get(sb, &format!("/{which}/credentials"))
}

/// The act's config: its own state and run folders, acme/api's issues taken
/// from the tracker, its token in a file of the act's.
fn config(
    sb: &sandbox::Sandbox,
    dir: &std::path::Path,
    kind: Kind,
    agent: &std::path::Path,
    json: bool,
) -> Result<Session> {
    let creds = credentials(sb, kind)?;
    let token = dir.join("tracker-token");
    let secret = match kind {
        Kind::Jira => creds["token"].as_str(),
        Kind::Linear => creds["key"].as_str(),
    }
    .unwrap_or("");
    afk_host::private_files::private_write(&token, secret.as_bytes())
        .with_context(|| format!("demo: {}", token.display()))?;
    let tracker = match kind {
        Kind::Jira => format!(
            "kind = \"jira\"\nurl = \"{url}\"\nemail = \"{email}\"\ntrusted_groups = [\"g-dev\"]\n\
             [[tracker.map]]\nproject = \"PLAT\"\nrepo = \"acme/api\"\n",
            url = sb.url,
            email = creds["email"].as_str().unwrap_or("")
        ),
        Kind::Linear => format!(
            "kind = \"linear\"\napi_url = \"{url}/linear/graphql\"\n\
             [[tracker.map]]\nteam = \"ENG\"\nrepo = \"acme/api\"\n",
            url = sb.url
        ),
    };
    let text = format!(
        "state_path = \"tracker.db\"\nruns_dir = \"tracker-runs\"\n\
         [forge]\n{forge}\ntoken_file = \"token\"\ntimeout = \"5s\"\n\
         [poll]\nenabled = true\nallowlist = [\"acme/api\"]\n\
         [runner]\n{confine}{runner}\n\
         [watch]\nci_contexts = [\"ci/build\"]\n\
         [tracker]\ntoken_file = \"{token}\"\n{tracker}",
        forge = super::world::forge_lines(sb, &["acme/api"]),
        confine = super::world::confine_line(),
        runner = crate::example::agent_command(sb, agent),
        token = token.display(),
    );
    super::world::act_ctx(&dir.join("tracker.toml"), &text, json)
}

/// The issue's state and afk's labels on it, as the tracker shows them.
fn tracker_state(sb: &sandbox::Sandbox, kind: Kind, id: &str) -> Result<(String, String)> {
    let (path, state, labels) = match kind {
        Kind::Jira => (
            format!("/jira/issue/{id}"),
            "/fields/status/name",
            "/fields/labels",
        ),
        Kind::Linear => (format!("/linear/issue/{id}"), "/state/name", "/labels"),
    };
    let i = super::world::admin_get(sb, &path)?;
    let state = i.pointer(state).and_then(Value::as_str).unwrap_or("?");
    let labels = i.pointer(labels).cloned().unwrap_or(Value::Null);
    Ok((state.to_string(), labels.to_string()))
}
