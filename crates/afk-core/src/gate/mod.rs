// One file: the change gate's rules (~1010 lines: the protected set and its globs, the policy, the judgement, its words and remedies) read as one; the table tests that pin them are gate/tests.rs.
//! The gate room: what afk will not forward of a turn's work, pure. The
//! paths, texts and lines come in, read by afk from its own cache; a verdict
//! and its words go out.
//!
//! - this file: the change gate (docs/security.md#the-change-gate), below;
//! - [`deps`]: the dependencies a run's lockfiles move, and [`manifests`]:
//!   those its manifests declare (an exact version, a source outside the
//!   registry);
//! - [`osv`]: the advisories the gate looks each moved version up in;
//! - [`secret_scan`]: the secrets and credentials a turn's added lines and
//!   messages must not hold before a push.
//!
//! On a forge whose commits resolve work items (Azure DevOps) the gate
//! also refuses a commit whose message resolves another work item than the
//! run's own ([`resolves_others`]).
//!
//! The change gate: a turn's new commits are judged path by path against
//! the protected set (the built-in one, what `[gate] protected` adds, less
//! what `allow` lifts), and the run's change as a whole against `max_files`
//! and `max_bytes`. The words hold paths, counts and short commit ids only,
//! each one sanitised line, never a file's contents, a diff line or a
//! commit message.

pub mod deps;
pub mod links;
pub(crate) mod tracker_words;
pub use tracker_words::defused as defuse_tracker_keys;

/// A file the gate must read (a lockfile or manifest the agent changed)
/// that afk cannot read as its package manager reads it: refused, never
/// passed; its words say why. A type of its own, not a bare string, so a
/// caller tells a refused file from any other failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable(pub String);

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unreadable {}

impl From<String> for Unreadable {
    fn from(s: String) -> Unreadable {
        Unreadable(s)
    }
}

impl From<&str> for Unreadable {
    fn from(s: &str) -> Unreadable {
        Unreadable(s.to_string())
    }
}
pub mod manifests;
pub mod osv;
pub mod secret_scan;

use crate::types::Invalid;

/// The built-in protected set (docs/security.md#the-protected-set): CI
/// definitions of every forge and of the CI servers teams run beside them,
/// code owners in every place a forge reads them, the agents' own
/// configuration, the files that steer the next agent that works here
/// (at any depth), what runs on a person's machine when they check the
/// branch out or commit on it, git's own files. `[gate] protected` adds to
/// it; only `allow` lifts a path.
pub(crate) const BUILT_IN: &[&str] = &[
    // CI definitions of every forge
    ".github/workflows/**",
    ".github/actions/**",
    ".gitea/workflows/**",
    ".forgejo/workflows/**",
    ".gitlab-ci.yml",
    ".gitlab/ci/**",
    // the CI servers beside the forge
    ".drone.yml",
    ".drone.yaml",
    ".drone.star",
    ".woodpecker.yml",
    ".woodpecker.yaml",
    ".woodpecker/**",
    "Jenkinsfile",
    ".circleci/**",
    "azure-pipelines.yml",
    "azure-pipelines.yaml",
    ".azure-pipelines/**",
    ".travis.yml",
    ".buildkite/**",
    "bitbucket-pipelines.yml",
    // code owners
    "CODEOWNERS",
    ".github/CODEOWNERS",
    ".gitea/CODEOWNERS",
    ".gitlab/CODEOWNERS",
    "docs/CODEOWNERS",
    // the agents' own configuration
    ".claude/**",
    ".codex/**",
    ".mcp.json",
    ".cursor/**",
    ".gemini/**",
    ".github/hooks/**",
    // what steers the next agent
    "**/AGENTS.md",
    "**/AGENTS.override.md",
    "**/CLAUDE.md",
    "**/CLAUDE.local.md",
    "**/GEMINI.md",
    ".github/copilot-instructions.md",
    ".github/instructions/**",
    ".github/prompts/**",
    ".cursorrules",
    ".windsurfrules",
    // what runs on a person's machine
    ".husky/**",
    ".pre-commit-config.yaml",
    ".devcontainer/**",
    ".devcontainer.json",
    ".vscode/**",
    "**/.envrc",
    // git's own files
    ".gitmodules",
    "**/.gitattributes",
    ".lfsconfig",
    // tool configuration outside dot-folders that runs commands or steers
    // agents (docs/security.md#the-change-gate, each with its source)
    "**/opencode.json",
    "**/opencode.jsonc",
    "**/lefthook.yml",
    "**/lefthook.yaml",
    "**/lefthook-local.yml",
    "**/lefthook-local.yaml",
    "**/mise.toml",
    "**/mise.local.toml",
];

