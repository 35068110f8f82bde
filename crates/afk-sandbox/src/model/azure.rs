//! Azure DevOps's ways beside the shared model (`routes::azure` serves
//! them): one organization ([`ORG`]) whose projects are the seeded
//! repositories' owners, each repository under an area path of its own
//! (`Project\repo`); work items (the shared model's issues, numbered across
//! the organization) with their revisions, each naming who changed it
//! (`System.ChangedBy`, `revisedBy`) and who was authenticated for the change
//! (`System.AuthorizedAs`); work-item comments; pull requests (the shared
//! model's, numbered apart), their threads, votes, statuses, policy
//! evaluations and builds; identities (users, service principals, build
//! service identities, groups) and access control entries.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The organization the sandbox plays: its URL is `<sandbox>/sandbox`.
pub(crate) const ORG: &str = "sandbox";

/// The Git Repositories security namespace.
pub(crate) const GIT_NS: &str = "2e9eb7ed-3c0a-47d4-87c1-0ffdd275fd87";
/// The Project security namespace (`BYPASS_RULES` is in it).
pub(crate) const PROJECT_NS: &str = "52d39943-cb85-4d7f-8fa8-c6baac873819";
/// The Classification (area path) security namespace, `CSS`.
pub(crate) const CSS_NS: &str = "83e28ad4-2d72-4ceb-97b0-c7726d5502c3";

/// An action of a security namespace: (bit, name, display name).
pub(crate) type Action = (u64, &'static str, &'static str);

/// A security namespace: (id, name, its actions).
pub(crate) type Namespace = (&'static str, &'static str, &'static [Action]);

/// Each namespace's actions.
pub(crate) const NAMESPACES: &[Namespace] = &[
    (
        GIT_NS,
        "Git Repositories",
        &[
            (1, "Administer", "Administer"),
            (2, "GenericRead", "Read"),
            (4, "GenericContribute", "Contribute"),
            (
                8,
                "ForcePush",
                "Force push (rewrite history and delete branches)",
            ),
            (16, "CreateBranch", "Create branch"),
            (32, "CreateTag", "Create tag"),
            (64, "ManageNote", "Manage notes"),
            (128, "PolicyExempt", "Bypass policies when pushing"),
            (256, "CreateRepository", "Create repository"),
            (512, "DeleteRepository", "Delete or disable repository"),
            (1024, "RenameRepository", "Rename repository"),
            (2048, "EditPolicies", "Edit policies"),
            (4096, "RemoveOthersLocks", "Remove others' locks"),
            (8192, "ManagePermissions", "Manage permissions"),
            (
                16384,
                "PullRequestContribute",
                "Contribute to pull requests",
            ),
            (
                32768,
                "PullRequestBypassPolicy",
                "Bypass policies when completing pull requests",
            ),
        ],
    ),
    (
        PROJECT_NS,
        "Project",
        &[
            (1, "GENERIC_READ", "View project-level information"),
            (2, "GENERIC_WRITE", "Edit project-level information"),
            (4, "DELETE", "Delete team project"),
            (8192, "WORK_ITEM_DELETE", "Delete and restore work items"),
            (
                16384,
                "WORK_ITEM_MOVE",
                "Move work items out of this project",
            ),
            (65536, "RENAME", "Rename team project"),
            (1048576, "BYPASS_RULES", "Bypass rules on work item updates"),
            (
                2097152,
                "SUPPRESS_NOTIFICATIONS",
                "Suppress notifications for work item updates",
            ),
        ],
    ),
    (
        CSS_NS,
        "CSS",
        &[
            (1, "GENERIC_READ", "View permissions for this node"),
            (2, "GENERIC_WRITE", "Edit this node"),
            (4, "CREATE_CHILDREN", "Create child nodes"),
            (8, "DELETE", "Delete this node"),
            (16, "WORK_ITEM_READ", "View work items in this node"),
            (32, "WORK_ITEM_WRITE", "Edit work items in this node"),
        ],
    ),
];

/// The bit of action `name` in namespace `ns` (0 when there is none).
pub(crate) fn bit(ns: &str, name: &str) -> u64 {
    NAMESPACES
        .iter()
        .filter(|(id, _, _)| *id == ns)
        .flat_map(|(_, _, a)| a.iter())
        .find(|(_, n, _)| n.eq_ignore_ascii_case(name))
        .map_or(0, |(b, _, _)| *b)
}

/// What Contributors hold on a repository, and Readers.
pub(crate) const CONTRIBUTE: u64 = 2 | 4 | 16 | 32 | 64 | 16384;
pub(crate) const READ: u64 = 2;

/// A GUID drawn from `seed`, the same for the same seed: ids stay put for
/// a sandbox's whole life and across sandboxes seeded alike. Each seed's
/// is drawn once per process (answers look ids up by the hundred).
pub(crate) fn guid(seed: &str) -> String {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static DRAWN: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    let drawn = DRAWN.get_or_init(Default::default);
    if let Some(g) = drawn.lock().unwrap().get(seed) {
        return g.clone();
    }
    let h: String = Sha256::digest(seed.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let g = format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    );
    drawn.lock().unwrap().insert(seed.to_string(), g.clone());
    g
}

/// What kind of identity: what its descriptor says it is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    User,
    ServicePrincipal,
    BuildService,
    Group,
}

