//! The forge a config names, built once per tick: Gitea or GitHub, a
//! token or a GitHub App, with the store's caches handed in. Wiring, so
//! here and not in the forge crate, which never sees the config.

use crate::config::Config;
use crate::forge::Forge;
use crate::forge::app::{App, AppParts, TokenKeeper, key_from_pem};
use crate::forge::setup::Books;
use anyhow::{Result, anyhow};

/// The forge the config names, with its token; no conditional-request cache.
/// A GitHub App's installation token is exchanged and not kept, and no
/// repository's ids are: an Azure DevOps repository is read by its names.
pub fn from_config(c: &Config) -> Result<Box<dyn Forge>> {
    build(c, None, None, None, false)
}

/// As [`from_config`], for a tick that keeps a GitHub App's installation
/// token with `keeper` (the caller's: the state file's `app_tokens`, reused
/// while fresh; a dry run's keeper stores nothing) and repositories' ids
/// with `books` (the state file's `forge_ids`: an Azure DevOps repository is
/// read by the ids of its first read; its `forge_votes`: a vote no system
/// comment dates, by its first sighting), without conditional requests
/// (harvest, upgrade).
pub fn with_keeper(
    c: &Config,
    keeper: Box<dyn crate::forge::app::TokenKeeper>,
    books: Books,
) -> Result<Box<dyn Forge>> {
    build(c, None, Some(keeper), Some(books), false)
}

/// The forge for a tick: as [`with_keeper`], and on GitHub every GET is
/// conditional on the `ETag` kept in `cache` (the caller's: the state file's
/// `etags` table, `store::etags`), so an unchanged answer is a 304 that costs
/// no rate limit. The forge never opens the store itself.
pub fn for_tick(
    c: &Config,
    cache: Box<dyn crate::forge::http::ConditionalCache>,
    keeper: Box<dyn crate::forge::app::TokenKeeper>,
    books: Books,
) -> Result<Box<dyn Forge>> {
    build(c, Some(cache), Some(keeper), Some(books), false)
}

/// `always_conditional`: whether GETs are conditional also on a forge whose
/// profile does not make every read so (Gitea: the status issue's; a tick's
/// Gitea reads are not). `books` reach a kind that takes a `Setup`.
fn build(
    c: &Config,
    cache: Option<Box<dyn crate::forge::http::ConditionalCache>>,
    keeper: Option<Box<dyn crate::forge::app::TokenKeeper>>,
    books: Option<Books>,
    always_conditional: bool,
) -> Result<Box<dyn Forge>> {
    if c.github_app() {
        return build_app(c, cache, keeper, books);
    }
    let token = c.forge_token()?;
    let source = match (&c.forge.entra_token_file, &c.forge.token_file) {
        (Some(p), _) => format!("forge.entra_token_file {}", p.display()),
        (None, _) if !c.forge.entra_token_env.is_empty() => c.forge.entra_token_env.clone(),
        (None, None) => c.forge.token_env.clone(),
        (None, Some(p)) => format!("forge.token_file {}", p.display()),
    };
    let root = c.api_root()?;
    let profile = c.profile();
    let entra = c.forge.entra_token_file.is_some() || !c.forge.entra_token_env.is_empty();
    let mut h = if entra {
        // an Entra access token goes as it is, `Bearer`
        let style = crate::forge::http::ApiStyle {
            scheme: "Bearer ",
            ..profile.api
        };
        crate::forge::http::Http::with_style(
            &style,
            &root,
            token.expose(),
            &source,
            c.forge_timeout(),
            c.forge.retries,
        )
    } else {
        profile.client(
            &root,
            token.expose(),
            &source,
            c.forge_timeout(),
            c.forge.retries,
        )
    };
    h.set_url_key(c.api_root_key());
    h.set_concurrency(c.forge.concurrency);
    // the ETag cache: always where every read is conditional, else as asked
    if let (true, Some(cache)) = (profile.conditional_reads || always_conditional, cache) {
        h.set_cache(cache);
    }
    let forge = match profile.forge_with {
        Some(make) => {
            let mut setup = c.forge_setup();
            setup.repo_ids = books.as_ref().map(|b| b.repo_ids.clone());
            setup.votes_seen = books.as_ref().map(|b| b.votes_seen.clone());
            make(h, &setup)
        }
        None => (profile.forge)(h),
    };
    tracked(c, forge, books.as_ref())
}

/// The forge with the tracker beside it when `[tracker]` is set
/// (docs/trackers.md): the issues are Jira's or Linear's, the rest the
/// forge's. `books` keep a Linear issue's number between ticks (None: in
/// memory, for a command outside a tick).
fn tracked(c: &Config, forge: Box<dyn Forge>, books: Option<&Books>) -> Result<Box<dyn Forge>> {
    let Some(tracker) = tracker(c, books)? else {
        return Ok(forge);
    };
    Ok(Box::new(crate::forge::tracked::Tracked {
        forge,
        tracker,
        agent_login: c.runner.agent_login.clone(),
        status_issue: c.status_issue.as_ref().map(|s| (s.repo.clone(), s.number)),
    }))
}

