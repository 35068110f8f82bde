//! The one way afk builds an HTTP client (ureq). Every outbound call — the
//! forge, the agent-thread service, registries, the Kubernetes API, webhooks,
//! the heartbeat — starts from [`builder`], so all of them name themselves
//! the same way and none follows a redirect: a redirect could carry a request
//! (and its `Authorization` header or body) to a host nobody configured.
//! Callers add only what is theirs: a connection pool size, a cluster CA.

use std::time::Duration;

/// afk's `User-Agent`: `afk/<version>`.
pub const USER_AGENT: &str = concat!("afk/", env!("CARGO_PKG_VERSION"));

/// A client builder with afk's user agent, no redirects and `timeout` for
/// each whole request.
pub fn builder(timeout: Duration) -> ureq::AgentBuilder {
    ureq::AgentBuilder::new()
        .timeout(timeout)
        .redirects(0)
        .user_agent(USER_AGENT)
}