impl Kind {
    pub(crate) fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "user" => Kind::User,
            "service_principal" => Kind::ServicePrincipal,
            "build_service" => Kind::BuildService,
            "group" => Kind::Group,
            _ => return None,
        })
    }
}

/// A person, a service principal, a build service identity or a group.
pub(crate) struct Identity {
    pub(crate) id: String,
    /// the login the shared model knows it by (a group's display name)
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) active: bool,
    /// a group's members, by name
    pub(crate) members: Vec<String>,
}

impl Identity {
    /// Its identity descriptor (`type;identifier`), as ACLs key it.
    pub(crate) fn descriptor(&self) -> String {
        match self.kind {
            Kind::User => format!(
                "Microsoft.IdentityModel.Claims.ClaimsIdentity;{}\\{}",
                guid("tenant"),
                self.unique_name()
            ),
            Kind::ServicePrincipal => format!(
                "Microsoft.VisualStudio.Services.Claims.AadServicePrincipal;{}\\{}",
                guid("tenant"),
                self.id
            ),
            Kind::BuildService => format!(
                "Microsoft.TeamFoundation.ServiceIdentity;{}:Build:{}",
                self.id,
                guid("collection")
            ),
            Kind::Group => format!(
                "Microsoft.TeamFoundation.Identity;S-1-9-1551374245-{}",
                u32::from_str_radix(&self.id[..8], 16).unwrap_or(0)
            ),
        }
    }

    /// Its subject descriptor (the Graph's, `aad.…`, `vssgp.…`).
    pub(crate) fn subject(&self) -> String {
        use base64::Engine;
        let prefix = match self.kind {
            Kind::User => "aad",
            Kind::ServicePrincipal => "aadsp",
            Kind::BuildService => "svc",
            Kind::Group => "vssgp",
        };
        let b = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.id.as_bytes());
        format!("{prefix}.{b}")
    }

    pub(crate) fn unique_name(&self) -> String {
        match self.kind {
            Kind::User => format!("{}@sandbox.invalid", self.name),
            _ => self.name.clone(),
        }
    }

    /// As an `IdentityRef` (a field's value, an author, a reviewer).
    pub(crate) fn as_ref(&self, base: &str) -> Value {
        json!({
            "displayName": self.name,
            "id": self.id,
            "uniqueName": self.unique_name(),
            "descriptor": self.subject(),
            "url": format!("{base}/{ORG}/_apis/Identities/{}", self.id),
            "imageUrl": format!("{base}/{ORG}/_api/_common/identityImage?id={}", self.id),
            "isContainer": self.kind == Kind::Group,
            "inactive": !self.active,
        })
    }
}

/// One access control entry: `descriptor` is an identity descriptor.
pub(crate) struct Ace {
    pub(crate) namespace: String,
    pub(crate) token: String,
    pub(crate) descriptor: String,
    pub(crate) allow: u64,
    pub(crate) deny: u64,
}

