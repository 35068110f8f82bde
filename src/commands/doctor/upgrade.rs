//! `[upgrade]`, when recipes are configured: the mirrors on the forge (there,
//! and afk may push), each recipe's upstream (one bounded `git ls-remote`),
//! the registries' OCI base, the work folder. What a finding means is
//! `core::doctor::upgrade`'s; the fixer is `runner.command`, which the runner
//! lines check.

use super::Doctor;
use crate::core::doctor::upgrade::{self as rules, MirrorSeen};
use crate::forge::{Failure, Forge, ForgeError, fan_out};
use crate::session::Session;
use crate::types::RepoName;
use std::time::Duration;

/// How long one upstream's `git ls-remote` may take.
const LS_REMOTE_TIMEOUT: Duration = Duration::from_secs(15);

fn configured(ctx: &Session) -> bool {
    !ctx.config().upgrade.recipes.is_empty()
}

/// What needs no forge: the work folder, the upstreams, the registries.
pub(super) fn local(ctx: &Session, d: &mut Doctor) {
    if !configured(ctx) {
        return;
    }
    let c = ctx.config();
    let work = ctx.paths().recipes.clone();
    let (level, text) = rules::folder(
        "upgrade.work_dir",
        &work.display().to_string(),
        &super::local::folder_seen(&work),
    );
    d.add("upgrade", level, text);
    let git = ctx.git();
    let upstreams: Vec<(String, String)> = c
        .upgrade
        .recipes
        .iter()
        .map(|r| (r.clone(), c.upgrade.upstream.replace("{recipe}", r)))
        .collect();
    // progress lines for a person who waits (-v): cron mail gets the table only
    crate::log::debug(&format!(
        "doctor: asking {} for main (git ls-remote, {}s each at most)…",
        crate::core::plural(upstreams.len(), "upstream", "upstreams"),
        LS_REMOTE_TIMEOUT.as_secs()
    ));
    let answers = fan_out(&upstreams, c.forge.concurrency, |(recipe, url)| {
        let seen = git
            .ls_remote_main(url, LS_REMOTE_TIMEOUT)
            .map_err(|e| format!("{e:#}"));
        rules::upstream(
            recipe,
            url,
            seen.as_ref().map(Option::as_deref).map_err(String::as_str),
        )
    });
    for (level, text) in answers {
        d.add("upgrade", level, text);
    }
    registries(ctx, d);
}

/// Each configured registry (`registry_mirrors`' hosts, `registry_auth_host`;
/// none: Docker Hub, where most recipes' images are): its `/v2/` answers.
fn registries(ctx: &Session, d: &mut Doctor) {
    let u = &ctx.config().upgrade;
    let mut hosts: Vec<String> = u.registry_mirrors.keys().cloned().collect();
    if !u.registry_auth_host.trim().is_empty() && !hosts.contains(&u.registry_auth_host) {
        hosts.push(u.registry_auth_host.clone());
    }
    if hosts.is_empty() {
        hosts.push(crate::registry::DOCKER_HUB.into());
    }
    let reg = ctx.registry();
    for host in hosts {
        // the line a person reads: the error, then its hint
        let seen = reg
            .ping(&host)
            .map_err(|e| crate::command_error::person_line(&anyhow::Error::new(e)));
        let seen = match &seen {
            Ok((url, challenge)) => Ok((url.as_str(), challenge.as_deref())),
            Err(e) => Err(e.as_str()),
        };
        let (level, text) = rules::registry(&host, seen);
        d.add("upgrade", level, text);
    }
}

/// Every mirror (and `tests_repo`): there, and afk's account may push.
pub(super) fn mirrors(ctx: &Session, forge: &dyn Forge, me: &str, d: &mut Doctor) {
    if !configured(ctx) {
        return;
    }
    let c = ctx.config();
    let mut repos: Vec<RepoName> = vec![];
    for r in &c.upgrade.recipes {
        let name = c.upgrade.mirror.replace("{recipe}", r);
        match RepoName::parse_any(&name) {
            Ok(n) if !repos.contains(&n) => repos.push(n),
            Ok(_) => {}
            Err(_) => d.add(
                "upgrade",
                crate::core::doctor::Level::Fail,
                format!("the mirror of {r} would be \"{name}\", which is not owner/repo: fix upgrade.mirror"),
            ),
        }
    }
    repos.extend(c.upgrade.tests_repo.clone().filter(|t| !repos.contains(t)));
    let app = c.github_app();
    let results = fan_out(&repos, c.forge.concurrency, |repo| {
        let kind = |e: &anyhow::Error| ForgeError::kind_of(e);
        let line = |e: &anyhow::Error| crate::command_error::person_line(e);
        match forge.open_pulls(repo) {
            Err(e) if kind(&e) == Some(Failure::NotFound) => {
                return rules::mirror(me, repo, MirrorSeen::Missing);
            }
            Err(e) => return rules::mirror(me, repo, MirrorSeen::Failed(&line(&e))),
            Ok(_) if app => return rules::mirror(me, repo, MirrorSeen::ThereAsApp),
            Ok(_) => {}
        }
        match forge.permission(repo, me) {
            Ok(p) => rules::mirror(me, repo, MirrorSeen::Permission(&p)),
            Err(e) if kind(&e) == Some(Failure::Forbidden) => {
                rules::mirror(me, repo, MirrorSeen::PermissionRefused)
            }
            Err(e) => rules::mirror(me, repo, MirrorSeen::Failed(&line(&e))),
        }
    });
    for (level, text) in results {
        d.add("upgrade", level, text);
    }
}
