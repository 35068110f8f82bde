// One file: the advisory rules (records, version orders, CVSS scoring, ~840 lines) read as one; the table tests that pin them are osv/tests.rs.
//! Advisories for the change gate (docs/security.md#advisories): OSV
//! records as osv.dev publishes them, read into an index by ecosystem and
//! name, and the questions the gate asks of it: which records apply to a
//! dependency's version (its `versions`, its `SEMVER` and `ECOSYSTEM`
//! ranges, versions ordered as SemVer does for crates.io, npm and Go and
//! as PEP 440 does for PyPI), whether one is malware, and its severity
//! (the record's own word, else its CVSS v3 base score). Pure: the files'
//! texts come in; the binary walks the folder.

use crate::gate::deps::{Ecosystem, pypi_name};
use std::cmp::Ordering;

/// Why afk could not read the advisory database, or an entry of it: the
/// check it stands for has passed nothing. A type of its own, not a bare
/// string, so a caller tells it from any other failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvisoryError(pub String);

impl std::fmt::Display for AdvisoryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AdvisoryError {}

impl From<String> for AdvisoryError {
    fn from(s: String) -> AdvisoryError {
        AdvisoryError(s)
    }
}

impl From<&str> for AdvisoryError {
    fn from(s: &str) -> AdvisoryError {
        AdvisoryError(s.to_string())
    }
}
use std::collections::HashMap;

/// A severity, as the gate reads it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Severity {
    /// the record names none afk can read: refuses nothing
    Unknown,
    Low,
    Moderate,
    High,
    Critical,
    /// only a CVSS v4 vector, which this afk does not score: read as HIGH
    /// (a shape afk does not know refuses, and says so)
    UnscoredV4,
}

impl Severity {
    pub fn words(self) -> &'static str {
        match self {
            Severity::Unknown => "severity unknown",
            Severity::Low => "LOW",
            Severity::Moderate => "MODERATE",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
            Severity::UnscoredV4 => "CVSS v4, not scored by afk: read as HIGH",
        }
    }

    /// Whether it refuses a turn (HIGH and above).
    pub fn refuses(self) -> bool {
        matches!(
            self,
            Severity::High | Severity::Critical | Severity::UnscoredV4
        )
    }
}

/// One `affected[]` entry of an ecosystem afk reads.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Affected {
    versions: Vec<String>,
    /// each `SEMVER` or `ECOSYSTEM` range's events: (kind, version)
    ranges: Vec<Vec<(Event, String)>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum Event {
    Introduced,
    Fixed,
    LastAffected,
    Limit,
}

/// What the index keeps of a record.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Summary {
    pub id: String,
    pub malware: bool,
    pub severity: Severity,
}

/// A record that applies to a dependency's version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub id: String,
    pub malware: bool,
    pub severity: Severity,
    /// the first `fixed` version the record names for it, if any
    pub fixed: Option<String>,
}

impl Hit {
    /// Whether it refuses the turn: malware whatever its severity, or
    /// HIGH and above.
    pub fn refuses(&self) -> bool {
        self.malware || self.severity.refuses()
    }

    /// `MAL-2024-1 (malware)`, `GHSA-x (HIGH, fixed in 1.2.3)`.
    pub fn label(&self) -> String {
        let id = crate::sanitize::one_line(&self.id, 80);
        let what = if self.malware {
            "malware".to_string()
        } else {
            self.severity.words().to_string()
        };
        match &self.fixed {
            Some(f) => format!(
                "{id} ({what}, fixed in {})",
                crate::sanitize::one_line(f, 40)
            ),
            None => format!("{id} ({what})"),
        }
    }
}

/// The records of one package (an ecosystem's name): what a lookup of it
/// reads, from an [`Index`] in memory or an index kept beside the state
/// file (its text: [`Entries::to_text`]).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Entries(Vec<(Summary, Affected)>);