/// The hidden files afk forwards as plain content (closed by default: every
/// other path with a segment starting with `.` is protected): each is read
/// by its tool as a list of names or settings and runs nothing
/// (docs/security.md#the-change-gate). A segment of any folder above them
/// that is hidden still protects them.
pub const PLAIN_HIDDEN: &[&str] = &[
    ".gitignore",
    ".gitkeep",
    ".editorconfig",
    ".prettierignore",
    ".dockerignore",
    ".eslintignore",
    ".npmignore",
    ".stylelintignore",
    ".markdownlintignore",
];

/// Closed by default: a path any segment of which starts with `.` (after
/// folding, so a lookalike dot-folder is one) is protected, unless its only
/// hidden segment is its file name and that name is plain content
/// ([`PLAIN_HIDDEN`]).
pub fn hidden(path: &str) -> bool {
    let parts: Vec<String> = path.split('/').map(folded).collect();
    let Some((name, folders)) = parts.split_last() else {
        return false;
    };
    if folders.iter().any(|s| s.starts_with('.')) {
        return true;
    }
    name.starts_with('.') && !PLAIN_HIDDEN.contains(&name.as_str())
}

/// One glob, matched against a whole path from the repository's root: `*`
/// and `?` never cross a `/`, `**` is any number of whole segments, a glob
/// without `/` names a root-level path only. Matching ignores ASCII case,
/// a segment's trailing dots and spaces, and the code points HFS+ ignores
/// in a name ([`folded`]): a checkout on macOS or Windows reads
/// `.GitHub/Workflows/ci.yml` or `.claude./settings.json` as the protected
/// file it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    text: String,
    segments: Vec<String>,
}

