//! afk's model: the small validated values and shapes the config, the core and
//! the adapters share (`RepoName`, `RunId`, `IssueNumber`, `PrNumber`, `Access`,
//! `Permission`, the run and template-version states, the lessons journal's
//! closed columns, how a moment is written as text). It names no other part of
//! afk and does no I/O; its own crate, so nothing here can reach an adapter by
//! mistake.

pub mod forge;
mod internal;
pub mod lesson;
mod project_repo;
pub mod review;
pub mod runner;
pub mod telemetry;
pub mod tracker;
/// A configuration problem: exit code 2, nothing touched. A shape, so a forge
/// that reads a key file the config names can say so without the config.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for ConfigError {}

#[doc(hidden)]
pub use serde as __serde;

/// A closed set of values stored, printed and typed as their names: what
/// a command line's value parser lists and checks (`afk runs --status`,
/// `afk lessons update --status`). [`named_enum!`] implements it.
pub trait Named: Copy + Send + Sync + 'static {
    /// Every value, in the order afk lists them.
    fn all() -> &'static [Self];
    /// The value's name.
    fn name(self) -> &'static str;
    /// One line saying what the value means ("" when its name says it all).
    fn help(self) -> &'static str {
        ""
    }
}

/// An enum of named values (a kind, a status, a column's closed set): each
/// value has one stored name; `ALL`, `NAMES`, `as_str`, `parse` (None for any
/// other text), `Display`, serde as the name, and `String::from`. The model's
/// and the core's closed sets are all written with it.
#[macro_export]
macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident => $s:literal $(: $help:literal)?),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vm])* $var),+ }
        impl $name {
            /// Every value, in the order [`Self::NAMES`] lists them.
            pub const ALL: &[$name] = &[$($name::$var),+];
            /// Every value's stored name, in the order afk lists them.
            pub const NAMES: &[&str] = &[$($s),+];
            /// The stored name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$var => $s),+ }
            }
            /// The value a stored name is; None for any other text.
            pub fn parse(s: &str) -> Option<$name> {
                match s { $($s => Some($name::$var),)+ _ => None }
            }
        }
        impl $crate::Named for $name {
            fn all() -> &'static [$name] {
                $name::ALL
            }
            fn name(self) -> &'static str {
                self.as_str()
            }
            fn help(self) -> &'static str {
                match self { $($name::$var => concat!("" $(, $help)?)),+ }
            }
        }
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl From<$name> for String {
            fn from(k: $name) -> String {
                k.as_str().to_string()
            }
        }
        impl $crate::__serde::Serialize for $name {
            fn serialize<S: $crate::__serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> $crate::__serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__serde::Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                let s = <String as $crate::__serde::Deserialize>::deserialize(d)?;
                $name::parse(&s).ok_or_else(|| {
                    <D::Error as $crate::__serde::de::Error>::custom(format!(
                        "\"{s}\" is not one of {}",
                        $name::NAMES.join(", ")
                    ))
                })
            }
        }
    };
}

#[cfg(feature = "sqlite")]
mod sql;
pub mod stamp;
pub mod status;
pub mod tick;

pub use forge::ForgeKind;
pub use internal::InternalError;
pub use review::{
    BranchUpdate, CommandVerb, Effect, Handled, LineComment, LineComments, Review, ReviewState,
    TalkKind, TalkSaid, TurnBudget, UpdateStyle,
};
pub use runner::{AgentKind, Cached, RunnerHandle, RunnerKind, Workspace};
pub use status::{RunStatus, VersionStatus};
pub use tick::TickKind;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::ops::Deref;