/// One revision of a work item.
pub(crate) struct Revision {
    pub(crate) rev: u64,
    /// `revisedBy`: the identity id `System.ChangedBy` names
    pub(crate) by: String,
    pub(crate) at: String,
    /// every field after it
    pub(crate) fields: Map<String, Value>,
    /// the fields it changed: (name, old value, new value)
    pub(crate) changed: Vec<(String, Option<Value>, Option<Value>)>,
    /// relations it added
    pub(crate) relations: Vec<Value>,
}

/// A work item: the shared model's issue `(repo, number)`.
pub(crate) struct WorkItem {
    pub(crate) id: u64,
    pub(crate) repo: String,
    pub(crate) number: u64,
    pub(crate) fields: Map<String, Value>,
    pub(crate) relations: Vec<Value>,
    pub(crate) revisions: Vec<Revision>,
    /// how many of the shared issue's label events, renames are in its revisions
    pub(crate) synced_events: usize,
    pub(crate) synced_renames: usize,
    pub(crate) synced_state: String,
    pub(crate) synced_body: String,
    /// how many of the issue's dependencies are Predecessor links already
    pub(crate) synced_deps: usize,
    /// `System.Description` is Markdown (`multilineFieldsFormat`), not HTML
    pub(crate) markdown: bool,
}

impl WorkItem {
    /// Whether its revisions show all of `issue` (the shared model's) yet.
    pub(crate) fn caught_up(&self, issue: &super::Issue) -> bool {
        issue.timeline.len() == self.synced_events
            && issue.renames.len() == self.synced_renames
            && issue.state == self.synced_state
            && issue.body == self.synced_body
            && issue.deps.len() == self.synced_deps
    }
}

/// A work-item comment.
pub(crate) struct ItemComment {
    pub(crate) id: u64,
    pub(crate) item: u64,
    pub(crate) text: String,
    pub(crate) by: String,
    pub(crate) on_behalf: Option<String>,
    pub(crate) created: String,
    pub(crate) modified: String,
    pub(crate) version: u64,
    pub(crate) deleted: bool,
    /// identity ids that liked it
    pub(crate) likes: Vec<String>,
}

/// What a shared review turned into: its pull request, its reviewer's
/// identity, its threads (the body's first, when it has one).
#[derive(Debug, Clone, Default)]
pub(crate) struct ReviewShown {
    pub(crate) pr: u64,
    pub(crate) by: String,
    pub(crate) threads: Vec<u64>,
    /// the thread of its first line comment
    pub(crate) line_thread: Option<u64>,
}

/// The vote a review's `state` names on Azure DevOps, when it names one:
/// `-10`, `-5`, `0`, `5` or `10`.
pub(crate) fn vote_named(state: &str) -> Option<i64> {
    state.trim().parse::<i64>().ok()
}

/// Where a comment of the shared model is shown on Azure DevOps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mirror {
    /// a work-item comment (its id)
    Item(u64),
    /// the first comment of a pull request's thread (the thread's id)
    Thread(u64),
    /// afk's own reply in a pull request's thread (the thread's id, the
    /// comment's): shown in the shared model as a comment of its own
    Reply(u64, u64),
}

/// A pull request's comment thread.
pub(crate) struct Thread {
    pub(crate) id: u64,
    pub(crate) pr: u64,
    pub(crate) status: Option<String>,
    pub(crate) context: Value,
    pub(crate) deleted: bool,
    pub(crate) published: String,
    pub(crate) updated: String,
    pub(crate) comments: Vec<ThreadComment>,
    /// its property bag (`{}`; a vote's: `CodeReviewThreadType`
    /// `VoteUpdate` and `CodeReviewVoteResult`)
    pub(crate) properties: Value,
}

pub(crate) struct ThreadComment {
    pub(crate) id: u64,
    pub(crate) parent: u64,
    pub(crate) by: String,
    pub(crate) content: String,
    /// "text" or "system"
    pub(crate) kind: String,
    pub(crate) published: String,
    pub(crate) content_updated: String,
    pub(crate) updated: String,
    pub(crate) deleted: bool,
    pub(crate) liked: Vec<String>,
}