impl Glob {
    /// A glob as written; malformed (empty, absolute, a `**` inside a
    /// segment, an empty segment, `.` or `..`, a control character): why.
    pub fn parse(text: &str) -> Result<Glob, Invalid> {
        let bad = |why: &str| {
            Invalid(format!(
                "\"{}\" is not a path glob: {why}",
                crate::sanitize::one_line(text, 100)
            ))
        };
        if text.is_empty() {
            return Err(bad("it is empty"));
        }
        if text.starts_with('/') {
            return Err(bad(
                "it starts with / (globs are matched from the repository's root)",
            ));
        }
        if text.chars().any(char::is_control) {
            return Err(bad("it holds a control character"));
        }
        let segments: Vec<String> = text.split('/').map(str::to_string).collect();
        for s in &segments {
            if s.is_empty() {
                return Err(bad("it has an empty segment (//, or a trailing /)"));
            }
            if s == "." || s == ".." {
                return Err(bad("it has a . or .. segment"));
            }
            if s.contains("**") && s != "**" {
                return Err(bad("** must be a whole segment"));
            }
        }
        Ok(Glob {
            text: text.to_string(),
            segments: segments
                .iter()
                .map(|s| match s.as_str() {
                    "**" => s.clone(),
                    _ => folded(s),
                })
                .collect(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `path` (from the root, `/`-separated) matches, its segments
    /// folded as [`folded`] says.
    pub fn matches(&self, path: &str) -> bool {
        let parts: Vec<String> = path.split('/').map(folded).collect();
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        let segs: Vec<&str> = self.segments.iter().map(String::as_str).collect();
        matches_segments(&segs, &parts)
    }
}

/// A path segment as the file systems people check a branch out on read
/// it, and as a person reads it: compatibility-folded (NFKC) and lower case
/// (macOS and Windows ignore case), without its
/// trailing dots and spaces (Windows drops them), without the code points
/// HFS+ ignores in a name (git's own list, `is_hfs_dotgit`: zero-width
/// joiners, direction marks, the byte-order mark).
pub fn folded(segment: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    // compatibility folding first (NFKC: `ſ` is `s`, the Kelvin sign `K`),
    // then case folding: a lookalike is judged as the name it folds to
    let kept: String = segment
        .chars()
        .filter(|c| !hfs_ignored(*c))
        .nfkc()
        .flat_map(char::to_lowercase)
        .collect();
    kept.trim_end_matches(['.', ' ']).to_string()
}

/// The code points HFS+ ignores when it compares names.
fn hfs_ignored(c: char) -> bool {
    matches!(c as u32, 0x200c..=0x200f | 0x202a..=0x202e | 0x206a..=0x206f | 0xfeff)
}

fn matches_segments(glob: &[&str], path: &[&str]) -> bool {
    match glob.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|k| matches_segments(rest, &path[k..])),
        Some((g, rest)) => match path.split_first() {
            Some((p, more)) => {
                segment_matches(g.as_bytes(), p.as_bytes()) && matches_segments(rest, more)
            }
            None => false,
        },
    }
}

/// `*` and `?` within one segment.
fn segment_matches(g: &[u8], p: &[u8]) -> bool {
    match (g.split_first(), p.split_first()) {
        (None, None) => true,
        (Some((b'*', rest)), _) => (0..=p.len()).any(|k| segment_matches(rest, &p[k..])),
        (Some((b'?', rest)), Some((_, more))) => segment_matches(rest, more),
        (Some((a, rest)), Some((b, more))) if a == b => segment_matches(rest, more),
        _ => false,
    }
}

/// The policy in force (`[gate]`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Policy {
    /// the built-in set and `protected`
    pub protected: Vec<Glob>,
    pub allow: Vec<Glob>,
    /// 0: no limit
    pub max_files: u64,
    /// 0: no limit
    pub max_bytes: u64,
    /// `advisories`' records, read by the binary (None: no advisory check)
    pub advisories: Option<crate::gate::osv::Shared>,
    /// `dependency_sources = "any"`: a dependency from a git URL, an
    /// archive, a path outside the repository or a replacement passes
    pub any_source: bool,
    /// the words before `#N` with which a commit's message resolves work
    /// item N when the commit merges, as its pusher (afk): the forge's
    /// closing words where its commits resolve (Azure DevOps); empty: a
    /// message resolves nothing
    pub resolving: Vec<String>,
    /// a tracker beside the forge (`jira` or `linear`; "": none) and the
    /// keys of its mapped projects or teams: a commit whose message would
    /// act there on any issue, of these or of any other project or team
    /// ([`tracker_words`]), is refused
    pub tracker: (String, Vec<String>),
}

impl Policy {
    /// The policy of `[gate]`: the built-in set plus `protected`, less
    /// `allow`; a malformed glob: the key and why.
    /// Whether the operator's globs parse, as [`Policy::of`] would judge
    /// them, without parsing the built-in set (the config's check, on every
    /// tick, a disabled one among them): the key and why, for the first
    /// that does not.
    pub fn check(protected: &[String], allow: &[String]) -> Result<(), (String, Invalid)> {
        for (key, globs) in [("protected", protected), ("allow", allow)] {
            for g in globs {
                Glob::parse(g).map_err(|e| (key.to_string(), e))?;
            }
        }
        Ok(())
    }

    pub fn of(
        protected: &[String],
        allow: &[String],
        max_files: u64,
        max_bytes: u64,
    ) -> Result<Policy, (String, Invalid)> {
        let parse = |key: &str, globs: &[String]| -> Result<Vec<Glob>, (String, Invalid)> {
            globs
                .iter()
                .map(|g| Glob::parse(g).map_err(|e| (key.to_string(), e)))
                .collect()
        };
        let mut all: Vec<Glob> = BUILT_IN
            .iter()
            .map(|g| Glob::parse(g).expect("built-in globs parse"))
            .collect();
        all.extend(parse("protected", protected)?);
        Ok(Policy {
            protected: all,
            allow: parse("allow", allow)?,
            max_files,
            max_bytes,
            advisories: None,
            any_source: false,
            resolving: vec![],
            tracker: (String::new(), vec![]),
        })
    }

    /// This policy with the advisories folder's records.
    pub fn with_advisories(mut self, index: Option<crate::gate::osv::Shared>) -> Policy {
        self.advisories = index;
        self
    }

    /// This policy on a forge whose commits resolve work items with
    /// `words` before `#N` (the profile's closing words; none: nothing).
    pub fn with_resolving(mut self, words: &[&str]) -> Policy {
        self.resolving = words.iter().map(|w| w.to_string()).collect();
        self
    }

    /// This policy beside the tracker `kind` (`jira`, `linear`) whose
    /// mapped projects or teams have the keys `keys`.
    pub fn with_tracker(mut self, kind: &str, keys: &[String]) -> Policy {
        self.tracker = (kind.to_string(), keys.to_vec());
        self
    }

