//! The forges' fidelity ledgers (`docs/fidelity/*.md`) as the suite holds
//! the sandbox to them: every forge API request a test's sandbox answered
//! (afk's, an agent's, the test's own) must be an endpoint a ledger row
//! lists, read from the forge's own source or description. A request no row
//! backs fails the test that made it ([`unlisted`], checked when the
//! sandbox is dropped), so neither afk nor the sandbox grows an endpoint
//! nobody checked against the real service.

use super::Dialect;
use serde_json::Value;
use std::path::Path;

/// The ledger file of a dialect.
fn file(d: Dialect) -> &'static str {
    match d {
        Dialect::Gitea => "gitea.md",
        Dialect::Github => "github.md",
        Dialect::Gitlab => "gitlab.md",
        Dialect::AzureDevops => "azure-devops.md",
    }
}

/// The endpoint rows of a ledger: `(METHOD, path pattern)`, each the first
/// cell of a row of its "Endpoints" table, written `` `GET /a/{b}/c` ``.
pub fn endpoints(d: Dialect) -> Vec<(String, String)> {
    endpoints_in(file(d))
}

/// The tracker the sandbox serves beside every forge: Jira Cloud, at
/// `/rest/api/3`, held to its own ledger.
const JIRA: (&str, &str) = ("/rest/api/3/", "jira-cloud.md");

/// The tracker the sandbox serves beside every forge at `/linear/graphql`:
/// Linear, one endpoint, its rows named by the operation's root field
/// (`POST /graphql issues`).
const LINEAR: (&str, &str) = ("/linear/graphql", "linear.md");

/// The root fields of a GraphQL document (`query Q { issue(id: $id) { … }
/// viewer { … } }` is `issue`, `viewer`), an alias read past.
pub fn graphql_roots(query: &str) -> Vec<String> {
    let Some(start) = query.find('{') else {
        return vec![];
    };
    let mut out = vec![];
    let (mut braces, mut parens) = (0, 0);
    let mut word = String::new();
    let mut alias = false;
    for c in query[start..].chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        if braces == 1 && parens == 0 && !word.is_empty() {
            match (c, alias) {
                (':', _) => alias = true,
                _ => {
                    out.push(std::mem::take(&mut word));
                    alias = false;
                }
            }
        }
        word.clear();
        match c {
            '{' => braces += 1,
            '}' => braces -= 1,
            '(' => parens += 1,
            ')' => parens -= 1,
            _ => {}
        }
    }
    out
}

/// [`endpoints`] of the ledger file `name`.
fn endpoints_in(name: &str) -> Vec<(String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs/fidelity")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = vec![];
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("## ") {
            inside = line.trim() == "## Endpoints";
            continue;
        }
        let Some(cell) = line.strip_prefix("| `").filter(|_| inside) else {
            continue;
        };
        let Some(end) = cell.find('`') else { continue };
        if let Some((method, pattern)) = cell[..end].split_once(' ') {
            out.push((method.to_string(), pattern.trim().to_string()));
        }
    }
    out
}

/// Whether `path` is an instance of `pattern`: `{name}` one segment (with
/// a literal suffix: `{sha}.diff`), a final `{name*}` one or more, anything
/// else itself.
pub fn matches(pattern: &str, path: &str) -> bool {
    let want: Vec<&str> = pattern.trim_matches('/').split('/').collect();
    let got: Vec<&str> = path.trim_matches('/').split('/').collect();
    for (i, w) in want.iter().enumerate() {
        if w.starts_with('{') && w.ends_with("*}") {
            return i == want.len() - 1 && got.len() > i;
        }
        let Some(g) = got.get(i) else { return false };
        let one = match w.strip_prefix('{').and_then(|w| w.split_once('}')) {
            Some((_, suffix)) => g.len() > suffix.len() && g.ends_with(suffix),
            None => false,
        };
        if !(one || w == g) {
            return false;
        }
    }
    want.len() == got.len()
}