/// The Jira issues the verified delivery this process answered named
/// (`afk hook`): this process's searches reconcile them.
static RECONCILE: std::sync::OnceLock<Vec<i64>> = std::sync::OnceLock::new();

/// Name the Jira issues this process's searches reconcile (`afk hook`,
/// once a delivery verified: `core::hook::tracker_hint::jira_issue_ids`).
pub fn reconcile(ids: Vec<i64>) {
    let _ = RECONCILE.set(ids);
}

/// The tracker of `[tracker]` (None: no tracker, or no token for it), its
/// issue numbers kept in `books` (None: in memory).
pub fn tracker(
    c: &Config,
    books: Option<&Books>,
) -> Result<Option<Box<dyn crate::forge::tracker::Tracker>>> {
    let Some(t) = &c.tracker else {
        return Ok(None);
    };
    // a service account's access token is exchanged by the first request
    let service_account = c.tracker_client_credentials()?;
    let wire = match (&service_account, c.tracker_token()?) {
        (Some(_), _) => crate::redact::Secret::new(""),
        (None, Some((_, wire))) => wire,
        (None, None) => return Ok(None),
    };
    let style = match (t.linear(), t.auth()) {
        (true, "bearer") => &crate::forge::linear::LINEAR_API_BEARER,
        (true, _) => &crate::forge::linear::LINEAR_API_KEY,
        (false, "bearer" | "client_credentials") => &crate::forge::jira::JIRA_API_BEARER,
        (false, _) => &crate::forge::jira::JIRA_API,
    };
    // Linear's one endpoint is `…/graphql`: that path goes on each request,
    // so an error names it
    let (root, path) = match t.api_root().strip_suffix("/graphql") {
        Some(root) if t.linear() => (root, "/graphql"),
        _ => (t.api_root(), ""),
    };
    let mut h = crate::forge::http::Http::with_style(
        style,
        root,
        wire.expose(),
        &c.tracker_token_source(),
        t.timeout,
        t.retries,
    );
    h.set_service("tracker");
    if let Some((id, secret)) = service_account {
        h.set_refresher(service_account_exchange(c, t, id, secret));
    }
    h.set_url_key(match (t.api_url.is_empty(), t.linear()) {
        (true, false) => "tracker.url",
        _ => "tracker.api_url",
    });
    h.set_concurrency(t.concurrency);
    // a limit an earlier tick spent holds until its reset
    if let Some(b) = books {
        let now = u64::try_from(crate::clock::now().unix_timestamp()).unwrap_or(0);
        h.set_rate_carry(b.tracker_rate.clone(), now);
    }
    Ok(Some(match t.linear() {
        true => linear_tracker(c, t, h, path, books),
        false => jira_tracker(c, t, h),
    }))
}

/// A Jira service account's exchange of its client credentials at
/// `token_url`: the endpoint's origin as its client's root, its path on
/// each request, so an error names it.
fn service_account_exchange(
    c: &Config,
    t: &crate::config::Tracker,
    id: crate::redact::Secret,
    secret: crate::redact::Secret,
) -> std::sync::Arc<crate::forge::jira::service_account::ServiceAccount> {
    let url = t.token_url();
    let at = url.find("://").map_or(0, |i| i + 3);
    let (origin, path) = url.split_at(url[at..].find('/').map_or(url.len(), |i| at + i));
    let mut endpoint = crate::forge::http::Http::service(
        "tracker",
        origin,
        None,
        &c.tracker_token_source(),
        t.timeout,
        t.retries,
    );
    endpoint.set_url_key("tracker.token_url");
    endpoint.set_moved("the token endpoint answered with a redirect (not followed)");
    std::sync::Arc::new(crate::forge::jira::service_account::ServiceAccount::new(
        endpoint,
        path,
        id,
        secret,
        &c.tracker_token_source(),
    ))
}

/// A map entry's repository as `[poll] allowlist` spells it.
fn allowlisted(c: &Config, name: &str) -> String {
    c.poll
        .allowlist
        .iter()
        .find(|a| a.as_str().eq_ignore_ascii_case(name))
        .map_or_else(|| name.to_string(), |a| a.as_str().to_string())
}