    /// Whether `path` is protected: a protected glob matches it, or it is
    /// hidden ([`hidden`]: closed by default), and no `allow` glob matches it.
    pub fn protects(&self, path: &str) -> bool {
        (self.protected.iter().any(|g| g.matches(path)) || hidden(path))
            && !self.allow.iter().any(|g| g.matches(path))
    }

    /// The protected globs in force, as doctor prints them.
    pub fn in_force(&self) -> Vec<&str> {
        self.protected.iter().map(Glob::as_str).collect()
    }
}

/// What a commit did to a path (`git log --name-status --no-renames`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Did {
    Added,
    Modified,
    Deleted,
    /// its mode or type changed
    TypeChanged,
}

impl Did {
    /// git's status letter (`A`, `M`, `D`, `T`; a merge's combined letters
    /// read by their first non-blank one); None: not a change afk reads.
    pub fn of_letter(s: &str) -> Option<Did> {
        match s.trim().chars().next()? {
            'A' => Some(Did::Added),
            'M' | 'R' | 'C' => Some(Did::Modified),
            'D' => Some(Did::Deleted),
            'T' => Some(Did::TypeChanged),
            _ => None,
        }
    }

    fn words(self) -> &'static str {
        match self {
            Did::Added => "added",
            Did::Modified => "modified",
            Did::Deleted => "deleted",
            Did::TypeChanged => "changed the mode or type of",
        }
    }
}

/// One of the turn's new commits: its short id and what it did to which paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub short: String,
    pub changes: Vec<(Did, String)>,
}

/// What afk read of the run's change as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunChange {
    /// the paths it touches (`--no-renames`), at most a bounded list
    pub paths: Vec<String>,
    /// how many in all
    pub files: u64,
    /// its patch's length (`git diff --binary --no-renames`)
    pub bytes: u64,
    /// its largest files by the bytes of their patch, the largest first
    pub largest: Vec<(String, u64)>,
}

/// Why the gate refused a turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// a protected path: what the commits did to it, and which commits
    Protected {
        path: String,
        did: Vec<Did>,
        commits: Vec<String>,
    },
    /// a path judged through git's links ([`links`]): a link the turn
    /// adds or changes that leads somewhere it may not, or a path a
    /// protected link leads to; why, in afk's words
    Linked {
        path: String,
        why: String,
        did: Vec<Did>,
        commits: Vec<String>,
    },
    TooManyFiles {
        files: u64,
        max: u64,
        paths: Vec<String>,
    },
    TooLarge {
        bytes: u64,
        max: u64,
        largest: Vec<(String, u64)>,
    },
    /// a dependency version the commits add or move to that an advisory
    /// lists as malware or HIGH and above
    Advisory {
        dep: NewDep,
        hits: Vec<crate::gate::osv::Hit>,
    },
    /// a dependency a manifest adds or re-specifies whose source is not
    /// the ecosystem's registry (`dependency_sources = "registry"`)
    Source {
        path: String,
        ecosystem: crate::gate::deps::Ecosystem,
        name: String,
        /// what kind of source, in afk's words (never the specifier)
        why: String,
    },
    /// a commit whose message resolves work items other than the run's own
    /// (a resolution keyword before their `#N`): its short id, and those items
    Resolves { commit: String, items: Vec<u64> },
    /// a commit whose message would act in the tracker beside the forge
    /// ([`tracker_words`]): its short id, the issue keys, and whether as a
    /// Jira Smart Commit (else a Linear closing word)
    Tracker {
        commit: String,
        keys: Vec<String>,
        smart: bool,
    },
    /// something the gate judges that it could not read whole (a bound
    /// reached, a parser that gave up, a git command that failed): a gate
    /// that stopped reading has judged nothing, so the turn is refused
    Unread(Unread),
    /// a reason as a Kubernetes Job's forwarding container said it (one of
    /// its [`lines`]): data, kept one line starting `- `
    Reported(String),
}

/// What the gate could not read whole, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unread {
    /// a part of the turn as git shows it (its commits' paths and modes,
    /// the run's paths, its patch): which, and why
    Turn { what: &'static str, why: String },
    /// a lockfile or manifest the new commits touch: its path, and why
    File { path: String, why: String },
}

/// A dependency version a turn's new commits add, or move a dependency to
/// (`deps::diff` between the forge's branch and the turn's head).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDep {
    pub path: String,
    pub ecosystem: crate::gate::deps::Ecosystem,
    pub name: String,
    pub version: String,
}

