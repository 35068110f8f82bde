//! The forge APIs the sandbox serves, one dialect per module, each reading and
//! changing the shared model (`super::model`) and answering in its forge's
//! shapes, with its own paging, errors and auth; and [`Dialect`], what
//! describes each (its names, API prefix, review words, admin routes, the
//! `[forge]` keys afk is given): a new dialect is a module and its arms here.
//! [`Dialect::ALL`] is the one list of them: afk's `--dialect`/`--forge`
//! take their names, and the integration tests (`tests/it/support`) play
//! each from it.

pub(super) mod atlassian_token;
pub(super) mod azure;
pub(super) mod gitea;
pub(super) mod github;
pub(super) mod gitlab;
pub(super) mod jira;
pub(super) mod jira_site;
pub(super) mod jira_transitions;
pub(super) mod linear;
pub(super) mod linear_agents;
pub(super) mod linear_webhooks;

use crate::http::{Reply, Request};
use crate::model::Forge;
use afk_model::ForgeKind;
use sha2::{Digest, Sha256};

/// `s` as a TOML basic string (quotes and backslashes escaped).
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// [`Dialect`] and [`Dialect::ALL`] from one list: a dialect added to the
/// enum is in `ALL` (so in `NAMES`, `--dialect`, and the tests'
/// `both_dialects!` check) by construction, never by a second hand-kept list.
macro_rules! dialects {
    ($($(#[$m:meta])* $v:ident,)*) => {
        /// Which forge API the sandbox speaks.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
        pub enum Dialect {
            $($(#[$m])* $v,)*
        }

        impl Dialect {
            /// Every dialect, in the order of [`Dialect::NAMES`]: the enum's
            /// own list.
            pub const ALL: [Dialect; [$(Dialect::$v),*].len()] = [$(Dialect::$v),*];
        }
    };
}

dialects! {
    /// Gitea API v1 at `/api/v1`
    #[default]
    Gitea,
    /// GitHub REST at `/api/v3`
    Github,
    /// GitLab REST v4 at `/api/v4`
    Gitlab,
    /// Azure DevOps REST 7.1 at `/sandbox` (an organization's URL)
    AzureDevops,
}

impl Dialect {
    /// The dialects' names, as `afk sandbox --dialect` and `afk demo
    /// --forge` take them: [`Dialect::ALL`]'s, each its [`Dialect::as_str`].
    pub const NAMES: [&'static str; Dialect::ALL.len()] = {
        let mut names = [""; Dialect::ALL.len()];
        let mut i = 0;
        while i < names.len() {
            names[i] = Dialect::ALL[i].as_str();
            i += 1;
        }
        names
    };

    /// The dialect a forge kind speaks. Every kind is named: a new one is a
    /// compile error here.
    pub fn of_forge(kind: ForgeKind) -> Dialect {
        match kind {
            ForgeKind::Gitea | ForgeKind::Forgejo => Dialect::Gitea,
            ForgeKind::Github => Dialect::Github,
            ForgeKind::Gitlab => Dialect::Gitlab,
            ForgeKind::AzureDevops => Dialect::AzureDevops,
        }
    }

    /// The dialect of a forge kind's name: `gitea` (or `forgejo`), `github`,
    /// `gitlab` or `azure-devops`.
    pub fn parse(s: &str) -> Option<Dialect> {
        ForgeKind::parse(s).map(Dialect::of_forge)
    }

    /// An API request (`path` under [`Dialect::api_prefix`]) answered in
    /// this dialect.
    pub(crate) fn serve(self, f: &mut Forge, req: &Request, path: &str) -> Reply {
        match self {
            Dialect::Gitea => gitea::serve(f, req, path),
            Dialect::Github => github::serve(f, req, path),
            Dialect::Gitlab => gitlab::serve(f, req, path),
            Dialect::AzureDevops => azure::serve(f, req, path),
        }
    }

    /// The path its API routes by: decoded, or as sent for GitLab, whose
    /// project ids are full paths encoded as one segment (Azure DevOps's
    /// names cannot hold a `/`: each segment decodes alone).
    pub(crate) fn api_path(self, req: &Request) -> &str {
        match self {
            Dialect::Gitea | Dialect::Github | Dialect::AzureDevops => &req.path,
            Dialect::Gitlab => &req.raw_path,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Dialect::Gitea => "gitea",
            Dialect::Github => "github",
            Dialect::Gitlab => "gitlab",
            Dialect::AzureDevops => "azure-devops",
        }
    }

    /// Where the API lives under the sandbox's URL.
    pub fn api_prefix(self) -> &'static str {
        match self {
            Dialect::Gitea => "/api/v1",
            Dialect::Github => "/api/v3",
            Dialect::Gitlab => "/api/v4",
            // the organization's URL: `/{org}/_apis/...`, `/{org}/{project}/_apis/...`
            Dialect::AzureDevops => "/sandbox",
        }
    }

    /// afk's `[forge]` keys for a sandbox at `url` speaking this dialect:
    /// the forge kind it plays, its URL and, where the API lives apart, the
    /// API's URL (GitLab's token goes in `PRIVATE-TOKEN`, afk's profile's
    /// way, and its API root is `{url}/api/v4`, the default).
    pub fn forge_keys(self, url: &str) -> String {
        match self {
            Dialect::Gitea => format!("kind = \"gitea\"\nurl = \"{url}\""),
            Dialect::Github => format!(
                "kind = \"github\"\nurl = \"{url}\"\napi_url = \"{url}{}\"",
                self.api_prefix()
            ),
            Dialect::Gitlab => format!("kind = \"gitlab\"\nurl = \"{url}\""),
            // the organization's URL is the API's; identities are read at
            // the sandbox's stand-in for vssps.dev.azure.com/{org}
            Dialect::AzureDevops => format!(
                "kind = \"azure-devops\"\nurl = \"{url}{p}\"\nvssps_url = \"{url}{p}/_vssps\"",
                p = self.api_prefix()
            ),
        }
    }

    /// The `[forge]` keys afk needs per allowlisted repository (`repos`,
    /// as the allowlist names them), as lines inside `[forge]` after
    /// [`Dialect::forge_keys`]: on Azure DevOps each repository's area path
    /// (the sandbox files a repository's work items under `Project\repo`),
    /// as an inline table; nothing on the other forges.
    pub fn repo_keys(self, repos: &[&str]) -> String {
        match self {
            Dialect::Gitea | Dialect::Github | Dialect::Gitlab => String::new(),
            Dialect::AzureDevops => {
                let entries: Vec<String> = repos
                    .iter()
                    .map(|r| {
                        format!(
                            "{} = {}",
                            toml_string(r),
                            toml_string(&crate::model::azure::area_of(r))
                        )
                    })
                    .collect();
                format!("azure_devops.area_paths = {{ {} }}", entries.join(", "))
            }
        }
    }

    /// A review's state that requests changes, in this API's words.
    pub fn changes_requested(self) -> &'static str {
        match self {
            Dialect::Gitea => "REQUEST_CHANGES",
            Dialect::Github => "CHANGES_REQUESTED",
            // a reviewer's state (`.../reviewers`); the admin API takes either word
            Dialect::Gitlab => "requested_changes",
            // a reviewer's vote, "waiting for author" (`/_admin/ado/vote`)
            Dialect::AzureDevops => "-5",
        }
    }

    /// The admin routes (`/_admin/…`) this dialect serves, comma-separated.
    pub fn admin_routes(self) -> &'static str {
        match self {
            Dialect::Gitea => {
                "seed,issues,label,issue_state,status,merge,webhook,faults,requests,state,k8s/state"
            }
            Dialect::Github => {
                "seed,issues,label,issue_state,status,merge,webhook,faults,requests,state,k8s/state,check_run,rename,rate_limit,scopes,app"
            }
            Dialect::Gitlab => {
                "seed,issues,label,issue_state,status,merge,webhook,faults,requests,state,k8s/state,rename,edit,review,mergeable,branch_update,discussion,discussion_note,resolve,award,rate_limit"
            }
            Dialect::AzureDevops => {
                "seed,issues,label,issue_state,status,webhook,faults,requests,state,k8s/state,rate_limit,ado/bypass,ado/identity,ado/acl,ado/comment,ado/vote,ado/thread,ado/merge_status,ado/ref_verdict,ado/evaluation,ado/pr_status,ado/complete,ado/page_size,ado/throttle,ado/redeliver,ado/bulk,ado/race"
            }
        }
    }
}

/// A path segment, percent-encoded (everything but RFC 3986's unreserved
/// characters), as the sandbox writes it into the `Link` and `url` fields it
/// answers with. The sandbox's own, not the client's: a fake that shared its
/// subject's encoder could not catch a bug in it.
pub(crate) fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A GET answered 200 carries an `ETag` (a hash of its body); asked again
/// with that tag in `If-None-Match`, it is a 304 with no body. Every GitHub
/// GET; on Gitea, one issue's GET (the status issue's read).
pub(crate) fn conditional(req: &Request, reply: Reply) -> Reply {
    let Reply::Send {
        status: 200,
        mut headers,
        body,
    } = reply
    else {
        return reply;
    };
    if req.method != "GET" {
        return Reply::Send {
            status: 200,
            headers,
            body,
        };
    }
    let hash = Sha256::digest(&body);
    let tag = format!(
        "W/\"{}\"",
        hash[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let matches = req
        .header("if-none-match")
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    headers.push(("ETag".into(), tag));
    if matches {
        headers.retain(|(k, _)| k != "Link");
        return Reply::Send {
            status: 304,
            headers,
            body: vec![],
        };
    }
    Reply::Send {
        status: 200,
        headers,
        body,
    }
}

#[cfg(test)]
mod dialect_tests {
    use super::Dialect;

    #[test]
    fn every_dialect_is_named_and_parsed_back() {
        assert_eq!(
            Dialect::NAMES,
            ["gitea", "github", "gitlab", "azure-devops"]
        );
        for d in Dialect::ALL {
            assert_eq!(Dialect::parse(d.as_str()), Some(d), "{d:?}");
        }
        assert_eq!(Dialect::parse("forgejo"), Some(Dialect::Gitea));
        assert_eq!(Dialect::parse("gitlab"), Some(Dialect::Gitlab));
        assert_eq!(Dialect::parse("bitbucket"), None);
    }

    #[test]
    fn each_forge_kind_speaks_one_dialect() {
        use afk_model::ForgeKind;
        let cases = [
            (ForgeKind::Gitea, Dialect::Gitea),
            (ForgeKind::Forgejo, Dialect::Gitea),
            (ForgeKind::Github, Dialect::Github),
            (ForgeKind::Gitlab, Dialect::Gitlab),
            (ForgeKind::AzureDevops, Dialect::AzureDevops),
        ];
        assert_eq!(cases.len(), ForgeKind::ALL.len(), "a row per kind");
        for (kind, want) in cases {
            assert_eq!(Dialect::of_forge(kind), want, "{kind}");
            assert_eq!(Dialect::parse(kind.as_str()), Some(want), "{kind}");
        }
    }
}