/// The forge API requests of `log` (the sandbox's `/_admin/requests`) that
/// no row of `d`'s ledger lists, as `METHOD path`; the agent service's,
/// Kubernetes' and the registry's are not the forge's.
pub fn unlisted(d: Dialect, log: &[Value]) -> Vec<String> {
    let rows = endpoints(d);
    let jira = endpoints_in(JIRA.1);
    let linear = endpoints_in(LINEAR.1);
    let mut out: Vec<String> = vec![];
    for r in log {
        let method = r["method"].as_str().unwrap_or("");
        let path = r["path"].as_str().unwrap_or("");
        // Linear: each root field of the operation, a row of its own
        if path == LINEAR.0 {
            let query = r["body"]["query"].as_str().unwrap_or("");
            for root in graphql_roots(query) {
                let line = format!("{method} /graphql {root}");
                let listed = linear.iter().any(|(m, p)| {
                    m.eq_ignore_ascii_case(method) && *p == format!("/graphql {root}")
                });
                if !listed && !out.contains(&line) {
                    out.push(line);
                }
            }
            continue;
        }
        // the sandbox serves Azure DevOps' identity host (vssps) under
        // `/_vssps`: the ledger's rows are that host's own paths
        let path = match d {
            Dialect::AzureDevops => path.strip_prefix("/_vssps").unwrap_or(path),
            _ => path,
        };
        if ["/agent/", "/k8s/", "/v2/"]
            .iter()
            .any(|p| path.starts_with(p))
            || path == "/v2"
        {
            continue;
        }
        // Atlassian's token endpoint (auth.atlassian.com) stands under
        // `/atlassian`: its row is the Jira ledger's, by its own path
        // Jira's admin webhooks stand beside its REST API, beyond the contract
        let jira_path = path.starts_with(JIRA.0) || path.starts_with("/rest/webhooks/");
        let (rows, path) = match (jira_path, path.strip_prefix("/atlassian/")) {
            (true, _) => (&jira, path),
            (false, Some(_)) => (&jira, &path["/atlassian".len()..]),
            (false, None) => (&rows, path),
        };
        let listed = rows
            .iter()
            .any(|(m, p)| m.eq_ignore_ascii_case(method) && matches(p, path));
        let line = format!("{method} {path}");
        if !listed && !out.contains(&line) {
            out.push(line);
        }
    }
    out
}

#[test]
fn a_pattern_matches_its_instances_only() {
    let table = [
        (
            "/repos/{owner}/{repo}/labels",
            "/repos/acme/api/labels",
            true,
        ),
        (
            "/repos/{owner}/{repo}/labels",
            "/repos/acme/api/labels/1",
            false,
        ),
        ("/repos/{owner}/{repo}/labels", "/repos/acme//labels", false),
        (
            "/repos/{owner}/{repo}/branches/{branch*}",
            "/repos/a/b/branches/afk/issue-1",
            true,
        ),
        (
            "/repos/{owner}/{repo}/branches/{branch*}",
            "/repos/a/b/branches",
            false,
        ),
        (
            "/repos/{o}/{r}/git/commits/{sha}.diff",
            "/repos/a/b/git/commits/0a1.diff",
            true,
        ),
        (
            "/repos/{o}/{r}/git/commits/{sha}.diff",
            "/repos/a/b/git/commits/.diff",
            false,
        ),
        (
            "/repos/{o}/{r}/git/commits/{sha}.diff",
            "/repos/a/b/git/commits/0a1",
            false,
        ),
        ("/user", "/user", true),
        ("/user", "/users", false),
    ];
    for (pattern, path, want) in table {
        assert_eq!(matches(pattern, path), want, "{pattern} {path}");
    }
}

#[test]
fn a_graphql_documents_root_fields_are_read_past_aliases_and_arguments() {
    let table = [
        (
            "query Q($id: String!) { issue(id: $id) { id history { nodes { id } } } }",
            vec!["issue"],
        ),
        (
            "{ viewer { id } me: user(id: \"x\") { id } }",
            vec!["viewer", "user"],
        ),
        (
            "mutation M($i: X!) { commentCreate(input: $i) { success } }",
            vec!["commentCreate"],
        ),
        ("no document", vec![]),
    ];
    for (q, want) in table {
        assert_eq!(graphql_roots(q), want, "{q}");
    }
}

#[test]
fn every_ledger_lists_its_endpoints() {
    for d in Dialect::ALL {
        assert!(endpoints(d).len() >= 20, "{d:?}: {:?}", endpoints(d));
    }
}

#[test]
fn a_request_no_row_lists_is_named_and_a_listed_one_is_not() {
    let log = [
        serde_json::json!({"method": "GET", "path": "/repos/acme/api/labels"}),
        serde_json::json!({"method": "GET", "path": "/repos/acme/api/nowhere"}),
        serde_json::json!({"method": "GET", "path": "/agent/threads"}),
    ];
    assert_eq!(
        unlisted(Dialect::Gitea, &log),
        ["GET /repos/acme/api/nowhere"]
    );
}