/// The new versions of what moved in one lockfile: every version of a
/// dependency added, the versions a changed one did not have before.
pub fn new_deps(
    path: &str,
    kind: crate::gate::deps::Lockfile,
    moved: &[(String, crate::gate::deps::Moved)],
) -> Vec<NewDep> {
    let mut out = vec![];
    for (name, m) in moved {
        let new = m.new_versions();
        // a manifest's specifier is checked where it names one version
        let new: Vec<String> = match kind.manifest() {
            Some(m) => new
                .into_iter()
                .filter_map(|s| crate::gate::manifests::exact(m, s))
                .collect(),
            None => new.into_iter().cloned().collect(),
        };
        out.extend(new.into_iter().map(|version| NewDep {
            path: path.to_string(),
            ecosystem: kind.ecosystem(),
            name: name.clone(),
            version,
        }));
    }
    out
}

/// The dependencies that moved in manifest or lockfile `path` whose new
/// specifier or version takes them from somewhere other than the
/// ecosystem's registry, as reasons (none with `dependency_sources =
/// "any"`; a lockfile says a version's source beside it).
pub fn foreign_sources(
    policy: &Policy,
    path: &str,
    kind: crate::gate::deps::Lockfile,
    moved: &[(String, crate::gate::deps::Moved)],
) -> Vec<Reason> {
    use crate::gate::deps::FROM;
    if policy.any_source {
        return vec![];
    }
    // a lockfile read as its tool reads it says a version's other source
    // (`<version> from <source>`: npm's alias or `resolved`, pip's options
    // and direct references, a TOML lockfile's package source or files)
    if kind.manifest().is_none() {
        let mut out = vec![];
        for (name, mv) in moved {
            let new = mv.new_versions();
            if let Some(v) = new.iter().find(|v| v.contains(FROM)) {
                out.push(Reason::Source {
                    path: path.to_string(),
                    ecosystem: kind.ecosystem(),
                    name: name.clone(),
                    why: v.to_string(),
                });
            }
        }
        return out;
    }
    let Some(m) = kind.manifest() else {
        return vec![];
    };
    let mut out = vec![];
    for (name, mv) in moved {
        let new = mv.new_versions();
        if let Some(why) = new
            .iter()
            .find_map(|spec| crate::gate::manifests::foreign_source(m, path, name, spec))
        {
            out.push(Reason::Source {
                path: path.to_string(),
                ecosystem: kind.ecosystem(),
                name: name.clone(),
                why,
            });
        }
    }
    out
}

/// The most paths a reason names before "and N more".
pub const NAMED: usize = 50;

/// The most work items a [`Reason::Resolves`] names.
const ITEMS_NAMED: usize = 10;

/// Why commit `commit` is not forwarded when its `message` resolves work
/// items other than the run's own `own` (Azure DevOps moves the work item
/// a merged commit says `Fixes #N` of, as the commit's pusher, afk). None:
/// the policy knows no resolving words, or the message resolves only the
/// run's own work item, or none.
pub fn resolves_others(policy: &Policy, own: u64, commit: &str, message: &str) -> Option<Reason> {
    if policy.resolving.is_empty() {
        return None;
    }
    let words: Vec<&str> = policy.resolving.iter().map(String::as_str).collect();
    let items: Vec<u64> = crate::azure::mention::resolved_items(message, &words)
        .into_iter()
        .filter(|n| *n != own)
        .collect();
    (!items.is_empty()).then(|| Reason::Resolves {
        commit: commit.to_string(),
        items,
    })
}

/// Why commit `commit` is not forwarded when its `message` would act in
/// the tracker beside the forge: a Jira Smart Commit on any key, or a
/// Linear closing word before any issue other than the run's `own` (its
/// key). None: no tracker, or the message does neither.
pub fn acts_in_tracker(policy: &Policy, own: &str, commit: &str, message: &str) -> Option<Reason> {
    let (found, smart) = match policy.tracker.0.as_str() {
        "jira" => (tracker_words::smart_commands(message), true),
        "linear" => (tracker_words::linear_closes(message, own), false),
        _ => return None,
    };
    (!found.is_empty()).then(|| Reason::Tracker {
        commit: commit.to_string(),
        keys: found,
        smart,
    })
}

