//! Where each secret may go: the one page that answers "where does the token
//! go?". Every secret afk holds is named here with the rule that keeps it on
//! its own host; the rules that are pure functions live here or in the
//! afk-core file named, and the adapters only apply them.
//!
//! | secret | goes to | rule |
//! |---|---|---|
//! | forge token (`forge.token_env` / `token_file`) | the configured API root only: every request, and every next page of a list | [`link_under_root`] (a `Link` is read by its path, under the root's, never `.`/`..` or an encoded separator); no redirect is followed (`afk-http`'s `client.rs`) |
//! | forge token, for git (`afk upgrade` pushes) | the forge's own scheme, host and port | the askpass script in `crates/afk-git` answers only git's exact prompts for that origin; `http.followRedirects=false`; a 0600 file per call, never an environment variable |
//! | GitHub App key, JWT and installation token | the app's private key never leaves the machine; the JWT and the token go to the API root as above | [`crate::app_token`] (when to exchange); the token is kept in SQLite only |
//! | registry credentials (`upgrade.registry_auth_env`) | `upgrade.registry_auth_host`'s own `Basic` challenge, or the token service that host's challenge names on its host or site | `afk_core::registry_auth::secret_may_go` |
//! | Kubernetes service-account token | `runner.kubernetes.api_url` only (plain HTTP only on loopback), TLS trusting only the cluster CA | `afk_core::kube::api_url_allowed` |
//! | agent-thread service token (`runner.token_env`) | `runner.url` only, as the forge token | [`link_under_root`] does not apply (no paging); no redirect is followed |
//! | webhook and heartbeat URLs (`[notify]`) | the URL itself, which is the secret | no redirect is followed; never logged |
//!
//! No configured URL holds user info (`user:password@` before the host), checked at config
//! load by [`has_user_info`]: a password there would be sent in clear text and shown where the
//! URL is, and `http://localhost:x@0.0.0.0/` reads as one host to a person and another to the
//! client.
//!
//! And what no secret reaches: an agent's environment or argv (agents get
//! `AFK_*` run variables only), a prompt, a log line, an error, a report.

/// A next-page `Link` URL as a path under the API root `root` (no trailing
/// slash), to be sent to the configured root whatever host the link names (a
/// proxy's spelling of it is read by its path): None when the path leaves the
/// root's — another prefix, a `.` or `..` segment (also `%2e`-encoded), or an
/// encoded `/` or `\`. The token then never follows a link elsewhere.
pub fn link_under_root(root: &str, url: &str) -> Option<String> {
    if let Some(p) = url.strip_prefix(root)
        && p.starts_with('/')
        && !climbs(p)
    {
        return Some(p.to_string());
    }
    match url_path(url).strip_prefix(url_path(root)) {
        Some(p) if p.starts_with('/') && !climbs(p) => Some(p.to_string()),
        _ => None,
    }
}

/// Whether a path (query and fragment aside) could leave the folder it starts
/// in once a URL parser normalises it: a `.` or `..` segment, also
/// percent-encoded (`%2e%2e`, which the URL standard treats as `..`), or an
/// encoded slash or backslash that a server may decode into a separator. A
/// forge's own links never hold one.
fn climbs(path_and_query: &str) -> bool {
    let path = path_and_query.split(['?', '#']).next().unwrap_or("");
    path.split(['/', '\\']).any(|seg| {
        let lower = seg.to_ascii_lowercase();
        let decoded = lower.replace("%2e", ".");
        decoded == "." || decoded == ".." || lower.contains("%2f") || lower.contains("%5c")
    })
}

/// Whether a URL has user info: an `@` in its authority (after `scheme://`,
/// before the first `/`, `\`, `?` or `#`; a text without a scheme is read as
/// an authority from its start). Strict on purpose: any `@` there is refused,
/// whatever a parser would make of the rest.
pub fn has_user_info(url: &str) -> bool {
    let rest = url.find("://").map_or(url, |i| &url[i + 3..]);
    let end = rest.find(['/', '\\', '?', '#']).unwrap_or(rest.len());
    rest[..end].contains('@')
}

/// The path (and query) of a URL; the text itself when it has no scheme.
fn url_path(u: &str) -> &str {
    match u.find("://") {
        Some(i) => {
            let rest = &u[i + 3..];
            rest.find('/').map(|j| &rest[j..]).unwrap_or("")
        }
        None => u,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_url_has_no_user_info() {
        let cases = [
            ("https://git.example.org", false),
            ("https://git.example.org/a@b", false),
            ("https://git.example.org/x?who=a@b", false),
            ("https://git.example.org#a@b", false),
            ("http://[::1]:8080/k8s", false),
            ("https://bot:hunter2@git.example.org", true),
            ("https://token@git.example.org/", true),
            ("http://localhost:x@0.0.0.0/k8s", true),
            ("http://localhost:x@0.0.0.0", true),
            ("https://@host", true),
            ("https://a@b@host/", true),
            ("HTTPS://U:P@HOST", true),
            ("http://localhost\\@0.0.0.0/", false),
            ("u:p@host/x", true),
            ("", false),
        ];
        for (url, want) in cases {
            assert_eq!(has_user_info(url), want, "{url}");
        }
    }

    #[test]
    fn a_next_page_stays_under_the_api_root_and_is_sent_to_its_host() {
        let root = "https://ghe.example/api/v3";
        let cases = [
            (
                "https://ghe.example/api/v3/repositories/1/issues?page=2",
                Some("/repositories/1/issues?page=2"),
            ),
            // another spelling of the host is read by its path, sent to the root
            (
                "http://proxy.internal/api/v3/repos/a/b/issues?page=2",
                Some("/repos/a/b/issues?page=2"),
            ),
            (
                "/api/v3/repos/a/b/issues?page=3",
                Some("/repos/a/b/issues?page=3"),
            ),
            ("https://ghe.example/other/repos?page=2", None),
            ("https://ghe.example/api/v3/repos/a/../../../x?page=2", None),
            (
                "https://ghe.example/api/v3/repos/a/%2e%2e/%2E%2E/x?page=2",
                None,
            ),
            ("https://ghe.example/api/v3/repos/a/.%2e/x", None),
            ("https://ghe.example/api/v3/repos/a/./b", None),
            ("https://ghe.example/api/v3/repos/a%2f..%2fb", None),
            ("/api/v3/repos/a/..\\..\\x", None),
            // dots in the query are data, not a path
            (
                "https://ghe.example/api/v3/repos/a/b/issues?q=..&page=2",
                Some("/repos/a/b/issues?q=..&page=2"),
            ),
            // a prefix of the root's last segment is not under it
            ("https://ghe.example/api/v30/x", None),
        ];
        for (link, want) in cases {
            assert_eq!(link_under_root(root, link).as_deref(), want, "{link}");
        }
    }
}