/// A value afk will not take (a name, a time, a setting, a manifest), and
/// one line saying why: the error of the pure parsers and checks below the
/// binary, which cannot name anyhow (the binary wraps it with its context).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl Invalid {
    pub fn new(why: impl Into<String>) -> Invalid {
        Invalid(why.into())
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Invalid {}

impl From<String> for Invalid {
    fn from(why: String) -> Invalid {
        Invalid(why)
    }
}

impl From<&str> for Invalid {
    fn from(why: &str) -> Invalid {
        Invalid(why.to_string())
    }
}

/// The longest owner or repository name accepted (GitHub allows 100 for repos).
const MAX_SEGMENT: usize = 100;

/// A forge repository, `owner/name`, validated once so it can be put into a URL path.
///
/// Each of owner and name is 1–100 characters of `[A-Za-z0-9._-]` and does not
/// start with `.` or `-` (so never `.` or `..`, never an option-like `-x`).
/// That is [`RepoName::parse`] (Gitea, Forgejo, GitHub); another kind names its
/// [`NameShape`] in its profile and parses with [`RepoName::parse_for`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoName(String);

/// Which repository names a forge kind has: the forge profile's business
/// (`afk_forge::Profile::names`), so the config's allowlist is checked by
/// the kind it is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameShape {
    /// `owner/name`, two segments (Gitea, Forgejo, GitHub).
    OwnerName,
    /// A project's full path, `group/sub/.../project`: two segments or
    /// more, each a GitLab path (1–255 of `[A-Za-z0-9._-]`, not starting
    /// with `-`, never `.` or `..`, not ending in `.git` or `.atom`).
    Nested,
    /// Azure DevOps' `project/repository`, spaces allowed (`project_repo.rs`).
    ProjectRepo,
}

/// The longest segment of a nested name (GitLab's path limit).
const MAX_NESTED_SEGMENT: usize = 255;

impl RepoName {
    /// Validate `s` as `owner/name`; the error says what is wrong with it.
    pub fn parse(s: &str) -> Result<RepoName, Invalid> {
        RepoName::parse_for(NameShape::OwnerName, s)
    }

    /// Validate `s` as a name some forge kind allows: for names afk validated
    /// before it kept them (the state file, its pod's environment), any kind.
    pub fn parse_any(s: &str) -> Result<RepoName, Invalid> {
        // the nested shape first, so a name neither allows is told as `owner/name`
        RepoName::parse_for(NameShape::Nested, s)
            .or_else(|_| RepoName::parse_for(NameShape::ProjectRepo, s))
            .or_else(|_| RepoName::parse(s))
    }

    /// Validate `s` as a name of `shape`; the error says what is wrong with it.
    pub fn parse_for(shape: NameShape, s: &str) -> Result<RepoName, Invalid> {
        match shape {
            NameShape::OwnerName => {
                let mut parts = s.split('/');
                let (Some(owner), Some(name), None) = (parts.next(), parts.next(), parts.next())
                else {
                    return Err(Invalid(format!("\"{s}\" is not \"owner/repo\"")));
                };
                for (what, seg) in [("owner", owner), ("name", name)] {
                    segment_problem(seg).map_or(Ok(()), |p| {
                        Err(Invalid(format!(
                            "\"{s}\" is not \"owner/repo\": {what} {p}"
                        )))
                    })?;
                }
            }
            NameShape::Nested => {
                let parts: Vec<&str> = s.split('/').collect();
                if parts.len() < 2 {
                    return Err(Invalid(format!("\"{s}\" is not \"group/project\"")));
                }
                for seg in parts {
                    nested_segment_problem(seg).map_or(Ok(()), |p| {
                        Err(Invalid(format!(
                            "\"{s}\" is not \"group/.../project\": \"{seg}\" {p}"
                        )))
                    })?;
                }
            }
            NameShape::ProjectRepo => project_repo::check(s).map_err(Invalid)?,
        }
        Ok(RepoName(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the last `/`: the owner, or a nested name's groups.
    pub fn owner(&self) -> &str {
        self.0.rsplit_once('/').map_or("", |(o, _)| o)
    }

    /// The part after the last `/`.
    pub fn name(&self) -> &str {
        self.0.rsplit_once('/').map_or("", |(_, n)| n)
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

fn segment_problem(seg: &str) -> Option<&'static str> {
    if seg.is_empty() {
        Some("is empty")
    } else if seg.len() > MAX_SEGMENT {
        Some("is longer than 100 characters")
    } else if !seg
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        Some("may only hold letters, digits, '-', '_' and '.'")
    } else if seg.starts_with('.') || seg.starts_with('-') {
        Some("must not start with '.' or '-'")
    } else {
        None
    }
}

fn nested_segment_problem(seg: &str) -> Option<&'static str> {
    if seg.is_empty() {
        Some("is empty")
    } else if seg.len() > MAX_NESTED_SEGMENT {
        Some("is longer than 255 characters")
    } else if !seg
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        Some("may only hold letters, digits, '-', '_' and '.'")
    } else if seg.starts_with('-') {
        Some("must not start with '-'")
    } else if seg == "." || seg == ".." {
        Some("is a dot segment")
    } else if seg.ends_with(".git") || seg.ends_with(".atom") {
        Some("must not end in \".git\" or \".atom\"")
    } else {
        None
    }
}

/// Whether `s` is a valid `owner/repo` (see [`RepoName`]).
pub fn is_repo_name(s: &str) -> bool {
    RepoName::parse(s).is_ok()
}

impl Deref for RepoName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for RepoName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for RepoName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RepoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for RepoName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for RepoName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for RepoName {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl std::str::FromStr for RepoName {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        RepoName::parse(s)
    }
}

impl From<RepoName> for String {
    fn from(r: RepoName) -> String {
        r.0
    }
}

impl Serialize for RepoName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for RepoName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        RepoName::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_names_are_owner_slash_name_without_dot_segments() {
        let cases = [
            ("acme/api", true),
            ("Acme-Corp/my_repo.rs", true),
            ("a/b", true),
            ("a/b.", true),
            ("a/.github", false),
            ("../..", false),
            ("x/..", false),
            ("x/.", false),
            ("./a", false),
            ("../a", false),
            ("a/b/c", false),
            ("a/b c", false),
            ("a b/c", false),
            ("noslash", false),
            ("/a", false),
            ("a/", false),
            ("", false),
            ("/", false),
            ("a//b", false),
            ("-x/y", false),
            ("x/-y", false),
            ("a/b#1", false),
            ("a/b?x=1", false),
            ("a/b%2e", false),
            ("ä/b", false),
        ];
        for (input, ok) in cases {
            assert_eq!(is_repo_name(input), ok, "case {input:?}");
        }
    }