impl Entries {
    /// Kept as text (JSON), one package's.
    pub fn to_text(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "[]".into())
    }

    /// Read back from [`Entries::to_text`]; Err: it is not one.
    pub fn from_text(text: &str) -> Result<Entries, AdvisoryError> {
        serde_json::from_str(text)
            .map(Entries)
            .map_err(|e| AdvisoryError(format!("not an advisories index entry ({e})")))
    }

    /// The records among these that apply to `version` of `eco`, the worst first.
    pub fn hits(&self, eco: Ecosystem, version: &str) -> Vec<Hit> {
        let mut out: Vec<Hit> = vec![];
        for (r, a) in &self.0 {
            let Some(fixed) = applies(eco, a, version) else {
                continue;
            };
            if out.iter().any(|h| h.id == r.id) {
                continue;
            }
            out.push(Hit {
                id: r.id.clone(),
                malware: r.malware,
                severity: r.severity,
                fixed,
            });
        }
        // the worst first, then by id: the same order whatever the folder's
        out.sort_by(|a, b| {
            (b.malware, b.severity)
                .cmp(&(a.malware, a.severity))
                .then_with(|| a.id.cmp(&b.id))
        });
        out
    }
}

/// How one package's records are looked up (the binary's: an index beside
/// the state file, else the folder read whole; Err: why the folder is not
/// one, a configuration error). The name comes as the index keys it.
type Lookup = dyn Fn(Ecosystem, &str) -> Result<Entries, AdvisoryError> + Send + Sync;

/// The advisories shared by the ticks' workers, looked up package by
/// package the first time each is asked for (a tick that forwards no
/// dependency change reads none; one that does reads only its packages
/// where an index is kept). Equal when it is the same one.
#[derive(Clone)]
pub struct Shared(std::sync::Arc<Lazy>);

struct Lazy {
    lookup: Box<Lookup>,
    seen: std::sync::Mutex<HashMap<(Ecosystem, String), Result<Entries, AdvisoryError>>>,
}

impl Shared {
    /// Advisories `lookup` reads one package at a time.
    pub fn by_package(
        lookup: impl Fn(Ecosystem, &str) -> Result<Entries, AdvisoryError> + Send + Sync + 'static,
    ) -> Shared {
        Shared(std::sync::Arc::new(Lazy {
            lookup: Box::new(lookup),
            seen: std::sync::Mutex::new(HashMap::new()),
        }))
    }

    /// An index `load` reads whole when a package is first asked for.
    pub fn new(
        load: impl Fn() -> Result<std::sync::Arc<Index>, AdvisoryError> + Send + Sync + 'static,
    ) -> Shared {
        let read = std::sync::OnceLock::new();
        Shared::by_package(move |eco, name| {
            read.get_or_init(&load)
                .as_ref()
                .map(|ix| ix.package(eco, name))
                .map_err(AdvisoryError::clone)
        })
    }

    /// An index read already.
    pub fn of(index: Index) -> Shared {
        let index = std::sync::Arc::new(index);
        Shared::by_package(move |eco, name| Ok(index.package(eco, name)))
    }

    /// The records that apply to `name` at `version` in `eco`; Err: why
    /// the advisories cannot be read (the same answer every time).
    pub fn hits(
        &self,
        eco: Ecosystem,
        name: &str,
        version: &str,
    ) -> Result<Vec<Hit>, AdvisoryError> {
        let key = (eco, key_name(eco, name));
        let mut seen = self.0.seen.lock().unwrap_or_else(|e| e.into_inner());
        let entries = seen
            .entry(key.clone())
            .or_insert_with(|| (self.0.lookup)(eco, &key.1));
        entries
            .as_ref()
            .map(|e| e.hits(eco, version))
            .map_err(AdvisoryError::clone)
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.seen.lock().map(|s| s.len()).unwrap_or(0);
        write!(f, "Shared({n} packages looked up)")
    }
}