/// Judge a turn (docs/security.md#the-change-gate): empty when it passes.
pub fn judge(policy: &Policy, commits: &[Commit], run: &RunChange, deps: &[NewDep]) -> Vec<Reason> {
    let mut out: Vec<Reason> = vec![];
    for c in commits {
        for (did, path) in &c.changes {
            if !policy.protects(path) {
                continue;
            }
            let found = out.iter_mut().find_map(|r| match r {
                Reason::Protected {
                    path: p,
                    did,
                    commits,
                } if p == path => Some((did, commits)),
                _ => None,
            });
            match found {
                Some((dids, ids)) => {
                    if !dids.contains(did) {
                        dids.push(*did);
                    }
                    if !ids.contains(&c.short) {
                        ids.push(c.short.clone());
                    }
                }
                None => out.push(Reason::Protected {
                    path: path.clone(),
                    did: vec![*did],
                    commits: vec![c.short.clone()],
                }),
            }
        }
    }
    if policy.max_files > 0 && run.files > policy.max_files {
        out.push(Reason::TooManyFiles {
            files: run.files,
            max: policy.max_files,
            paths: run.paths.clone(),
        });
    }
    if policy.max_bytes > 0 && run.bytes > policy.max_bytes {
        out.push(Reason::TooLarge {
            bytes: run.bytes,
            max: policy.max_bytes,
            largest: run.largest.iter().take(5).cloned().collect(),
        });
    }
    // read by the caller before it judges dependencies (a folder that is
    // not one stops the forwarding there)
    if let Some(adv) = policy.advisories.as_ref() {
        for d in deps {
            let hits: Vec<crate::gate::osv::Hit> = adv
                .hits(d.ecosystem, &d.name, &d.version)
                .unwrap_or_default()
                .into_iter()
                .filter(crate::gate::osv::Hit::refuses)
                .collect();
            if !hits.is_empty() {
                out.push(Reason::Advisory {
                    dep: d.clone(),
                    hits,
                });
            }
        }
    }
    out
}

/// A path as the reasons name it: one sanitised line, bounded, redacted by
/// the caller's sink; in backticks for Markdown.
pub(crate) fn shown(path: &str) -> String {
    format!(
        "`{}`",
        crate::sanitize::one_line(path, 200).replace('`', "'")
    )
}

fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} bytes"),
    }
}

/// How a line of [`lines`] about something the gate did not read ends: a
/// part of the turn, or a lockfile ([`Kind::of`] reads a Job's lines by them).
const UNREAD_TURN: &str = "the gate forwards nothing it has not read whole";
const UNREAD_FILE: &str = "a dependency afk cannot read is not forwarded";

/// The reasons as Markdown lines (the escalation comment, the gate turn's
/// prompt, the run's log): paths, counts and short commit ids only.
pub fn lines(reasons: &[Reason]) -> Vec<String> {
    let mut out = protected_lines(reasons);
    for r in reasons {
        match r {
            Reason::TooManyFiles { files, max, paths } => {
                let named: Vec<String> = paths.iter().take(NAMED).map(|p| shown(p)).collect();
                let more = (*files as usize).saturating_sub(named.len());
                out.push(format!(
                    "- the run changes {files} paths (`gate.max_files` = {max}): {}{}",
                    named.join(", "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    }
                ));
            }
            Reason::TooLarge {
                bytes: b,
                max,
                largest,
            } => {
                let named: Vec<String> = largest
                    .iter()
                    .map(|(p, n)| format!("{} ({})", shown(p), bytes(*n)))
                    .collect();
                out.push(format!(
                    "- the run's patch is {} (`gate.max_bytes` = {}); its largest files: {}",
                    bytes(*b),
                    bytes(*max),
                    named.join(", ")
                ));
            }
            Reason::Advisory { dep, hits } => {
                let ids: Vec<String> = hits.iter().take(10).map(|h| h.label()).collect();
                out.push(format!(
                    "- dependency {} {} ({}, {}): {}{}",
                    shown(&dep.name),
                    shown(&dep.version),
                    dep.ecosystem.as_str(),
                    shown(&dep.path),
                    ids.join(", "),
                    if hits.len() > 10 {
                        format!(" and {} more", hits.len() - 10)
                    } else {
                        String::new()
                    }
                ));
            }
            Reason::Source {
                path,
                ecosystem,
                name,
                why,
            } => out.push(format!(
                "- dependency {} ({}, {}{}): its source is not the registry ({}); `gate.dependency_sources` = \"registry\"",
                shown(name),
                ecosystem.as_str(),
                shown(path),
                // a lockfile's entry is no manifest's
                match crate::gate::deps::Lockfile::of(path).and_then(|k| k.manifest()) {
                    Some(_) => ", manifest",
                    None => "",
                },
                crate::sanitize::one_line(why, 100)
            )),
            Reason::Resolves { commit, items } => out.push(resolves_line(commit, items)),
            Reason::Tracker {
                commit,
                keys,
                smart,
            } => out.push(tracker_line(commit, keys, *smart)),
            Reason::Unread(Unread::Turn { what, why }) => out.push(format!(
                "- {what}: not read ({}): {UNREAD_TURN}",
                crate::sanitize::one_line(why, 200)
            )),
            Reason::Unread(Unread::File { path, why }) => out.push(format!(
                "- {}: not read ({}): {UNREAD_FILE}",
                shown(path),
                crate::sanitize::one_line(why, 200)
            )),
            Reason::Reported(line) => {
                let line = crate::sanitize::one_line(line, 400);
                let line = line.trim_start_matches(['-', ' ']);
                out.push(format!("- {line}"));
            }
            Reason::Linked {
                path,
                why,
                did,
                commits,
            } => out.push(format!(
                "- protected path {} ({}): {}",
                shown(path),
                crate::sanitize::one_line(why, 300),
                did_by(did, commits)
            )),
            Reason::Protected { .. } => {}
        }
    }
    out
}