    #[test]
    fn a_names_shape_is_its_forge_kinds() {
        use NameShape::{Nested, OwnerName};
        let cases = [
            ("acme/api", true, true),
            ("a/b.", true, true),
            ("acme/platform/svc", false, true),
            ("g/s/t/u/v/project", false, true),
            ("a/.github", false, true),
            ("noslash", false, false),
            ("", false, false),
            ("/a/b", false, false),
            ("a/b/", false, false),
            ("a//b", false, false),
            ("a/../b", false, false),
            ("a/./b", false, false),
            ("x/..", false, false),
            ("-x/y", false, false),
            ("g/-y", false, false),
            ("g/repo.git", true, false),
            ("g/feed.atom", true, false),
            ("g/s p", false, false),
            ("g/a#1", false, false),
            ("g/a%2Fb", false, false),
            ("ä/b", false, false),
        ];
        for (input, owner_name, nested) in cases {
            assert_eq!(
                RepoName::parse_for(OwnerName, input).is_ok(),
                owner_name,
                "owner/name {input:?}"
            );
            assert_eq!(RepoName::parse(input).is_ok(), owner_name, "{input:?}");
            assert_eq!(
                RepoName::parse_for(Nested, input).is_ok(),
                nested,
                "nested {input:?}"
            );
            // a kept name reads back whatever kind kept it
            assert_eq!(
                RepoName::parse_any(input).is_ok(),
                owner_name || nested || project_repo::check(input).is_ok(),
                "any {input:?}"
            );
        }
        assert!(
            RepoName::parse_any("noslash")
                .unwrap_err()
                .0
                .contains("owner/repo"),
            "a name no kind allows is told as owner/repo"
        );
        let long = "a".repeat(255);
        assert!(RepoName::parse_for(Nested, &format!("g/{long}")).is_ok());
        assert!(RepoName::parse_for(Nested, &format!("g/{long}a")).is_err());
        let r = RepoName::parse_for(Nested, "acme/platform/svc").unwrap();
        assert_eq!((r.owner(), r.name()), ("acme/platform", "svc"));
        let e = RepoName::parse_for(Nested, "acme//svc").unwrap_err().0;
        assert_eq!(
            e,
            "\"acme//svc\" is not \"group/.../project\": \"\" is empty"
        );
    }

    #[test]
    fn a_segment_may_hold_at_most_100_characters() {
        let long = "a".repeat(100);
        let cases = [
            (format!("{long}/b"), true),
            (format!("a/{long}"), true),
            (format!("{long}a/b"), false),
            (format!("a/{long}a"), false),
        ];
        for (input, ok) in cases {
            assert_eq!(is_repo_name(&input), ok, "case of length {}", input.len());
        }
    }