impl PartialEq for Shared {
    fn eq(&self, o: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &o.0)
    }
}

impl Eq for Shared {}

/// The advisories of a folder, by ecosystem and name.
#[derive(Debug, Default)]
pub struct Index {
    records: Vec<Summary>,
    by_name: HashMap<(Ecosystem, String), Vec<(usize, Affected)>>,
    /// records per ecosystem afk reads (a record may count in several)
    pub per_ecosystem: HashMap<Ecosystem, usize>,
    /// the newest `modified` of any record (RFC 3339 as written)
    pub newest_modified: Option<String>,
    /// range events of an ecosystem afk reads whose version it cannot
    /// order (read as the lowest version: the range covers more)
    pub unordered: usize,
    /// every record read, whatever its ecosystem
    pub records_read: usize,
}

fn ecosystem_of(name: &str) -> Option<Ecosystem> {
    match name {
        "crates.io" => Some(Ecosystem::CratesIo),
        "npm" => Some(Ecosystem::Npm),
        "PyPI" => Some(Ecosystem::PyPi),
        "Go" => Some(Ecosystem::Go),
        _ => None,
    }
}

fn key_name(eco: Ecosystem, name: &str) -> String {
    match eco {
        Ecosystem::PyPi => pypi_name(name),
        _ => name.to_string(),
    }
}

impl Index {
    /// Add one record's text; Err: why it is not a record (the caller
    /// names the file: a configuration error, never a silent pass).
    pub fn add(&mut self, text: &str) -> Result<(), AdvisoryError> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON ({e})"))?;
        let id = v
            .get("id")
            .and_then(|i| i.as_str())
            .ok_or("no \"id\" string")?
            .to_string();
        let affected = v
            .get("affected")
            .and_then(|a| a.as_array())
            .ok_or("no \"affected\" list")?;
        let mut entries: Vec<(Ecosystem, String, Affected)> = vec![];
        for a in affected {
            let pkg = a.get("package");
            let field = |k: &str| pkg.and_then(|p| p.get(k)).and_then(|x| x.as_str());
            let (Some(eco), Some(name)) = (field("ecosystem"), field("name")) else {
                return Err(
                    "an \"affected\" entry without package.ecosystem and package.name strings"
                        .into(),
                );
            };
            let versions = match a.get("versions") {
                None | Some(serde_json::Value::Null) => vec![],
                Some(serde_json::Value::Array(vs)) => vs
                    .iter()
                    .map(|x| x.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .ok_or("\"versions\" is not a list of strings")?,
                Some(_) => return Err("\"versions\" is not a list of strings".into()),
            };
            // an ecosystem afk does not read: only its shape is checked
            let Some(eco) = ecosystem_of(eco) else {
                continue;
            };
            let mut ranges = vec![];
            for r in a
                .get("ranges")
                .and_then(|r| r.as_array())
                .into_iter()
                .flatten()
            {
                let kind = r.get("type").and_then(|t| t.as_str()).unwrap_or("");
                if kind != "SEMVER" && kind != "ECOSYSTEM" {
                    continue;
                }
                let mut events = vec![];
                for e in r
                    .get("events")
                    .and_then(|e| e.as_array())
                    .into_iter()
                    .flatten()
                {
                    let Some(obj) = e.as_object() else { continue };
                    for (k, kind) in [
                        ("introduced", Event::Introduced),
                        ("fixed", Event::Fixed),
                        ("last_affected", Event::LastAffected),
                        ("limit", Event::Limit),
                    ] {
                        if let Some(ver) = obj.get(k).and_then(|x| x.as_str()) {
                            if !(kind == Event::Introduced && ver == "0")
                                && version_key(eco, ver).is_none()
                            {
                                self.unordered += 1;
                            }
                            events.push((kind, ver.to_string()));
                        }
                    }
                }
                ranges.push(events);
            }
            entries.push((eco, key_name(eco, name), Affected { versions, ranges }));
        }
        self.records_read += 1;
        if let Some(m) = v.get("modified").and_then(|m| m.as_str())
            && self.newest_modified.as_deref().is_none_or(|n| m > n)
        {
            self.newest_modified = Some(m.to_string());
        }
        if entries.is_empty() {
            return Ok(());
        }
        let withdrawn = v.get("withdrawn").is_some_and(|w| !w.is_null());
        let aliases: Vec<&str> = v
            .get("aliases")
            .and_then(|a| a.as_array())
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str())
            .collect();
        let malware = id.starts_with("MAL-") || aliases.iter().any(|a| a.starts_with("MAL-"));
        let mut seen: Vec<Ecosystem> = vec![];
        for (eco, _, _) in &entries {
            if !seen.contains(eco) {
                seen.push(*eco);
                *self.per_ecosystem.entry(*eco).or_default() += 1;
            }
        }
        if withdrawn {
            return Ok(());
        }
        let n = self.records.len();
        self.records.push(Summary {
            id,
            malware,
            severity: severity_of(&v),
        });
        for (eco, name, a) in entries {
            self.by_name.entry((eco, name)).or_default().push((n, a));
        }
        Ok(())
    }

    /// The records that apply to `name` at `version` in `eco`.
    pub fn hits(&self, eco: Ecosystem, name: &str, version: &str) -> Vec<Hit> {
        self.package(eco, name).hits(eco, version)
    }

    /// One package's records (`name` as written or as the index keys it).
    pub fn package(&self, eco: Ecosystem, name: &str) -> Entries {
        let Some(entries) = self.by_name.get(&(eco, key_name(eco, name))) else {
            return Entries::default();
        };
        Entries(
            entries
                .iter()
                .map(|(n, a)| (self.records[*n].clone(), a.clone()))
                .collect(),
        )
    }

    /// Every package the index holds, with its records: what an index
    /// beside the state file keeps.
    pub fn packages(&self) -> impl Iterator<Item = (Ecosystem, &str, Entries)> + '_ {
        self.by_name
            .keys()
            .map(|(eco, name)| (*eco, name.as_str(), self.package(*eco, name)))
    }
}

