//! What a failed call met, as every caller decides on it: [`ForgeError`]
//! (the call, its words) and its [`Failure`] kind, the one vocabulary of a
//! failed forge, agent-thread, Kubernetes or webhook call; an [`Exhausted`]
//! call is part of its error, carried to the tick's report; a [`Reason`]
//! says why, as far as what to do about it goes (the binary's advice).

/// A failed forge request: `kind` is what callers decide on, `status` (None
/// when no answer came, or the request was never sent) and `message` are
/// for the words.
#[derive(Debug, Clone)]
pub struct ForgeError {
    /// "forge" or "runner": which service answered
    pub service: &'static str,
    pub method: String,
    pub path: String,
    pub status: Option<u16>,
    pub message: String,
    pub kind: Failure,
    /// the retries the call had (`forge.retries`): what an exhausted call's
    /// `transient_retry` lesson says it used up
    pub retries: u32,
    /// why, as far as what to do about it goes: the binary gives each its
    /// advice (`afk::hint::of_typed`), printed apart from the message
    pub reason: Option<Reason>,
}

/// Why a call failed, for the advice the binary gives it (this crate
/// carries none): what a person would look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// 401: the token was refused; `source` says where it comes from (an
    /// environment variable, a config key: `AFK_FORGE_TOKEN`)
    TokenRefused { source: String },
    /// 404: no such thing, or the token cannot see it
    NotFound,
    /// a rate limit or the service failing (429, 5xx, a secondary limit):
    /// a later try may not meet it
    Passing,
    /// a GitHub App's fresh installation token refused too, after the
    /// tick's one exchange
    AppTokenRefusedAgain,
    /// a forge's redirect: the repository was renamed or transferred
    RepositoryMoved,
}

/// A call that used up its retries, as the tick's `transient_retry` lesson
/// names it: the repository it was about (`/repos/{owner}/{name}/…`, GitLab's
/// `/projects/{owner%2Fname}/…`) and one line saying what failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exhausted {
    pub repo: Option<String>,
    pub line: String,
}

impl std::fmt::Display for ForgeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            Some(s) => write!(
                f,
                "{}: {} {} returned {s}: {}",
                self.service, self.method, self.path, self.message
            ),
            None => write!(
                f,
                "{}: {} {} failed: {}",
                self.service, self.method, self.path, self.message
            ),
        }
    }
}
impl std::error::Error for ForgeError {}

/// What a failed call met, as the code that made it decides on it: callers
/// match a kind, never an HTTP status number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// 401: the token was refused. A mistake in the configuration: every
    /// later request of the tick fails the same way, and no retry helps.
    Unauthorized,
    /// 403 that is not a rate limit: not allowed here (a permission lookup
    /// refused to an account that is no admin is one too)
    Forbidden,
    /// 404
    NotFound,
    /// 409: it exists already, or the state forbids it
    Conflict,
    /// 410
    Gone,
    /// 422: the service understood the request and refused what it carried
    /// (a comment too long for the forge, a field it finds invalid). Nothing
    /// was written; the same request is refused again.
    Unprocessable,
    /// The primary rate limit is spent: this answer (403 or 429) said so, or
    /// an earlier one did and the request was never sent. Never a refusal of
    /// *this* request, so never [`Failure::Forbidden`] or [`Failure::NotFound`].
    RateLimited,
    /// Any other answer: a redirect, another 4xx, a 5xx, or a body that did not parse
    Other(u16),
    /// No answer: a time-out or a dropped connection not tried again (a
    /// `POST`, which may have landed); also a list afk would not follow (a
    /// next page outside the API root, a list that never ends)
    NoAnswer,
    /// No answer, and none will come this tick: the host has no address or
    /// refuses the connection. A mistake in the configuration, not a passing
    /// failure: every later request fails the same way.
    Unreachable,
    /// A retryable failure (a time-out, a dropped connection, a 5xx, a 429, a
    /// secondary rate limit) that used up `forge.retries` or the tick's wait
    /// budget; what the last try met says whether an answer came.
    Exhausted(LastTry),
}

/// What the last try of a call that used up its retries met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LastTry {
    /// An answer that refused it: a 5xx, or a 429 that named no rate limit.
    /// Nothing it was asked to write was written.
    Answered(u16),
    /// A secondary rate limit (a 403 or 429 saying so) that outlasted the
    /// retries or the tick's wait budget
    RateLimited,
    /// No answer: a time-out or a dropped connection
    NoAnswer,
}

impl Failure {
    /// The kind of a call the service answered with `status` (not rate
    /// limited, not retried to the end).
    pub fn answered(status: u16) -> Failure {
        match status {
            401 => Failure::Unauthorized,
            403 => Failure::Forbidden,
            404 => Failure::NotFound,
            409 => Failure::Conflict,
            410 => Failure::Gone,
            422 => Failure::Unprocessable,
            s => Failure::Other(s),
        }
    }