    #[test]
    fn repo_name_reads_like_a_str() {
        let r = RepoName::parse("acme/api").unwrap();
        assert_eq!(r.as_str(), "acme/api");
        assert_eq!(r.owner(), "acme");
        assert_eq!(r.name(), "api");
        assert!(r == "acme/api");
        assert!(r.starts_with("acme/"));
        assert_eq!(r.to_string(), "acme/api");
        assert_eq!(serde_json::to_string(&r).unwrap(), "\"acme/api\"");
        let e = RepoName::parse("x/..").unwrap_err().0;
        assert!(e.contains("must not start with '.'"), "{e}");
    }
}

/// A run's id: the row id of `runs`, the number in `afk runs` and in run folders.
///
/// `Default` is run 0, which no stored run has (row ids start at 1): for
/// fixtures and rows built field by field.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct RunId(pub i64);

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An issue's number within its repository (GitLab's `iid`); it is never an
/// offset, an id or a count. A pull request's is a [`PrNumber`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct IssueNumber(pub u64);

impl fmt::Display for IssueNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for IssueNumber {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(IssueNumber)
    }
}

/// A pull request's (GitLab: merge request's) number within its repository.
/// Gitea, Forgejo and GitHub number issues and pull requests from one
/// sequence, GitLab each apart (`!N` beside `#N`), so a PR's number is its
/// own type: a place that means an issue does not take one by mistake. It
/// is written as its plain integer (JSON, SQLite and `Display`, which today's
/// kinds show as `#N`, as an issue's); [`PrNumber::as_issue`] is the one
/// crossing, for the kinds whose PRs are issues.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct PrNumber(pub u64);

impl PrNumber {
    /// The issue of the same number: a PR *is* that issue on Gitea, Forgejo
    /// and GitHub (its comments, labels and closing are the issue's). A
    /// forge that numbers them apart never calls this.
    pub fn as_issue(self) -> IssueNumber {
        IssueNumber(self.0)
    }
}

impl fmt::Display for PrNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for PrNumber {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(PrNumber)
    }
}

#[cfg(test)]
mod number_tests {
    use super::*;

    #[test]
    fn issue_numbers_read_and_write_as_plain_integers() {
        let cases: [(&str, Option<u64>); 5] = [
            ("7", Some(7)),
            ("0", Some(0)),
            ("18446744073709551615", Some(u64::MAX)),
            ("-1", None),
            ("#7", None),
        ];
        for (text, want) in cases {
            assert_eq!(
                text.parse::<IssueNumber>().ok(),
                want.map(IssueNumber),
                "{text:?}"
            );
        }
        let n = IssueNumber(42);
        assert_eq!(n.to_string(), "42");
        assert_eq!(serde_json::to_string(&n).unwrap(), "42");
        assert_eq!(serde_json::from_str::<IssueNumber>("42").unwrap(), n);
        assert!(serde_json::from_str::<IssueNumber>("\"42\"").is_err());
        assert!(serde_json::from_str::<IssueNumber>("-3").is_err());
    }

    #[test]
    fn pr_numbers_are_written_as_issue_numbers_are() {
        let p = PrNumber(42);
        assert_eq!(p.to_string(), "42");
        assert_eq!("42".parse::<PrNumber>().unwrap(), p);
        assert!("#42".parse::<PrNumber>().is_err());
        assert_eq!(serde_json::to_string(&p).unwrap(), "42");
        assert_eq!(serde_json::from_str::<PrNumber>("42").unwrap(), p);
        assert!(serde_json::from_str::<PrNumber>("-3").is_err());
        assert_eq!(p.as_issue(), IssueNumber(42));
    }
}

/// What an issue timeline entry is, across forges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TimelineKind {
    LabelAdded,
    LabelRemoved,
    /// The title was changed.
    Renamed,
    Other,
}

/// One issue timeline entry, forge-neutral.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineEvent {
    pub id: i64,
    pub kind: TimelineKind,
    /// The label's name for label events.
    pub label: Option<String>,
    /// Who made the change.
    pub actor: String,
    pub created_at: Option<String>,
}

/// One commit of a branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub sha: String,
    pub message: String,
    /// the committer date as the forge reports it (RFC 3339), if any
    pub date: Option<String>,
    /// the forge account of the commit's author (the forge maps the author's
    /// email to it); None when it maps to no account
    pub author: Option<String>,
}