/// Whether entry `a` lists `version`: None when not; Some(the first
/// `fixed` of the range that holds it) when it does.
fn applies(eco: Ecosystem, a: &Affected, version: &str) -> Option<Option<String>> {
    let v = version_key(eco, version);
    if a.versions
        .iter()
        .any(|x| x == version || (v.is_some() && version_key(eco, x) == v))
    {
        let fixed = a
            .ranges
            .iter()
            .flatten()
            .find(|(k, _)| *k == Event::Fixed)
            .map(|(_, f)| f.clone());
        return Some(fixed);
    }
    for events in &a.ranges {
        let mut sorted: Vec<&(Event, String)> = events.iter().collect();
        sorted.sort_by(|x, y| order(eco, &x.1, &y.1));
        let mut affected = false;
        for (kind, at) in &sorted {
            let c = order(eco, version, at);
            match kind {
                Event::Introduced if at == "0" || c != Ordering::Less => affected = true,
                Event::Fixed | Event::Limit if c != Ordering::Less => affected = false,
                Event::LastAffected if c == Ordering::Greater => affected = false,
                _ => {}
            }
        }
        if affected {
            let fixed = sorted
                .iter()
                .find(|(k, at)| *k == Event::Fixed && order(eco, version, at) == Ordering::Less)
                .map(|(_, f)| f.clone());
            return Some(fixed);
        }
    }
    None
}