/// An Azure DevOps pull request over the shared model's (`repo`, `number`).
pub(crate) struct Pr {
    pub(crate) id: u64,
    pub(crate) repo: String,
    pub(crate) number: u64,
    pub(crate) source: String,
    pub(crate) target: String,
    pub(crate) draft: bool,
    pub(crate) created: String,
    pub(crate) created_by: String,
    /// "active", "abandoned", "completed"
    pub(crate) status: String,
    /// when it was completed or abandoned (`closedDate`), the moment it was
    /// (`Forge::stamp`): never its creation's
    pub(crate) closed: Option<String>,
    /// what the next read says (`notSet`, `queued`, `succeeded`, `conflicts`,
    /// `failure`, `rejectedByPolicy`), and what it turns to after that read
    pub(crate) merge_status: String,
    pub(crate) merge_next: Option<String>,
    /// the source's and the target's heads the merge status was last said
    /// for: a push to either queues it again, as the service does
    pub(crate) merge_heads: Option<(String, String)>,
    pub(crate) completion_queued: Option<String>,
    pub(crate) work_items: Vec<u64>,
    /// reviewer identity id -> vote
    pub(crate) votes: BTreeMap<String, i64>,
    /// `GitPullRequestStatus`es posted on it
    pub(crate) statuses: Vec<Value>,
    /// the heads it has had, its iterations' (iteration `i + 1` is the
    /// `i`th): the service makes one a push (`routes::azure::pulls::az_iterations`)
    pub(crate) iterations: Vec<String>,
}

/// A person's change set to land just before the next JSON Patches of a
/// work item through the API (`/_admin/ado/race`): made between the
/// writer's read and its write.
pub(crate) struct Race {
    pub(crate) item: u64,
    /// the identity id that makes it
    pub(crate) by: String,
    pub(crate) add_tags: Vec<String>,
    pub(crate) fields: Vec<(String, Value)>,
    /// how many more patches find one
    pub(crate) times: u32,
}

/// Everything of the dialect's beyond the shared model.
pub(crate) struct AzureSide {
    pub(crate) identities: Vec<Identity>,
    pub(crate) aces: Vec<Ace>,
    pub(crate) items: BTreeMap<u64, WorkItem>,
    /// the work item of each shared-model issue `(repo, number)`: an index
    /// of `items`, so a request's sync does not scan them all for each issue
    pub(crate) of_issue: std::collections::HashMap<String, std::collections::HashMap<u64, u64>>,
    pub(crate) comments: BTreeMap<u64, ItemComment>,
    pub(crate) prs: BTreeMap<u64, Pr>,
    pub(crate) threads: BTreeMap<u64, Thread>,
    /// `PolicyEvaluationRecord`s, by the pull request they evaluate
    pub(crate) evaluations: Vec<(u64, Value)>,
    /// `Build`s by id
    pub(crate) builds: BTreeMap<u64, Value>,
    /// merge operations by id: (repo, `GitMerge`)
    pub(crate) merges: BTreeMap<u64, (String, Value)>,
    /// the next ref update's verdict, instead of carrying it out
    /// (`rejectedByPolicy`, `locked`, ...; `/_admin/ado/ref_verdict`)
    pub(crate) ref_verdict: Option<String>,
    /// merge operations answer `inProgress` to every `GET` while set
    /// (`/_admin/ado/merge_hold`): a merge the service is slow to make
    pub(crate) merge_hold: bool,
    /// the page size of the lists that page by continuation token
    pub(crate) page_size: usize,
    /// `X-RateLimit-Delay` (and `Remaining: 0`) on every answer while set
    pub(crate) delay: Option<f64>,
    /// the notifications delivered so far: (id, event type, payload)
    pub(crate) notifications: Vec<(u64, String, Value)>,
    /// the repositories whose project groups and entries are made
    pub(crate) seeded: Vec<String>,
    /// each repository's collaborators as their groups last took them in
    pub(crate) joined: std::collections::HashMap<String, BTreeMap<String, String>>,
    /// the shared model's comments already shown as work-item comments or
    /// pull-request threads, each with where it is shown: an edit on
    /// either side reaches the other
    pub(crate) mirrored: std::collections::HashMap<i64, Mirror>,
    /// people's changes that land before afk's next patches
    pub(crate) races: Vec<Race>,
    /// the shared admin API's reviews as votes and threads
    /// (`routes/azure/reviews.rs`), by the review's id
    pub(crate) reviews: std::collections::HashMap<i64, ReviewShown>,
    /// the sandbox speaks Azure DevOps: the shared admin calls act here
    pub(crate) on: bool,
}