/// Linear as the tracker, through `h`, its GraphQL endpoint at `path`.
fn linear_tracker(
    c: &Config,
    t: &crate::config::Tracker,
    mut h: crate::forge::http::Http,
    path: &str,
    books: Option<&Books>,
) -> Box<dyn crate::forge::tracker::Tracker> {
    h.set_moved("Linear answered with a redirect (not followed, nothing touched)");
    let setup = crate::forge::linear::LinearSetup {
        site: t.url.clone(),
        path: path.to_string(),
        ready_label: c.poll.ready_label.clone(),
        ready_status: (t.ready == "status").then(|| t.ready_status.clone()),
        ready_delegate: t.ready == "delegate",
        // a Linear entry's team key stands where a Jira project's does,
        // its project (a name or an id) where a component does
        map: (t.map.iter())
            .map(|e| crate::core::tracker::map::Entry {
                project: e.team.clone(),
                component: (!e.project.is_empty()).then(|| e.project.clone()),
                label: e.label.clone(),
                repo: allowlisted(c, &e.repo),
            })
            .collect(),
        trusted_accounts: t.trusted_accounts.clone(),
        trusted_team_members: t.trusted_team_members.unwrap_or(true),
        done_state: t.done_state.clone(),
        labels: c.labels().iter().map(|(l, _)| l.to_string()).collect(),
        concurrency: t.concurrency,
        hook: t.hook_secret_set(),
    };
    let numbers: std::sync::Arc<dyn crate::forge::setup::IssueNumbers> = match books {
        Some(b) => b.issue_numbers.clone(),
        None => std::sync::Arc::new(crate::forge::setup::NumbersInMemory::default()),
    };
    let heard: std::sync::Arc<dyn crate::forge::setup::AgentSessions> = match books {
        Some(b) => b.agent_sessions.clone(),
        None => std::sync::Arc::new(crate::forge::setup::NoSessions),
    };
    Box::new(crate::forge::linear::Linear::new(h, setup, numbers, heard))
}

/// Jira as the tracker, through `h`.
fn jira_tracker(
    c: &Config,
    t: &crate::config::Tracker,
    mut h: crate::forge::http::Http,
) -> Box<dyn crate::forge::tracker::Tracker> {
    h.set_moved("Jira answered with a redirect (not followed, nothing touched)");
    let setup = crate::forge::jira::JiraSetup {
        site: t.url.clone(),
        auth: t.auth().to_string(),
        ready_label: c.poll.ready_label.clone(),
        ready_status: (t.ready == "status").then(|| t.ready_status.clone()),
        map: (t.map.iter())
            .map(|e| crate::core::tracker::map::Entry {
                project: e.project.clone(),
                component: e.component.clone(),
                label: e.label.clone(),
                repo: allowlisted(c, &e.repo),
            })
            .collect(),
        trusted_groups: t.trusted_groups.clone(),
        trusted_roles: t.trusted_roles.clone(),
        trusted_accounts: t.trusted_accounts.clone(),
        done_transition: t.done_transition.clone(),
        blocked_by_link: (t.blocked_by_link.clone()).unwrap_or_else(|| "Blocks".into()),
        reconcile: RECONCILE.get().cloned().unwrap_or_default(),
        concurrency: t.concurrency,
        hook: t.hook_secret_set(),
    };
    Box::new(crate::forge::jira::Jira::new(h, setup))
}

/// The forge as an app's installation (config validation made sure its
/// kind has app authentication: the profile's `app`).
fn build_app(
    c: &Config,
    cache: Option<Box<dyn crate::forge::http::ConditionalCache>>,
    keeper: Option<Box<dyn crate::forge::app::TokenKeeper>>,
    books: Option<Books>,
) -> Result<Box<dyn Forge>> {
    let root = c.api_root()?;
    let app = std::sync::Arc::new(app(c, &root, keeper)?);
    // the token is fetched (or read from the state file) by the first request
    let profile = c.profile();
    let make = profile.app.ok_or_else(|| {
        anyhow::anyhow!("forge.app_id: {} has no app authentication", profile.name)
    })?;
    let mut h = profile.client(
        &root,
        "",
        "the GitHub App's installation (forge.app_id, forge.app_installation_id)",
        c.forge_timeout(),
        c.forge.retries,
    );
    h.set_url_key(c.api_root_key());
    h.set_concurrency(c.forge.concurrency);
    if let Some(cache) = cache {
        h.set_cache(cache);
    }
    h.set_refresher(app.clone());
    tracked(
        c,
        make(h, app, c.poll.allowlist.clone(), &c.forge_setup()),
        books.as_ref(),
    )
}

/// The app of `forge.app_id`: its key read once per tick (refused when
/// group or others may read it), never printed.
fn app(c: &Config, root: &str, keeper: Option<Box<dyn TokenKeeper>>) -> Result<App> {
    let file = c
        .forge
        .app_private_key_file
        .as_deref()
        .ok_or_else(|| anyhow!("config: forge.app_id needs forge.app_private_key_file"))?;
    let pem = crate::config::read_secret_file(file, "forge.app_private_key_file")?;
    let key = key_from_pem(&pem, file)?;
    drop(pem);
    Ok(App::new(AppParts {
        app_id: c.forge.app_id,
        installation_id: c.forge.app_installation_id,
        key,
        root: root.to_string(),
        api: c.profile().api,
        timeout: c.forge_timeout(),
        retries: c.forge.retries,
        now: crate::clock::now(),
        keeper,
    }))
}