/// What the turn did to a path and by which commits (the first 10):
/// `modified by commit `abc1234``.
fn did_by(did: &[Did], commits: &[String]) -> String {
    let did: Vec<&str> = did.iter().map(|d| d.words()).collect();
    let ids: Vec<String> = commits
        .iter()
        .take(10)
        .map(|c| format!("`{}`", crate::sanitize::one_line(c, 12)))
        .collect();
    format!(
        "{} by commit{} {}",
        did.join(", "),
        if commits.len() == 1 { "" } else { "s" },
        ids.join(", ")
    )
}

/// The protected paths' lines of [`lines`]: each by what the turn did to
/// it and which commits, the first [`NAMED`] named.
fn protected_lines(reasons: &[Reason]) -> Vec<String> {
    let mut out = vec![];
    let protected: Vec<&Reason> = reasons
        .iter()
        .filter(|r| matches!(r, Reason::Protected { .. }))
        .collect();
    for r in protected.iter().take(NAMED) {
        if let Reason::Protected { path, did, commits } = r {
            out.push(format!(
                "- protected path {}: {}",
                shown(path),
                did_by(did, commits)
            ));
        }
    }
    if protected.len() > NAMED {
        out.push(format!(
            "- and {} more protected paths",
            protected.len() - NAMED
        ));
    }
    out
}

/// [`lines`]' line of a commit resolving other work items: numbers as
/// afk writes them, no `#` that would link one.
fn resolves_line(commit: &str, items: &[u64]) -> String {
    let named: Vec<String> = items.iter().take(ITEMS_NAMED).map(u64::to_string).collect();
    format!(
        "- commit `{}` resolves work item{} {}{} by its message (a resolution keyword before the number): merged, the forge would move {} as afk; a commit may resolve the run's own work item only",
        crate::sanitize::one_line(commit, 12),
        if items.len() == 1 { "" } else { "s" },
        named.join(", "),
        if items.len() > ITEMS_NAMED {
            format!(" and {} more", items.len() - ITEMS_NAMED)
        } else {
            String::new()
        },
        if items.len() == 1 { "it" } else { "them" },
    )
}

/// [`lines`]' line of a commit that would act in the tracker: its keys as
/// afk read them, each a plain word.
fn tracker_line(commit: &str, keys: &[String], smart: bool) -> String {
    let named: Vec<&str> = keys.iter().take(ITEMS_NAMED).map(String::as_str).collect();
    let how = match smart {
        true => {
            "a Jira Smart Commit (a key, then a `#` command on its line): Jira would act on it as the committer"
        }
        false => "a closing word before another issue: merged, Linear would close it",
    };
    format!(
        "- commit `{}` acts in the tracker by its message on {}: {how}",
        crate::sanitize::one_line(commit, 12),
        crate::sanitize::one_line(&named.join(", "), 200),
    )
}

/// The kinds of reason a refusal has, each lifted its own way; their order
/// is the order [`remedies`] says them in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Protected,
    Size,
    Advisory,
    Source,
    Resolves,
    Tracker,
    Unread,
}