impl Default for AzureSide {
    fn default() -> AzureSide {
        AzureSide {
            identities: vec![],
            aces: vec![],
            of_issue: std::collections::HashMap::new(),
            joined: std::collections::HashMap::new(),
            items: BTreeMap::new(),
            comments: BTreeMap::new(),
            prs: BTreeMap::new(),
            threads: BTreeMap::new(),
            evaluations: vec![],
            builds: BTreeMap::new(),
            merges: BTreeMap::new(),
            ref_verdict: None,
            merge_hold: false,
            page_size: 100,
            delay: None,
            notifications: vec![],
            seeded: vec![],
            mirrored: std::collections::HashMap::new(),
            races: vec![],
            reviews: std::collections::HashMap::new(),
            on: false,
        }
    }
}

impl AzureSide {
    pub(crate) fn by_name(&self, name: &str) -> Option<&Identity> {
        self.identities
            .iter()
            .find(|i| i.name.eq_ignore_ascii_case(name))
    }

    pub(crate) fn by_id(&self, id: &str) -> Option<&Identity> {
        self.identities
            .iter()
            .find(|i| i.id.eq_ignore_ascii_case(id))
    }

    /// The identity of `name`, a user made for it when it has none: every
    /// login the shared model names is a person of the organization.
    pub(crate) fn ensure(&mut self, name: &str) -> String {
        if let Some(i) = self.by_name(name) {
            return i.id.clone();
        }
        let id = guid(&format!("identity:{name}"));
        self.identities.push(Identity {
            id: id.clone(),
            name: name.to_string(),
            kind: Kind::User,
            active: true,
            members: vec![],
        });
        id
    }

    /// The groups `name` is in, transitively.
    fn groups_of(&self, name: &str) -> Vec<&Identity> {
        let mut out: Vec<&Identity> = vec![];
        let mut frontier = vec![name.to_string()];
        while let Some(n) = frontier.pop() {
            for g in self.identities.iter().filter(|g| {
                g.kind == Kind::Group && g.members.iter().any(|m| m.eq_ignore_ascii_case(&n))
            }) {
                if !out.iter().any(|o| o.id == g.id) {
                    out.push(g);
                    frontier.push(g.name.clone());
                }
            }
        }
        out
    }

    /// The effective (allow, deny) of identity `who` on `token` in `ns`:
    /// its own entries and its groups', on the token and on every token
    /// above it (`a/b` is under `a`); a deny wins over any allow.
    pub(crate) fn effective(&self, ns: &str, token: &str, who: &Identity) -> Option<(u64, u64)> {
        let mut descriptors = vec![who.descriptor()];
        descriptors.extend(self.groups_of(&who.name).iter().map(|g| g.descriptor()));
        let covers = |t: &str| {
            let sep = if ns == GIT_NS { '/' } else { ':' };
            token == t || token.starts_with(&format!("{t}{sep}"))
        };
        let hits: Vec<&Ace> = self
            .aces
            .iter()
            .filter(|a| {
                a.namespace == ns && covers(&a.token) && descriptors.contains(&a.descriptor)
            })
            .collect();
        if hits.is_empty() {
            return None;
        }
        let allow = hits.iter().fold(0, |b, a| b | a.allow);
        let deny = hits.iter().fold(0, |b, a| b | a.deny);
        Some((allow & !deny, deny))
    }

    /// Set (replace) the entry of `descriptor` on `token` in `ns`.
    pub(crate) fn set_ace(
        &mut self,
        ns: &str,
        token: &str,
        descriptor: &str,
        allow: u64,
        deny: u64,
    ) {
        self.aces
            .retain(|a| !(a.namespace == ns && a.token == token && a.descriptor == descriptor));
        self.aces.push(Ace {
            namespace: ns.to_string(),
            token: token.to_string(),
            descriptor: descriptor.to_string(),
            allow,
            deny,
        });
    }

