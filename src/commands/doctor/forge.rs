//! The forge: the token's account, what only this forge can say, and per
//! allowlisted repo its labels and afk's own permission there.

use super::Doctor;
use crate::core::doctor::{self, Level};
use crate::forge::{Failure, Forge, ForgeError, fan_out};
use crate::session::Session;
use crate::types::RepoName;
use anyhow::Result;

/// The forge: the token's account, what only this forge can say, and per
/// allowlisted repo its labels and afk's own permission there.
pub(super) fn forge(ctx: &Session, d: &mut Doctor) -> Result<()> {
    let c = ctx.config();
    // the tracker's credential is read with the forge's, but said as the
    // tracker's: a missing tracker token is no fault of the forge's
    if let Err(e) = c
        .tracker_token()
        .and_then(|_| c.tracker_client_credentials())
    {
        d.check("tracker", false, crate::command_error::person_line(&e));
        return Ok(());
    }
    let forge = match ctx.forge() {
        Err(e) => {
            d.check("forge", false, crate::command_error::person_line(&e));
            return Ok(());
        }
        Ok(f) => f,
    };
    let api = c.api_root()?;
    // progress lines for a person who waits (-v): cron mail gets the table only
    crate::log::debug(&format!(
        "doctor: asking the forge at {api} who the token belongs to (forge.timeout {} per request)…",
        crate::config::format_duration(c.forge.timeout)
    ));
    let me = match forge.me() {
        Err(e) => {
            d.check("forge", false, crate::command_error::person_line(&e));
            return Ok(());
        }
        Ok(me) => me,
    };
    d.check(
        "forge",
        true,
        format!("{api} answers; the token belongs to {}", me.login),
    );
    // what only this forge can say (GitHub: token scopes, rate limit left)
    let diagnosed = forge.diagnose();
    let no_installation = diagnosed.iter().any(|x| x.check == "installation" && !x.ok);
    for x in diagnosed {
        diagnosis(d, x);
    }
    if let Some(t) = forge.token_info() {
        let (level, text) = match t {
            Ok(t) => crate::core::doctor::gitlab::token(
                &t.scopes,
                t.expires_at.as_deref(),
                t.active,
                crate::clock::now().date(),
            ),
            Err(e) => (
                Level::Warn,
                format!("can't tell ({})", crate::command_error::person_line(&e)),
            ),
        };
        d.add("token", level, text);
    }
    // doctor's reads are optional: none once the forge slowed afk
    // down; its own lines said so
    if !forge.optional_reads() {
        let text = "skipped: the forge slowed afk down (a delayed answer, see the rate limit line): each repo's labels, permission and hooks, the mirrors and the status issue wait for the next doctor";
        d.add("forge checks", Level::Warn, text.to_string());
        return Ok(());
    }
    if no_installation {
        let text = "skipped: the installation token, its repos, the rate limit, each repo's labels and permissions, the mirrors and the status issue all need the installation (see the line above)";
        d.add("forge checks", Level::Warn, text.to_string());
        return Ok(());
    }
    if !c.poll.allowlist.is_empty() {
        crate::log::debug(&format!(
            "doctor: checking labels and permissions in {}…",
            crate::core::plural(c.poll.allowlist.len(), "repo", "repos")
        ));
    }
    let needs_admin = c.profile().labels_need_admin;
    let results = fan_out(&c.poll.allowlist, c.forge.concurrency, |repo| {
        repo_checks(ctx, forge.as_ref(), repo, &me.login, needs_admin)
    });
    for (name, level, text) in results.into_iter().flatten() {
        d.add(&name, level, text);
    }
    super::upgrade::mirrors(ctx, forge.as_ref(), &me.login, d);
    if let Some(issue) = c.status_issue() {
        let (level, text) = status_issue_check(forge.as_ref(), issue, &me.login);
        d.add("status issue", level, text);
    }
    Ok(())
}

/// The status issue exists and afk's account may edit its body (it opened
/// it, or has write access: one permission read); `core::doctor::status_issue`.
fn status_issue_check(
    forge: &dyn Forge,
    issue: &crate::core::status::issue::IssueRef,
    me: &str,
) -> (Level, String) {
    use doctor::StatusIssue;
    let found = match forge.issue(&issue.repo, issue.number) {
        Err(e) if ForgeError::kind_of(&e) == Some(Failure::NotFound) => StatusIssue::Missing,
        Err(e) => return (Level::Fail, crate::command_error::person_line(&e)),
        Ok(i) if i.is_pull() => StatusIssue::Pull,
        Ok(i) => {
            let author = i.user.map(|u| u.login).unwrap_or_default();
            let permission = (author != me && !me.ends_with("[bot]"))
                .then(|| forge.permission(&issue.repo, me).ok())
                .flatten();
            StatusIssue::Found { author, permission }
        }
    };
    doctor::status_issue(&issue.to_string(), me, &found)
}