    /// Whether the service refused *this* request: it answered, and not with
    /// a rate limit, so nothing it was asked to write was written.
    pub fn is_refusal(self) -> bool {
        !matches!(
            self,
            Failure::RateLimited
                | Failure::NoAnswer
                | Failure::Unreachable
                | Failure::Exhausted(LastTry::RateLimited | LastTry::NoAnswer)
        )
    }

    /// The status a refusal answered, for words only (decide on the kind).
    pub fn status(self) -> Option<u16> {
        match self {
            Failure::Unauthorized => Some(401),
            Failure::Forbidden => Some(403),
            Failure::NotFound => Some(404),
            Failure::Conflict => Some(409),
            Failure::Gone => Some(410),
            Failure::Unprocessable => Some(422),
            Failure::Other(s) | Failure::Exhausted(LastTry::Answered(s)) => Some(s),
            Failure::RateLimited
            | Failure::NoAnswer
            | Failure::Unreachable
            | Failure::Exhausted(LastTry::RateLimited | LastTry::NoAnswer) => None,
        }
    }
}

/// The repository a forge API path is about: Gitea's and GitHub's
/// `/repos/{owner}/{name}/…`, or GitLab's `/projects/{id}/…` whose id is the
/// project's full path encoded as one segment (a numeric id names none).
fn repo_of(path: &str) -> Option<String> {
    let mut parts = path.split(['/', '?']).filter(|p| !p.is_empty());
    match (parts.next(), parts.next(), parts.next()) {
        (Some("repos"), Some(o), Some(n)) => Some(format!("{o}/{n}")),
        (Some("projects"), Some(id), _) if id.to_ascii_uppercase().contains("%2F") => {
            percent_decoded(id)
        }
        _ => None,
    }
}

