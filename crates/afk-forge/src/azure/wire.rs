//! The shapes of `contracts/azure-devops-7.1-subset.json` afk reads, only
//! the fields it reads. A field a rule needs and the answer lacks is that
//! request's error where the rule says so (SPEC 2.2.34), never a default
//! that decides: these shapes keep absent as None.

use serde::Deserialize;
use serde_json::{Map, Value};

/// Lists come wrapped: `{"count": n, "value": [...]}`.
#[derive(Debug, Deserialize)]
pub(super) struct List<T> {
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
}

/// `IdentityRef`: an identity as a field, an author or a reviewer.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct IdentityRef {
    #[serde(default)]
    pub id: String,
}

/// `connectionData`'s account.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ConnectionData {
    pub authenticated_user: ConnectedUser,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ConnectedUser {
    pub id: String,
}

/// `TeamProjectReference`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ProjectRef {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub visibility: Option<String>,
}

/// `GitRepository`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Repository {
    pub id: String,
    pub name: String,
    pub project: ProjectRef,
    #[serde(default)]
    pub default_branch: Option<String>,
}

/// `WorkItemQueryResult`: ids only.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct QueryResult {
    #[serde(default)]
    pub work_items: Vec<ItemRef>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ItemRef {
    pub id: u64,
}

/// `WorkItem`: its fields as the service named them.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct WorkItem {
    pub id: u64,
    pub rev: i64,
    #[serde(default)]
    pub fields: Map<String, Value>,
    #[serde(default)]
    pub relations: Option<Vec<Relation>>,
}

impl WorkItem {
    /// A text field (absent or not a string: None).
    pub fn text(&self, name: &str) -> Option<&str> {
        self.fields.get(name).and_then(Value::as_str)
    }

    /// An identity field's `id` (7.1 sends identities as `IdentityRef` objects).
    pub fn identity(&self, name: &str) -> Option<&str> {
        self.fields
            .get(name)
            .and_then(|v| v.get("id"))
            .and_then(Value::as_str)
    }
}

/// `WorkItemRelation`.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Relation {
    #[serde(default)]
    pub rel: String,
    #[serde(default)]
    pub url: String,
}

impl Relation {
    /// The id at the end of a work item's `url` (`.../workItems/42`).
    pub fn item_id(&self) -> Option<u64> {
        self.url.rsplit('/').next()?.parse().ok()
    }
}

/// `WorkItemUpdate`: one revision's field-level changes.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Update {
    pub rev: i64,
    pub revised_by: IdentityRef,
    #[serde(default)]
    pub revised_date: Option<String>,
    #[serde(default)]
    pub fields: Option<Map<String, Value>>,
}

impl Update {
    /// A field's `(oldValue, newValue)` as text, when this update changed it.
    pub fn change(&self, name: &str) -> Option<(Option<&str>, Option<&str>)> {
        let f = self.fields.as_ref()?.get(name)?;
        Some((
            f.get("oldValue").and_then(Value::as_str),
            f.get("newValue").and_then(Value::as_str),
        ))
    }

    pub fn changed(&self, name: &str) -> bool {
        self.fields.as_ref().is_some_and(|f| f.contains_key(name))
    }
}

/// A work-item `Comment`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ItemComment {
    pub id: i64,
    #[serde(default)]
    pub version: i64,
    #[serde(default)]
    pub text: String,
    pub created_by: IdentityRef,
    #[serde(default)]
    pub created_on_behalf_of: Option<IdentityRef>,
    #[serde(default)]
    pub created_date: Option<String>,
    #[serde(default)]
    pub modified_date: Option<String>,
    #[serde(default)]
    pub is_deleted: bool,
}

/// `CommentList`: a page and the token of the next.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CommentList {
    #[serde(default)]
    pub comments: Vec<ItemComment>,
    #[serde(default)]
    pub continuation_token: Option<String>,
}

/// `WorkItemStateColor`: a type's state and its category.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct TypeState {
    pub name: String,
    pub category: String,
}

/// `WorkItemTagDefinition`.
#[derive(Debug, Deserialize)]
pub(super) struct TagDefinition {
    pub name: String,
}

/// An identity read at `vssps_url`.
/// TODO(#86): its `properties.Account.$value` (the UPN) for `trusted_users`
/// entries that name a `uniqueName` (SPEC 2.2.11).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Identity {
    #[serde(default)]
    pub descriptor: Option<String>,
    #[serde(default)]
    pub is_active: Option<bool>,
}

/// `AccessControlList`, with each descriptor's entry.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Acl {
    #[serde(default)]
    pub aces_dictionary: Map<String, Value>,
}

/// `SecurityNamespaceDescription`'s actions.
#[derive(Debug, Deserialize)]
pub(super) struct Namespace {
    #[serde(default)]
    pub actions: Vec<Action>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Action {
    pub name: String,
    pub bit: i64,
}

/// `GitPullRequest`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Pull {
    pub pull_request_id: u64,
    pub status: String,
    pub created_by: IdentityRef,
    #[serde(default)]
    pub source_ref_name: String,
    #[serde(default)]
    pub target_ref_name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub last_merge_source_commit: Option<CommitRef>,
    #[serde(default)]
    pub last_merge_target_commit: Option<CommitRef>,
    #[serde(default)]
    pub last_merge_commit: Option<CommitRef>,
    #[serde(default)]
    pub merge_status: Option<String>,
    #[serde(default)]
    pub closed_date: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CommitRef {
    pub commit_id: String,
}

/// `GitPullRequestCommentThread`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Thread {
    pub id: i64,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub is_deleted: bool,
    #[serde(default)]
    pub comments: Vec<PrComment>,
    #[serde(default)]
    pub thread_context: Option<ThreadContext>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ThreadContext {
    #[serde(default)]
    pub file_path: Option<String>,
    #[serde(default)]
    pub right_file_start: Option<Position>,
    #[serde(default)]
    pub left_file_start: Option<Position>,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct Position {
    pub line: u64,
}

/// A PR thread's `Comment`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PrComment {
    pub id: i64,
    #[serde(default)]
    pub parent_comment_id: i64,
    pub author: IdentityRef,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub published_date: Option<String>,
    #[serde(default)]
    pub last_content_updated_date: Option<String>,
    #[serde(default)]
    pub comment_type: Option<String>,
    #[serde(default)]
    pub is_deleted: bool,
    #[serde(default)]
    pub users_liked: Vec<IdentityRef>,
}

/// `IdentityRefWithVote`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Reviewer {
    pub id: String,
    #[serde(default)]
    pub vote: i64,
    #[serde(default)]
    pub is_container: bool,
}

/// `GitPullRequestStatus` / `GitStatus`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Status {
    pub state: String,
    pub context: StatusContext,
    #[serde(default)]
    pub target_url: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub creation_date: Option<String>,
    #[serde(default)]
    pub iteration_id: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct StatusContext {
    pub name: String,
    #[serde(default)]
    pub genre: Option<String>,
}

/// `PolicyEvaluationRecord`.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Evaluation {
    pub status: String,
    pub configuration: PolicyConfiguration,
    #[serde(default)]
    pub context: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct PolicyConfiguration {
    #[serde(rename = "type")]
    pub kind: PolicyTypeRef,
    #[serde(default)]
    pub settings: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PolicyTypeRef {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
}

/// `GitMerge`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Merge {
    pub merge_operation_id: i64,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub detailed_status: Option<Value>,
}

/// `GitRefUpdateResult`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RefUpdateResult {
    pub update_status: String,
}