/// Two versions of `eco` in order; a version afk cannot order is the
/// lowest (`introduced: "0"` too).
fn order(eco: Ecosystem, a: &str, b: &str) -> Ordering {
    let k = |s: &str| if s == "0" { None } else { version_key(eco, s) };
    match (k(a), k(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// A version's place in its ecosystem's order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Key {
    Sem(SemVer),
    Pep(Pep440),
}

pub(crate) fn version_key(eco: Ecosystem, v: &str) -> Option<Key> {
    match eco {
        Ecosystem::CratesIo | Ecosystem::Npm => SemVer::parse(v).map(Key::Sem),
        Ecosystem::Go => {
            let v = v.strip_prefix('v').unwrap_or(v);
            let v = v.strip_suffix("+incompatible").unwrap_or(v);
            SemVer::parse(v).map(Key::Sem)
        }
        Ecosystem::PyPi => Pep440::parse(v).map(Key::Pep),
    }
}

/// A SemVer 2.0 version, ordered as its section 11 says (build ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SemVer {
    core: [u64; 3],
    pre: Vec<Ident>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Ident {
    Num(u64),
    Text(String),
}

impl SemVer {
    pub fn parse(v: &str) -> Option<SemVer> {
        let v = v.trim();
        let v = v.split('+').next()?;
        let (core, pre) = match v.split_once('-') {
            Some((c, p)) => (c, Some(p)),
            None => (v, None),
        };
        let nums: Vec<u64> = core
            .split('.')
            .map(|n| {
                (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| n.parse().ok())
                    .flatten()
            })
            .collect::<Option<_>>()?;
        let [a, b, c] = nums[..] else { return None };
        let pre = match pre {
            None => vec![],
            Some(p) => p
                .split('.')
                .map(|i| {
                    if i.is_empty() {
                        None
                    } else if i.bytes().all(|b| b.is_ascii_digit()) {
                        i.parse().ok().map(Ident::Num)
                    } else {
                        Some(Ident::Text(i.to_string()))
                    }
                })
                .collect::<Option<_>>()?,
        };
        Some(SemVer {
            core: [a, b, c],
            pre,
        })
    }
}

impl Ord for SemVer {
    fn cmp(&self, o: &Self) -> Ordering {
        self.core.cmp(&o.core).then_with(|| {
            match (self.pre.is_empty(), o.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                // a pre-release is below its release
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                // numeric identifiers below alphanumeric ones, then the
                // shorter list below
                (false, false) => self.pre.cmp(&o.pre),
            }
        })
    }
}

impl PartialOrd for SemVer {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// A PEP 440 version, as `packaging` orders it: epoch, release (trailing
/// zeros dropped), pre-release, post-release, dev-release (local ignored).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pep440 {
    epoch: u64,
    release: Vec<u64>,
    /// (-1, 0): a dev release of no pre-release; (0..=2, n): a, b, rc;
    /// (3, 0): none
    pre: (i8, u64),
    /// -1: none
    post: i64,
    /// u64::MAX: none
    dev: u64,
}

impl Pep440 {
    pub fn parse(v: &str) -> Option<Pep440> {
        let v = v.trim().to_ascii_lowercase();
        let v = v.strip_prefix('v').unwrap_or(&v);
        let v = v.split('+').next()?;
        let (epoch, rest) = match v.split_once('!') {
            Some((e, r)) => (e.parse().ok()?, r),
            None => (0, v),
        };
        let b = rest.as_bytes();
        let mut i = 0;
        let mut release = vec![];
        loop {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if start == i {
                return None;
            }
            release.push(rest[start..i].parse().ok()?);
            if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
                i += 1;
                continue;
            }
            break;
        }
        let mut tail = &rest[i..];
        let num = |t: &mut &str| -> u64 {
            let t2 = t.trim_start_matches(['.', '-', '_']);
            let d: String = t2.chars().take_while(|c| c.is_ascii_digit()).collect();
            *t = &t2[d.len()..];
            d.parse().unwrap_or(0)
        };
        let word = |t: &mut &str, words: &[&str]| -> bool {
            let t2 = t.trim_start_matches(['.', '-', '_']);
            for w in words {
                if let Some(r) = t2.strip_prefix(w) {
                    *t = r;
                    return true;
                }
            }
            false
        };
        let mut pre = None;
        for (phase, words) in [
            (0, &["alpha", "a"][..]),
            (1, &["beta", "b"][..]),
            (2, &["rc", "c", "preview", "pre"][..]),
        ] {
            if pre.is_none() && word(&mut tail, words) {
                pre = Some((phase, num(&mut tail)));
            }
        }
        let mut post = -1i64;
        if word(&mut tail, &["post", "rev", "r"]) {
            post = num(&mut tail) as i64;
        } else if let Some(r) = tail.strip_prefix('-')
            && r.starts_with(|c: char| c.is_ascii_digit())
        {
            tail = r;
            let mut t = tail;
            post = num(&mut t) as i64;
            tail = t;
        }
        let mut dev = u64::MAX;
        if word(&mut tail, &["dev"]) {
            dev = num(&mut tail);
        }
        if !tail.is_empty() {
            return None;
        }
        while release.len() > 1 && release.last() == Some(&0) {
            release.pop();
        }
        let pre = match (pre, post, dev) {
            (None, -1, d) if d != u64::MAX => (-1, 0),
            (None, ..) => (3, 0),
            (Some(p), ..) => p,
        };
        Some(Pep440 {
            epoch,
            release,
            pre,
            post,
            dev,
        })
    }
}

/// A record's severity: `database_specific.severity` when it has one, else
/// its highest CVSS v3 base score; a CVSS v4 vector alone is read as HIGH.
fn severity_of(v: &serde_json::Value) -> Severity {
    let named = v
        .get("database_specific")
        .and_then(|d| d.get("severity"))
        .and_then(|s| s.as_str())
        .map(|s| s.trim().to_ascii_uppercase());
    match named.as_deref() {
        Some("LOW") => return Severity::Low,
        Some("MODERATE" | "MEDIUM") => return Severity::Moderate,
        Some("HIGH") => return Severity::High,
        Some("CRITICAL") => return Severity::Critical,
        _ => {}
    }
    let mut best: Option<f64> = None;
    let mut v4 = false;
    for s in v
        .get("severity")
        .and_then(|s| s.as_array())
        .into_iter()
        .flatten()
    {
        let kind = s.get("type").and_then(|t| t.as_str()).unwrap_or("");
        let score = s.get("score").and_then(|t| t.as_str()).unwrap_or("");
        match kind {
            "CVSS_V3" => {
                if let Some(x) = cvss3_base(score) {
                    best = Some(best.map_or(x, |b: f64| b.max(x)));
                }
            }
            "CVSS_V4" => v4 = true,
            _ => {}
        }
    }
    match best {
        Some(x) if x >= 9.0 => Severity::Critical,
        Some(x) if x >= 7.0 => Severity::High,
        Some(x) if x >= 4.0 => Severity::Moderate,
        Some(x) if x > 0.0 => Severity::Low,
        Some(_) => Severity::Unknown,
        None if v4 => Severity::UnscoredV4,
        None => Severity::Unknown,
    }
}

/// The CVSS v3.0/v3.1 base score of a vector (`CVSS:3.1/AV:N/AC:L/…`), by
/// the standard's formula; None when it is not one.
pub(crate) fn cvss3_base(vector: &str) -> Option<f64> {
    let mut parts = vector.trim().split('/');
    let head = parts.next()?;
    if head != "CVSS:3.0" && head != "CVSS:3.1" {
        return None;
    }
    let mut m: HashMap<&str, &str> = HashMap::new();
    for p in parts {
        let (k, v) = p.split_once(':')?;
        m.insert(k, v);
    }
    let changed = match *m.get("S")? {
        "U" => false,
        "C" => true,
        _ => return None,
    };
    let av = match *m.get("AV")? {
        "N" => 0.85,
        "A" => 0.62,
        "L" => 0.55,
        "P" => 0.2,
        _ => return None,
    };
    let ac = match *m.get("AC")? {
        "L" => 0.77,
        "H" => 0.44,
        _ => return None,
    };
    let pr = match (*m.get("PR")?, changed) {
        ("N", _) => 0.85,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        ("H", false) => 0.27,
        ("H", true) => 0.5,
        _ => return None,
    };
    let ui = match *m.get("UI")? {
        "N" => 0.85,
        "R" => 0.62,
        _ => return None,
    };
    let cia = |k: &str| -> Option<f64> {
        match *m.get(k)? {
            "H" => Some(0.56),
            "L" => Some(0.22),
            "N" => Some(0.0),
            _ => None,
        }
    };
    let (c, i, a) = (cia("C")?, cia("I")?, cia("A")?);
    let iss = 1.0 - (1.0 - c) * (1.0 - i) * (1.0 - a);
    let impact = if changed {
        7.52 * (iss - 0.029) - 3.25 * (iss - 0.02f64).powi(15)
    } else {
        6.42 * iss
    };
    if impact <= 0.0 {
        return Some(0.0);
    }
    let exploit = 8.22 * av * ac * pr * ui;
    let raw = if changed {
        (1.08 * (impact + exploit)).min(10.0)
    } else {
        (impact + exploit).min(10.0)
    };
    Some(roundup(raw))
}

/// CVSS v3.1's Roundup: the smallest one-decimal number not below `x`,
/// computed on integers so 4.000000001 is not 4.1.
fn roundup(x: f64) -> f64 {
    let int = (x * 100_000.0).round() as i64;
    if int % 10_000 == 0 {
        int as f64 / 100_000.0
    } else {
        ((int / 10_000) + 1) as f64 / 10.0
    }
}

/// Past this many days since the newest record's `modified`, doctor WARNs:
/// the folder is the operator's to keep fresh.
pub(crate) const STALE_DAYS: i64 = 7;

/// doctor's `advisories` line for a folder read into `ix` (`shown`: the
/// folder as named): its level and its words. WARN when its newest record
/// is older than [`STALE_DAYS`] (or none says when), or when range events
/// cannot be ordered.
pub fn doctor_line(
    ix: &Index,
    shown: &str,
    now: time::OffsetDateTime,
) -> (crate::doctor::Level, String) {
    use crate::doctor::Level;
    let mut counts: Vec<(Ecosystem, usize)> =
        ix.per_ecosystem.iter().map(|(e, n)| (*e, *n)).collect();
    counts.sort();
    let counts: Vec<String> = counts
        .iter()
        .map(|(e, n)| format!("{} {n}", e.as_str()))
        .collect();
    let age = ix.newest_modified.as_deref().and_then(|m| {
        time::OffsetDateTime::parse(m, &time::format_description::well_known::Rfc3339).ok()
    });
    let days = age.map(|a| (now - a).whole_days());
    let mut text = format!(
        "{shown}: {} records ({}); newest modified {}",
        ix.records_read,
        if counts.is_empty() {
            "none of an ecosystem afk reads".into()
        } else {
            counts.join(", ")
        },
        match (&ix.newest_modified, days) {
            (Some(m), Some(d)) => format!("{} ({d} days ago)", crate::sanitize::one_line(m, 40)),
            _ => "unknown".into(),
        }
    );
    let mut level = Level::Ok;
    if days.is_none_or(|d| d > STALE_DAYS) {
        level = Level::Warn;
        text.push_str(&format!(
            "; older than {STALE_DAYS} days: refresh the folder (docs/security.md#advisories)"
        ));
    }
    if ix.unordered > 0 {
        level = Level::Warn;
        text.push_str(&format!(
            "; {} range events name a version afk cannot order (read as the lowest: those ranges cover more)",
            ix.unordered
        ));
    }
    (level, text)
}

#[cfg(test)]
mod tests;