/// `s` with its `%XX` escapes decoded; None when one is malformed or the
/// result is no UTF-8.
fn percent_decoded(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl ForgeError {
    /// What a failed forge (or agent-thread service) call met; None when `e`
    /// is no such call's error.
    pub fn kind_of(e: &anyhow::Error) -> Option<Failure> {
        e.downcast_ref::<ForgeError>().map(|f| f.kind)
    }

    /// The call that used up its retries, when `e` is one (anywhere in its
    /// chain): errors carry it to the tick's report, no global does.
    pub fn exhausted_of(e: &anyhow::Error) -> Option<Exhausted> {
        e.downcast_ref::<ForgeError>()
            .and_then(ForgeError::exhausted)
    }

    /// This call, when it used up its retries.
    pub fn exhausted(&self) -> Option<Exhausted> {
        let Failure::Exhausted(_) = self.kind else {
            return None;
        };
        let repo = repo_of(&self.path);
        let line = format!(
            "{}: {} {} failed after {} retries: {}",
            self.service, self.method, self.path, self.retries, self.message
        );
        Some(Exhausted { repo, line })
    }

    /// Whether the request may have taken effect though the call failed: a
    /// `POST` (never sent again) with no answer, or answered 5xx, or answered
    /// 2xx with a body that could not be read. A write that failed before
    /// it was sent (no connection, no such host) or was refused did not.
    pub fn may_have_landed(&self) -> bool {
        self.method == "POST"
            && match self.kind {
                Failure::NoAnswer => true,
                Failure::Other(s) => s >= 500 || (200..300).contains(&s),
                _ => false,
            }
    }

    /// What a configuration mistake (a refused token, an unreachable host)
    /// is, without the call it broke: every call of the tick fails of it
    /// (`forge: cannot connect to …`). None for any other failure.
    pub fn cause(e: &anyhow::Error) -> Option<String> {
        let f = e.downcast_ref::<ForgeError>()?;
        match f.kind {
            Failure::Unauthorized => Some(format!(
                "{}: the token was refused ({}): {}",
                f.service,
                f.status.unwrap_or(401),
                f.message
            )),
            Failure::Unreachable => Some(format!("{}: {}", f.service, f.message)),
            _ => None,
        }
    }
}

/// A text the forge refused with `400` where Gitea and GitHub answer `422`
/// (GitLab's validation errors on a note or description, Azure DevOps'
/// `InvalidArgumentValueException` on a comment past its 150,000
/// characters): the same refusal to afk ([`Failure::Unprocessable`]:
/// shortened once, then given up); any other error is left as it is.
pub fn refused_text(e: anyhow::Error) -> anyhow::Error {
    match e.downcast::<ForgeError>() {
        Ok(mut fe) if fe.kind == Failure::Other(400) => {
            fe.kind = Failure::Unprocessable;
            fe.into()
        }
        Ok(fe) => fe.into(),
        Err(e) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forge_error_names_method_path_status() {
        let e = ForgeError {
            service: "forge",
            method: "GET".into(),
            path: "/repos/a/b/issues".into(),
            status: Some(401),
            message: "unauthorized".into(),
            kind: Failure::Unauthorized,
            retries: 0,
            reason: Some(Reason::TokenRefused {
                source: "AFK_FORGE_TOKEN".into(),
            }),
        };
        // the reason is apart, never in the message
        assert_eq!(
            e.to_string(),
            "forge: GET /repos/a/b/issues returned 401: unauthorized"
        );
    }

    #[test]
    fn a_spent_rate_limit_is_not_a_refusal() {
        let e = anyhow::Error::new(ForgeError {
            service: "forge",
            method: "GET".into(),
            path: "/repos/a/b/collaborators/x/permission".into(),
            status: Some(403),
            message: "rate limit spent".into(),
            kind: Failure::RateLimited,
            retries: 0,
            reason: None,
        });
        assert_eq!(ForgeError::kind_of(&e), Some(Failure::RateLimited));
        assert!(!Failure::RateLimited.is_refusal());
    }

    fn failed(status: Option<u16>, kind: Failure) -> ForgeError {
        ForgeError {
            service: "forge",
            method: "GET".into(),
            path: "/x".into(),
            status,
            message: "m".into(),
            kind,
            retries: 0,
            reason: None,
        }
    }

    #[test]
    fn a_status_is_one_kind_and_a_spent_rate_limit_is_never_a_refusal() {
        use Failure::*;
        // an answer's status → its kind: a refusal, whose words keep the
        // number the forge sent
        let answered = [
            (401, Unauthorized),
            (403, Forbidden),
            (404, NotFound),
            (409, Conflict),
            (410, Gone),
            (422, Unprocessable),
            (301, Other(301)),
            (200, Other(200)),
            (502, Other(502)),
        ];
        for (status, kind) in answered {
            assert_eq!(Failure::answered(status), kind, "{status}");
            assert!(kind.is_refusal(), "{status}");
            assert_eq!(kind.status(), Some(status), "{status}");
        }
        // the primary rate limit spent (403, 429, or never sent), or no
        // answer at all: never a refusal, and no number
        for kind in [RateLimited, NoAnswer, Unreachable] {
            assert!(!kind.is_refusal(), "{kind:?}");
            assert_eq!(kind.status(), None, "{kind:?}");
        }
        for status in [Some(403), Some(429), None] {
            let e = anyhow::Error::new(failed(status, RateLimited));
            assert_eq!(ForgeError::kind_of(&e), Some(RateLimited), "{status:?}");
        }
        assert_eq!(
            ForgeError::kind_of(&anyhow::anyhow!("not a forge call")),
            None
        );
    }

    #[test]
    fn a_configuration_mistake_is_a_refused_token_or_an_unreachable_host() {
        use Failure::*;
        // kind, status → the tick's one cause, or none
        let cases = [
            (
                Unauthorized,
                Some(401),
                Some("forge: the token was refused (401): m"),
            ),
            (Unreachable, None, Some("forge: m")),
            (Forbidden, Some(403), None),
            (NoAnswer, None, None),
            (RateLimited, Some(429), None),
            (Exhausted(LastTry::NoAnswer), None, None),
            (Exhausted(LastTry::Answered(503)), Some(503), None),
        ];
        for (kind, status, cause) in cases {
            let e = anyhow::Error::new(failed(status, kind));
            assert_eq!(ForgeError::cause(&e).as_deref(), cause, "{kind:?}");
        }
        assert_eq!(
            ForgeError::cause(&anyhow::anyhow!("not a forge call")),
            None
        );
    }

    /// Only a create sent and not answered, answered 5xx, or answered with a
    /// body that could not be read may have landed.
    #[test]
    fn an_exhausted_call_names_the_repository_its_path_is_about() {
        let cases = [
            ("/repos/acme/api/pulls", Some("acme/api")),
            ("/repos/acme/api", Some("acme/api")),
            ("/repos/acme", None),
            ("/projects/acme%2Fapi/merge_requests", Some("acme/api")),
            ("/projects/acme%2fplatform%2Fsvc", Some("acme/platform/svc")),
            ("/projects/42/merge_requests", None),
            ("/projects/acme%2F%ZZ/issues", None),
            ("/projects/acme%2F%2", None),
            ("/user", None),
        ];
        for (path, want) in cases {
            let mut e = failed(None, Failure::Exhausted(LastTry::NoAnswer));
            e.path = path.into();
            let got = e.exhausted().unwrap().repo;
            assert_eq!(got.as_deref(), want, "{path}");
        }
    }

    #[test]
    fn only_a_create_that_went_out_may_have_landed() {
        use Failure::*;
        let cases = [
            ("POST", NoAnswer, true),
            ("POST", Other(503), true),
            ("POST", Other(201), true),
            ("POST", Exhausted(LastTry::NoAnswer), false),
            ("POST", Unreachable, false),
            ("POST", Conflict, false),
            ("POST", Exhausted(LastTry::Answered(429)), false),
            ("GET", NoAnswer, false),
            ("DELETE", Other(503), false),
        ];
        for (method, kind, landed) in cases {
            let mut e = failed(kind.status(), kind);
            e.method = method.into();
            assert_eq!(e.may_have_landed(), landed, "{method} {kind:?}");
        }
    }
}