/// One file a commit changed, against its first parent, as the forge shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff {
    /// the path before; None: the commit added the file
    pub old_path: Option<String>,
    /// the path after; None: the commit removed the file
    pub new_path: Option<String>,
    /// the hunks (`@@ … @@` and their lines); None when the forge shows no
    /// text (a binary file, a mode change, a pure rename, a patch too large)
    pub patch: Option<String>,
}

/// A person's access to a repository as the forge reports it, ranked by the
/// type (`Owner > Admin > Write > Read > None`): GitHub's `maintain` is
/// `Write`, `triage` is `Read`; anything unknown is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Access {
    None,
    Read,
    Write,
    Admin,
    Owner,
}

impl Access {
    /// The rank's own word (`poll.trusted_permission` says read, write or admin).
    pub fn as_str(self) -> &'static str {
        match self {
            Access::None => "none",
            Access::Read => "read",
            Access::Write => "write",
            Access::Admin => "admin",
            Access::Owner => "owner",
        }
    }

    /// The forge's word for a permission (either forge's spelling, any case).
    pub fn from_forge(s: &str) -> Access {
        match s.to_ascii_lowercase().as_str() {
            "owner" => Access::Owner,
            "admin" => Access::Admin,
            "write" | "maintain" => Access::Write,
            "read" | "triage" => Access::Read,
            _ => Access::None,
        }
    }
}

/// A person's permission on a repository as the forge answered it: the rank
/// the trust rule compares ([`Access`]) and the forge's own word, which
/// decision lines and `afk doctor` print as the forge said it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    access: Access,
    word: String,
}

impl Permission {
    /// The forge's word (either forge's spelling, any case), ranked once here.
    pub fn from_forge(word: &str) -> Permission {
        Permission {
            access: Access::from_forge(word),
            word: word.to_string(),
        }
    }

    /// A rank the forge said as a number or state rather than a word
    /// (GitLab's access levels: `Developer (30)`), with the words it is
    /// shown in.
    pub fn ranked(access: Access, word: &str) -> Permission {
        Permission {
            access,
            word: word.to_string(),
        }
    }

    /// The rank the trust rule compares.
    pub fn access(&self) -> Access {
        self.access
    }

    /// The forge's word, exactly as it answered.
    pub fn word(&self) -> &str {
        &self.word
    }

    /// A permission lookup's answer (`Ok(None)`: none was needed; `Err`:
    /// refused) as the trust rule ranks it. (`()`: the core's trust rule
    /// takes a refusal as it is, with nothing in it to read.)
    #[allow(clippy::result_unit_err)]
    pub fn access_of(p: &Result<Option<Permission>, ()>) -> Result<Option<Access>, ()> {
        p.as_ref()
            .map(|p| p.as_ref().map(Permission::access))
            .map_err(|_| ())
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.word)
    }
}

#[cfg(test)]
mod permission_tests {
    use super::*;

    #[test]
    fn the_forge_word_is_kept_and_ranked_by_access() {
        let cases = [
            ("owner", Access::Owner),
            ("admin", Access::Admin),
            ("Admin", Access::Admin),
            ("write", Access::Write),
            ("maintain", Access::Write),
            ("read", Access::Read),
            ("triage", Access::Read),
            ("none", Access::None),
            ("", Access::None),
            ("custom-role", Access::None),
        ];
        for (word, access) in cases {
            let p = Permission::from_forge(word);
            assert_eq!((p.word(), p.access()), (word, access), "{word:?}");
            assert_eq!(p.to_string(), word, "{word:?}");
        }
        assert!(
            Permission::from_forge("triage").access() < Permission::from_forge("write").access()
        );
    }
}

const MINUTE: u64 = 60;
const HOUR: u64 = 3600;
const DAY: u64 = 86400;

/// The shortest config string for `d`: `"7d"`, `"3h"`, `"90s"`, `"500ms"`;
/// `config::parse_duration(&format_duration(d)) == d` for whole milliseconds.
pub fn format_duration(d: std::time::Duration) -> String {
    if d.subsec_nanos() != 0 {
        return format!("{}ms", d.as_millis());
    }
    let s = d.as_secs();
    match s {
        0 => "0s".into(),
        _ if s.is_multiple_of(DAY) => format!("{}d", s / DAY),
        _ if s.is_multiple_of(HOUR) => format!("{}h", s / HOUR),
        _ if s.is_multiple_of(MINUTE) => format!("{}m", s / MINUTE),
        _ => format!("{s}s"),
    }
}