    /// The group `name`, made when it is not there yet.
    pub(crate) fn group(&mut self, name: &str) -> String {
        if let Some(g) = self.by_name(name).filter(|g| g.kind == Kind::Group) {
            return g.id.clone();
        }
        let id = guid(&format!("group:{name}"));
        self.identities.push(Identity {
            id: id.clone(),
            name: name.to_string(),
            kind: Kind::Group,
            active: true,
            members: vec![],
        });
        id
    }

    pub(crate) fn join(&mut self, group: &str, member: &str) {
        self.group(group);
        if let Some(g) = self
            .identities
            .iter_mut()
            .find(|g| g.kind == Kind::Group && g.name == group)
            && !g.members.iter().any(|m| m == member)
        {
            g.members.push(member.to_string());
        }
    }

    /// The next work-item id: `want` when it is free, else one past the highest.
    pub(crate) fn item_id(&self, want: u64) -> u64 {
        if want > 0 && !self.items.contains_key(&want) {
            want
        } else {
            self.items.keys().max().copied().unwrap_or(0) + 1
        }
    }

    /// The pull request over the shared model's `(repo, number)`.
    pub(crate) fn pr_of(&self, repo: &str, number: u64) -> Option<u64> {
        self.prs
            .values()
            .find(|p| p.repo == repo && p.number == number)
            .map(|p| p.id)
    }
}

/// A project's id, a repository's, an area node's: stable GUIDs of their names.
pub(crate) fn project_id(project: &str) -> String {
    guid(&format!("project:{}", project.to_lowercase()))
}

pub(crate) fn repo_id(full: &str) -> String {
    guid(&format!("repo:{}", full.to_lowercase()))
}

pub(crate) fn area_id(path: &str) -> String {
    guid(&format!("area:{}", path.to_lowercase()))
}

/// Whether `full` is a `project/repository` name as Azure DevOps takes
/// one: two segments of 1 to 64 characters, none of `\ / : * ? " < > | ; #
/// $ { } , + = [ ]` or a control character, not starting with `_` or `.`,
/// not ending with `.` (spaces allowed). The sandbox's own reading of
/// Microsoft's naming rules, never the client's.
pub(crate) fn check_name(full: &str) -> Result<(), String> {
    let bad = |s: &str| {
        s.is_empty()
            || s.chars().count() > 64
            || s.starts_with('_')
            || s.starts_with('.')
            || s.ends_with('.')
            || s.chars()
                .any(|c| c.is_control() || "\\/:*?\"<>|;#${},+=[]".contains(c))
    };
    match full.split_once('/') {
        Some((p, r)) if !bad(p) && !bad(r) => Ok(()),
        _ => Err(format!("repo name \"{full}\" is not project/repository")),
    }
}

/// `project/repo` as (project, repo).
pub(crate) fn split(full: &str) -> (&str, &str) {
    full.split_once('/').unwrap_or((full, full))
}

/// A repository's area path: `Project\repo`.
pub(crate) fn area_of(full: &str) -> String {
    let (p, r) = split(full);
    format!("{p}\\{r}")
}

/// The Git Repositories token of a repository: `repoV2/{projectId}/{repoId}`.
pub(crate) fn repo_token(full: &str) -> String {
    format!("repoV2/{}/{}", project_id(split(full).0), repo_id(full))
}

/// The Project namespace's token of a project.
pub(crate) fn project_token(project: &str) -> String {
    format!(
        "$PROJECT:vstfs:///Classification/TeamProject/{}",
        project_id(project)
    )
}

/// The CSS namespace's token of an area node.
pub(crate) fn area_token(area: &str) -> String {
    let project = area.split('\\').next().unwrap_or(area);
    let mut t = format!("vstfs:///Classification/Node/{}", area_id(project));
    if area.contains('\\') {
        t.push_str(&format!(":vstfs:///Classification/Node/{}", area_id(area)));
    }
    t
}