impl Kind {
    /// The kind of `r`; a line a Kubernetes Job's forwarding container
    /// reported is read by the words [`lines`] writes for each kind (the
    /// container writes them), and one that says none of them has none.
    fn of(r: &Reason) -> Option<Kind> {
        match r {
            Reason::Protected { .. } | Reason::Linked { .. } => Some(Kind::Protected),
            Reason::TooManyFiles { .. } | Reason::TooLarge { .. } => Some(Kind::Size),
            Reason::Advisory { .. } => Some(Kind::Advisory),
            Reason::Source { .. } => Some(Kind::Source),
            Reason::Resolves { .. } => Some(Kind::Resolves),
            Reason::Tracker { .. } => Some(Kind::Tracker),
            Reason::Unread(_) => Some(Kind::Unread),
            Reason::Reported(line) => {
                let line = line.trim().trim_start_matches(['-', ' ']);
                if line.ends_with(UNREAD_TURN) || line.ends_with(UNREAD_FILE) {
                    Some(Kind::Unread)
                } else if line.starts_with("protected path ")
                    || (line.starts_with("and ") && line.ends_with(" more protected paths"))
                {
                    Some(Kind::Protected)
                } else if (line.starts_with("the run changes ")
                    && line.contains("(`gate.max_files`"))
                    || (line.starts_with("the run's patch is ")
                        && line.contains("(`gate.max_bytes`"))
                {
                    Some(Kind::Size)
                } else if line.starts_with("dependency ")
                    && line.contains("its source is not the registry")
                {
                    Some(Kind::Source)
                } else if line.starts_with("dependency ") {
                    Some(Kind::Advisory)
                } else if line.starts_with("commit ") && line.contains(" resolves work item") {
                    Some(Kind::Resolves)
                } else if line.starts_with("commit ")
                    && line.contains(" acts in the tracker by its message")
                {
                    Some(Kind::Tracker)
                } else {
                    None
                }
            }
        }
    }

    /// What lifts a refusal of this kind, for the person who reads the
    /// escalation: `allow` lifts paths only, so only a protected path is
    /// offered it.
    fn remedy(self) -> &'static str {
        match self {
            Kind::Protected => {
                "a protected path: a person may push the change themselves (a person's push is never gated), or add a `[gate] allow` glob naming the path and re-arm the issue"
            }
            Kind::Size => {
                "over a size limit: split the work into smaller issues, or raise `gate.max_files` or `gate.max_bytes` and re-arm the issue"
            }
            Kind::Advisory => {
                "a dependency an advisory lists: move it to a fixed version (a person may push that themselves), or, if the advisory's record is wrong, correct it in the advisories folder (`gate.advisories`) and re-arm the issue; an `allow` glob lifts paths only, never an advisory"
            }
            Kind::Source => {
                "a dependency from outside its registry: take it from the registry (a person may push the change themselves), or set `gate.dependency_sources = \"any\"` and re-arm the issue"
            }
            Kind::Resolves => {
                "a commit that resolves another work item: reword its message so that no resolution keyword stands before another work item's number (a person may push the change themselves), and re-arm the issue"
            }
            Kind::Tracker => {
                "a commit message that would act in the tracker: reword it so that no issue key is followed by a `#` command on its line (Jira) and no closing word stands before another issue (Linear) (a person may push the change themselves), and re-arm the issue"
            }
            Kind::Unread => {
                "something the gate could not read whole: make the change smaller, or the lockfile readable, and re-arm the issue"
            }
        }
    }
}

/// What lifts a refusal for `reasons`, for the escalation that ends the
/// run: one sentence per kind of reason present (protected paths, size
/// limits, advisories, what was not read, in that order), each that kind's
/// own remedy. Empty when no reason says its kind (none, or only lines a
/// Job reported in words afk does not write).
pub fn remedies(reasons: &[Reason]) -> Vec<&'static str> {
    let mut kinds: Vec<Kind> = reasons.iter().filter_map(Kind::of).collect();
    kinds.sort();
    kinds.dedup();
    kinds.into_iter().map(Kind::remedy).collect()
}

/// What the `gate` turn's prompt says beyond the reasons.
pub(crate) const UNDO: &str = "afk did not push this turn: the change gate refused it, for the reasons below. The refused commits are unpushed, at your checkout's head (on afk's own machine; a Kubernetes turn starts from the forge's branch): rewrite them so that none of them touches a protected path (a revert on top is not enough: each commit afk pushes is on the forge), the run's change fits the limits, no dependency they add or move is at a version an advisory lists as malware or of HIGH or CRITICAL severity (use a fixed version, or leave the dependency where it was), and no commit's message resolves another work item than the run's (reword a resolution keyword before another work item's number) or acts in the tracker (no issue key followed by a `#` command, no closing word before another issue), then end your turn. You cannot change this policy; a person can make a protected change themselves.";

#[cfg(test)]
mod tests;