fn repo_checks(
    ctx: &Session,
    forge: &dyn Forge,
    repo: &RepoName,
    me: &str,
    needs_admin: bool,
) -> Vec<(String, Level, String)> {
    let c = ctx.config();
    let name = format!("repo {repo}");
    let mut out = vec![];
    match forge.repo_labels(repo) {
        Err(e) if ForgeError::kind_of(&e) == Some(Failure::NotFound) => {
            let text = format!("{repo} does not exist or the token cannot see it");
            return vec![(name, Level::Fail, text)];
        }
        Err(e) => out.push((
            name.clone(),
            Level::Fail,
            crate::command_error::person_line(&e),
        )),
        Ok(labels) => {
            // the paused label only where a limit pauses
            let pausing = c.budget.pause_for.is_some_and(|d| !d.is_zero());
            let missing: Vec<String> = [
                &c.poll.ready_label,
                &c.poll.in_progress_label,
                &c.watch.human_label,
            ]
            .into_iter()
            .chain(pausing.then_some(&c.budget.paused_label))
            .filter(|n| !labels.iter().any(|l| &l.name == *n))
            .map(|m| format!("\"{m}\""))
            .collect();
            // where afk's first write that adds a label makes it (Azure
            // DevOps' tags), a missing one is a warning
            out.push(
                match (missing.is_empty(), c.profile().missing_label_warns) {
                    (true, _) => (name.clone(), Level::Ok, "labels present".to_string()),
                    (false, true) => {
                        let text = format!(
                            "missing labels {}: afk's first write that adds one makes it",
                            missing.join(", ")
                        );
                        (name.clone(), Level::Warn, text)
                    }
                    (false, false) => {
                        let text = format!(
                            "missing labels {} (afk init --create-labels)",
                            missing.join(", ")
                        );
                        (name.clone(), Level::Fail, text)
                    }
                },
            );
        }
    }
    if let Some(line) = webhook_check(c, forge, repo) {
        out.push((name.clone(), line.0, line.1));
    }
    if c.github_app() {
        // an app's bot is no collaborator: its access is the installation's,
        // which the "installation repos" line checks
        return out;
    }
    match forge.permission(repo, me) {
        Ok(p) => {
            let (level, text) = doctor::account_permission(me, repo, Some(&p), needs_admin);
            out.push((name.clone(), level, text));
            if let Some(line) = branch_check(forge, repo, &p) {
                out.push((name, line.0, line.1));
            }
        }
        Err(e) if ForgeError::kind_of(&e) == Some(Failure::Forbidden) => out.push((name, Level::Fail, format!(
            "{}: afk's account must be allowed to read collaborator permissions to check who armed an issue (Gitea: a repo admin; GitHub: push access)",
            crate::command_error::person_line(&e)))),
        Err(e) => out.push((name, Level::Fail, crate::command_error::person_line(&e))),
    }
    out
}

/// Where the forge says (GitLab): a protection rule that would refuse afk's
/// push of `afk/issue-<N>` at its access level, or an unprotected default
/// branch (`core::doctor::gitlab::branches`).
fn branch_check(
    forge: &dyn Forge,
    repo: &RepoName,
    afk: &crate::types::Permission,
) -> Option<(Level, String)> {
    Some(match forge.branch_rules(repo)? {
        Ok(b) => crate::core::doctor::gitlab::branches(
            repo.as_str(),
            &b.default_branch,
            &b.rules,
            crate::core::doctor::gitlab::level_of(afk.access()),
        ),
        Err(e) => (
            Level::Warn,
            format!(
                "protected branches: can't tell ({})",
                crate::command_error::person_line(&e)
            ),
        ),
    })
}

/// With `[hook]` configured: whether the forge's webhook is, where the
/// forge lets afk read the repository's hooks (docs/hook.md#configuration).
fn webhook_check(
    c: &crate::config::Config,
    forge: &dyn Forge,
    repo: &RepoName,
) -> Option<(Level, String)> {
    let h = &c.hook;
    if h.secret_file.is_none() && h.secret_env.trim().is_empty() {
        return None;
    }
    Some(match forge.hooks(repo) {
        Ok(hooks) => match (hooks.iter().filter(|h| h.active).count(), hooks.len()) {
            (0, 0) => (
                Level::Warn,
                "no webhook configured; events wait for cron's tick".to_string(),
            ),
            (0, n) => (
                Level::Warn,
                format!(
                    "no active webhook ({n} found: disabled by the forge, or sending none of the events afk reads); events wait for cron's tick"
                ),
            ),
            (n, _) => (Level::Ok, format!("webhook configured ({n})")),
        },
        Err(e) => match ForgeError::kind_of(&e) {
            Some(Failure::Forbidden | Failure::NotFound) => (
                Level::Warn,
                "webhook: can't tell (403/404: the token cannot read hooks)".to_string(),
            ),
            _ => (
                Level::Warn,
                format!(
                    "webhook: can't tell ({})",
                    crate::command_error::person_line(&e)
                ),
            ),
        },
    })
}

/// One line only this forge can say, with the fix where afk knows one; a
/// warning is a WARN (Azure DevOps' missing tags and `BYPASS_RULES` holders).
fn diagnosis(d: &mut Doctor, x: crate::forge::Diagnosis) {
    let detail = match app_fix(&x) {
        Some(fix) => format!("{}; fix: {fix}", x.detail),
        None => x.detail.clone(),
    };
    match x.warn {
        true => d.add(&x.check, Level::Warn, detail),
        false => d.check(&x.check, x.ok, detail),
    }
}

/// What to do about a GitHub App's failed line (the forge crate says what
/// is wrong; the advice is afk's own).
fn app_fix(x: &crate::forge::Diagnosis) -> Option<&'static str> {
    if x.ok {
        return None;
    }
    Some(match x.check.as_str() {
        "github app" => {
            "set forge.app_id to the app's id and forge.app_private_key_file to a key generated for it"
        }
        "installation" => {
            "install the app on the owner of the allowlisted repos and set forge.app_installation_id to the number in the installation's URL"
        }
        "installation token" => "see the installation line",
        "installation repos" if x.detail.starts_with(crate::forge::app::NOT_IN_INSTALLATION) => {
            "add them in the app's installation settings (Repository access)"
        }
        _ => return None,
    })
}
