// One file: the answers' shapes afk reads (~700 lines), and the table tests of how each is read beside them
//! The shapes of `contracts/azure-devops-7.1-subset.json` afk reads, only
//! the fields it reads. A field a rule needs and the answer lacks is that
//! request's error where the rule says so, never a default that decides:
//! these shapes keep absent as None.

use serde::Deserialize;
use serde_json::{Map, Value};

/// Lists come wrapped, `{"count": n, "value": [...]}`, as the service
/// answers; the 7.1 files describe each list's answer as the bare array,
/// which is taken too. A wrapper without `value` (or with `null`) is empty.
#[derive(Debug)]
pub(super) struct List<T> {
    pub value: Vec<T>,
}

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for List<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let items = match Value::deserialize(d)? {
            Value::Array(a) => Value::Array(a),
            Value::Object(mut o) => match o.remove("value") {
                None | Some(Value::Null) => Value::Array(vec![]),
                Some(v) => v,
            },
            other => {
                return Err(D::Error::custom(format!(
                    "a list is an array or {{\"value\": [...]}}, not {other}"
                )));
            }
        };
        Ok(List {
            value: serde_json::from_value(items).map_err(D::Error::custom)?,
        })
    }
}

/// A field the answer may send as `null`, read as its default, as when it
/// is left out (a fake written in another language, or a field the service
/// sends empty as `null`).
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// An identity's `descriptor`: the `"{identityType};{identifier}"` text the
/// service sends, or the `IdentityDescriptor` object the 7.1 files
/// describe (`identityType`, `identifier`), written as that text.
fn descriptor_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) => Some(s),
        Some(Value::Object(o)) => {
            let part = |k: &str| o.get(k).and_then(Value::as_str).map(str::trim);
            match (part("identityType"), part("identifier")) {
                (Some(t), Some(i)) if !t.is_empty() && !i.is_empty() => Some(format!("{t};{i}")),
                _ => None,
            }
        }
        _ => None,
    })
}

/// `IdentityRef`: an identity as a field, an author or a reviewer: its
/// `id` (what afk decides by) and its `uniqueName` (the login people know).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct IdentityRef {
    #[serde(default, deserialize_with = "nullable")]
    pub id: String,
    #[serde(default)]
    pub unique_name: Option<String>,
}

/// `connectionData`'s account.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ConnectionData {
    pub authenticated_user: ConnectedUser,
}

/// `authenticatedUser`: an `Identity`, its id and its properties.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ConnectedUser {
    pub id: String,
    #[serde(default)]
    pub properties: Option<Map<String, Value>>,
}

impl ConnectedUser {
    /// Its `uniqueName` (`properties.Account.$value`).
    pub fn unique_name(&self) -> Option<&str> {
        account(self.properties.as_ref())
    }
}

/// An identity's `properties.Account.$value`: its `uniqueName` (the UPN).
fn account(properties: Option<&Map<String, Value>>) -> Option<&str> {
    properties
        .and_then(|p| p.get("Account"))
        .and_then(|a| a.get("$value"))
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
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
    #[serde(default, deserialize_with = "nullable")]
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
    #[serde(default, deserialize_with = "nullable")]
    pub fields: Map<String, Value>,
    #[serde(default)]
    pub relations: Option<Vec<Relation>>,
    /// each multi-line field whose text is Markdown, not HTML
    /// (`{"System.Description": "markdown"}`); absent: all HTML
    #[serde(
        default,
        rename = "multilineFieldsFormat",
        deserialize_with = "nullable"
    )]
    pub formats: Map<String, Value>,
}

impl WorkItem {
    /// `System.Description` as the text a person reads: a Markdown one as it
    /// is, an HTML one as its text (`html::to_text`).
    pub fn description(&self) -> Option<String> {
        let text = self.text("System.Description")?;
        Some(match self.is_markdown("System.Description") {
            true => text.to_string(),
            false => afk_wire::azure::html::to_text(text),
        })
    }

    /// Whether multi-line field `name` holds Markdown (the work item's
    /// `multilineFieldsFormat` says so), not HTML.
    pub fn is_markdown(&self, name: &str) -> bool {
        self.formats.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case(name)
                && v.as_str()
                    .is_some_and(|f| f.eq_ignore_ascii_case("markdown"))
        })
    }

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

    /// An identity field as the `IdentityRef` it is (None: absent, or not one).
    pub fn identity_ref(&self, name: &str) -> Option<IdentityRef> {
        let v = self.fields.get(name).filter(|v| v.is_object())?;
        serde_json::from_value(v.clone()).ok()
    }
}

/// `WorkItemRelation`.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Relation {
    #[serde(default, deserialize_with = "nullable")]
    pub rel: String,
    #[serde(default, deserialize_with = "nullable")]
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
    /// When this revision was made: its `System.ChangedDate`'s new value
    /// (each revision sets it). `revisedDate` is when the revision was
    /// superseded (the next one's date; the latest's is 9999-01-01), so it
    /// is taken only when earlier than that end of time and the change does
    /// not say.
    pub fn at(&self) -> Option<String> {
        if let Some((_, Some(new))) = self.change("System.ChangedDate") {
            return Some(new.to_string());
        }
        self.revised_date
            .clone()
            .filter(|d| !d.trim_start().starts_with("9999"))
    }

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
    #[serde(default, deserialize_with = "nullable")]
    pub version: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub text: String,
    pub created_by: IdentityRef,
    #[serde(default)]
    pub created_on_behalf_of: Option<IdentityRef>,
    #[serde(default)]
    pub created_date: Option<String>,
    #[serde(default)]
    pub modified_date: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub is_deleted: bool,
    /// `markdown` or `html` (a comment written in the web's editor)
    #[serde(default)]
    pub format: Option<String>,
}

impl ItemComment {
    /// Its text as people read it: an `html` comment's HTML turned into
    /// text as a work item's description is (what a person does not see, the
    /// agent does not read, and a command is its first line of text, not
    /// `<div>`); a `markdown` one (or one that does not say) as written.
    pub fn body(&self) -> String {
        match self.format.as_deref() {
            Some(f) if f.trim().eq_ignore_ascii_case("html") => {
                afk_wire::azure::html::to_text(&self.text)
            }
            _ => self.text.clone(),
        }
    }
}

/// `CommentList`: a page and the token of the next.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CommentList {
    #[serde(default, deserialize_with = "nullable")]
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
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Identity {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "descriptor_text")]
    pub descriptor: Option<String>,
    #[serde(default)]
    pub is_active: Option<bool>,
    #[serde(default)]
    pub provider_display_name: Option<String>,
    /// a group (its members are who hold what it holds)
    #[serde(default)]
    pub is_container: Option<bool>,
    #[serde(default)]
    pub properties: Option<Map<String, Value>>,
}

impl Identity {
    /// Who it is, for people to read: its `uniqueName` (the UPN,
    /// `properties.Account.$value`), else its display name; one line of at
    /// most 100 characters. Never what trust is decided by.
    pub fn name(&self) -> Option<String> {
        let account = self.unique_name();
        let shown =
            |s: &str| -> String { s.chars().filter(|c| !c.is_control()).take(100).collect() };
        [account, self.provider_display_name.as_deref()]
            .into_iter()
            .flatten()
            .map(shown)
            .find(|n| !n.trim().is_empty())
    }
}

impl Identity {
    /// Its `uniqueName` (`properties.Account.$value`): what a
    /// `trusted_users` entry may name; a display name never.
    pub fn unique_name(&self) -> Option<&str> {
        account(self.properties.as_ref())
    }
}

/// `WorkItemClassificationNode`: an area's node, its `identifier` what
/// the CSS namespace's token names it by.
#[derive(Debug, Deserialize)]
pub(super) struct ClassificationNode {
    #[serde(default)]
    pub identifier: Option<String>,
}

/// `AccessControlList`, with each descriptor's entry.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Acl {
    #[serde(default, deserialize_with = "nullable")]
    pub aces_dictionary: Map<String, Value>,
}

/// `SecurityNamespaceDescription`'s actions.
#[derive(Debug, Deserialize)]
pub(super) struct Namespace {
    #[serde(default, deserialize_with = "nullable")]
    pub actions: Vec<Action>,
}

#[derive(Debug, Clone, Deserialize)]
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
    #[serde(default, deserialize_with = "nullable")]
    pub source_ref_name: String,
    #[serde(default, deserialize_with = "nullable")]
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

/// `GitPullRequestIteration`: what afk reads of one (its id, its head).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Iteration {
    pub id: i64,
    #[serde(default)]
    pub source_ref_commit: Option<CommitRef>,
}

/// `GitPullRequestCommentThread`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Thread {
    pub id: i64,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub is_deleted: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub comments: Vec<PrComment>,
    #[serde(default)]
    pub thread_context: Option<ThreadContext>,
    /// its property bag: each name's `{"$type", "$value"}`
    #[serde(default)]
    pub properties: Option<Value>,
}

impl Thread {
    /// A property's `$value`, as text.
    pub fn property(&self, name: &str) -> Option<String> {
        let v = self.properties.as_ref()?.get(name)?.get("$value")?;
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }
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
    #[serde(default, deserialize_with = "nullable")]
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
    #[serde(default, deserialize_with = "nullable")]
    pub is_deleted: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub users_liked: Vec<IdentityRef>,
}

/// `IdentityRefWithVote`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Reviewer {
    pub id: String,
    #[serde(default)]
    pub unique_name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub vote: i64,
    #[serde(default, deserialize_with = "nullable")]
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

/// `Build`: what names a build validation's run: its definition's name, its
/// `result` and its web page (`_links.web.href`).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Build {
    #[serde(default)]
    pub definition: Option<DefinitionRef>,
    #[serde(default)]
    pub result: Option<String>,
    #[serde(default, rename = "_links")]
    pub links: Option<Value>,
}

/// `DefinitionReference`.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct DefinitionRef {
    #[serde(default)]
    pub name: Option<String>,
}

impl Build {
    /// Its definition's name, when it has one.
    pub fn definition_name(&self) -> Option<&str> {
        self.definition
            .as_ref()
            .and_then(|d| d.name.as_deref())
            .filter(|n| !n.trim().is_empty())
    }

    /// `_links.web.href`: the build's page.
    pub fn web(&self) -> Option<&str> {
        self.links.as_ref()?.get("web")?.get("href")?.as_str()
    }
}

/// `GitMerge`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Merge {
    pub merge_operation_id: i64,
    /// the commits merged, as asked (`GitMergeParameters`): the first is
    /// the head the merge was made from
    #[serde(default)]
    pub parents: Option<Vec<String>>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub detailed_status: Option<Value>,
}

/// `GitCommitRef` as a branch's listing gives it: its id, its `comment`
/// (the message; a list may cut a long one, `commentTruncated`) and the
/// committer's and author's `GitUserDate`s. The author is a name and an
/// email, never an account: no commit names one here.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct GitCommit {
    pub commit_id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub comment: String,
    #[serde(default)]
    pub author: Option<UserDate>,
    #[serde(default)]
    pub committer: Option<UserDate>,
}

/// `GitUserDate`: the date is what afk reads.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct UserDate {
    #[serde(default)]
    pub date: Option<String>,
}

impl GitCommit {
    /// The commit as harvest reads it: the committer's date, else the author's.
    pub fn into_commit(self) -> crate::Commit {
        let date = self
            .committer
            .and_then(|w| w.date)
            .or(self.author.and_then(|w| w.date));
        crate::Commit {
            sha: self.commit_id,
            message: self.comment,
            date,
            author: None,
        }
    }
}

/// `GitCommitDiffs`: a page of what changed between two commits.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CommitDiffs {
    #[serde(default)]
    pub all_changes_included: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    pub changes: Vec<Change>,
}

/// `GitChange`: one item changed, its `changeType` (flags, written
/// `edit, rename` when there are two) and, for a rename, its `originalPath`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Change {
    #[serde(default, deserialize_with = "nullable")]
    pub change_type: String,
    pub item: ChangedItem,
    #[serde(default)]
    pub original_path: Option<String>,
}

/// The `GitItem` a change names: its path (from the root, `/src/a.rs`) and
/// whether it is a folder (`gitObjectType` `tree`, or `isFolder`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ChangedItem {
    #[serde(default, deserialize_with = "nullable")]
    pub path: String,
    #[serde(default)]
    pub git_object_type: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub is_folder: bool,
}

impl Change {
    /// The file as harvest compares it: its paths before and after
    /// (without the leading `/`), by its change type. The service shows no
    /// text of a change, so there is never a patch: nothing here proves a
    /// commit undoes another (`afk_core::undo`). A folder is no file: None.
    pub fn into_diff(self) -> Option<crate::FileDiff> {
        let tree = self
            .item
            .git_object_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("tree"));
        if self.item.is_folder || tree {
            return None;
        }
        let path = |p: &str| p.strip_prefix('/').unwrap_or(p).to_string();
        let now = Some(path(&self.item.path));
        let flags: Vec<String> = self
            .change_type
            .split(',')
            .map(|f| f.trim().to_ascii_lowercase())
            .collect();
        let has = |f: &str| flags.iter().any(|x| x == f);
        let (old_path, new_path) = if has("delete") {
            (now, None)
        } else if has("add") || has("undelete") || has("branch") {
            (None, now)
        } else if has("rename") {
            match self.original_path.as_deref().filter(|p| !p.is_empty()) {
                Some(o) => (Some(path(o)), now),
                // a rename without its source: the file as it is now
                None => (None, now),
            }
        } else {
            (now.clone(), now)
        };
        Some(crate::FileDiff {
            old_path,
            new_path,
            patch: None,
        })
    }
}

/// `GitRefUpdateResult`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RefUpdateResult {
    pub update_status: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_is_read_wrapped_or_bare_and_a_null_is_what_leaving_it_out_is() {
        // (answer, the ids read; None: refused)
        let cases: [(&str, Option<Vec<u64>>); 6] = [
            (
                r#"{"count": 2, "value": [{"id": 1}, {"id": 2}]}"#,
                Some(vec![1, 2]),
            ),
            (r#"[{"id": 3}]"#, Some(vec![3])),
            (r#"{"count": 0}"#, Some(vec![])),
            (r#"{"value": null}"#, Some(vec![])),
            (r#""nothing""#, None),
            (r#"{"value": [{"id": "x"}]}"#, None),
        ];
        for (json, want) in cases {
            let got = serde_json::from_str::<List<ItemRef>>(json)
                .ok()
                .map(|l| l.value.into_iter().map(|i| i.id).collect::<Vec<_>>());
            assert_eq!(got, want, "{json}");
        }
        // a thread whose comments, deleted mark and likes are null reads as
        // one that left them out
        let t: Thread = serde_json::from_str(
            r#"{"id": 7, "isDeleted": null, "comments": [{"id": 1, "author": {"id": "a"}, "isDeleted": null, "usersLiked": null, "parentCommentId": null}]}"#,
        )
        .unwrap();
        assert!(!t.is_deleted);
        assert_eq!(t.comments.len(), 1);
        assert!(t.comments[0].users_liked.is_empty());
    }

    #[test]
    fn a_work_item_comment_in_html_is_read_as_its_text_and_one_in_markdown_as_written() {
        let cases = [
            (
                r#"{"format": "html", "text": "<div>/afk hold</div><div>wait for <b>me</b><span style=\"display:none\">/afk retry</span></div>"}"#,
                "/afk hold\nwait for me",
            ),
            (
                r#"{"format": "markdown", "text": "/afk hold <b>"}"#,
                "/afk hold <b>",
            ),
            (r#"{"text": "a <b> c"}"#, "a <b> c"),
        ];
        for (fields, want) in cases {
            let mut c: Value = serde_json::from_str(fields).unwrap();
            c["id"] = 1.into();
            c["createdBy"] = serde_json::json!({"id": "a"});
            let c: ItemComment = serde_json::from_value(c).unwrap();
            assert_eq!(c.body().trim(), want, "{fields}");
        }
    }

    #[test]
    fn a_revision_is_dated_by_its_changed_date_never_by_the_end_of_time() {
        let cases = [
            (
                r#"{"rev": 2, "revisedBy": {"id": "a"}, "revisedDate": "9999-01-01T00:00:00Z",
                    "fields": {"System.ChangedDate": {"oldValue": "2026-03-01T10:00:00Z", "newValue": "2026-03-02T10:00:00Z"}}}"#,
                Some("2026-03-02T10:00:00Z"),
            ),
            (
                r#"{"rev": 1, "revisedBy": {"id": "a"}, "revisedDate": "2026-03-02T10:00:00Z", "fields": {}}"#,
                Some("2026-03-02T10:00:00Z"),
            ),
            (
                r#"{"rev": 3, "revisedBy": {"id": "a"}, "revisedDate": "9999-01-01T00:00:00Z"}"#,
                None,
            ),
        ];
        for (json, want) in cases {
            let u: Update = serde_json::from_str(json).unwrap();
            assert_eq!(u.at().as_deref(), want, "{json}");
        }
    }

    #[test]
    fn a_descriptor_is_its_text_whether_sent_as_text_or_as_the_described_object() {
        let cases = [
            (
                r#"{"descriptor": "Microsoft.TeamFoundation.Identity;S-1-9-1"}"#,
                Some("Microsoft.TeamFoundation.Identity;S-1-9-1"),
            ),
            (
                r#"{"descriptor": {"identityType": "Microsoft.TeamFoundation.Identity", "identifier": "S-1-9-1"}}"#,
                Some("Microsoft.TeamFoundation.Identity;S-1-9-1"),
            ),
            (
                r#"{"descriptor": {"identityType": "", "identifier": "S-1-9-1"}}"#,
                None,
            ),
            (r#"{"descriptor": null}"#, None),
            (r#"{}"#, None),
        ];
        for (json, want) in cases {
            let who: Identity = serde_json::from_str(json).unwrap();
            assert_eq!(who.descriptor.as_deref(), want, "{json}");
        }
    }

    #[test]
    fn a_listed_commit_is_dated_by_its_committer_then_its_author_and_names_no_account() {
        let cases = [
            (
                r#"{"commitId": "s", "comment": "m", "author": {"name": "a", "email": "a@x", "date": "2026-03-01T10:00:00Z"},
                    "committer": {"name": "c", "email": "c@x", "date": "2026-03-02T10:00:00Z"}}"#,
                Some("2026-03-02T10:00:00Z"),
            ),
            (
                r#"{"commitId": "s", "comment": "m", "author": {"date": "2026-03-01T10:00:00Z"}, "committer": {}}"#,
                Some("2026-03-01T10:00:00Z"),
            ),
            (r#"{"commitId": "s"}"#, None),
        ];
        for (json, date) in cases {
            let w: GitCommit = serde_json::from_str(json).unwrap();
            let c = w.into_commit();
            assert_eq!(
                (c.sha.as_str(), c.date.as_deref(), c.author),
                ("s", date, None),
                "{json}"
            );
        }
    }

    #[test]
    fn a_change_is_a_file_by_its_type_without_a_patch() {
        let s = |x: &str| Some(x.to_string());
        let cases = [
            (
                r#"{"changeType": "add", "item": {"path": "/new.txt", "gitObjectType": "blob"}}"#,
                Some((None, s("new.txt"))),
            ),
            (
                r#"{"changeType": "delete", "item": {"path": "/gone.txt"}}"#,
                Some((s("gone.txt"), None)),
            ),
            (
                r#"{"changeType": "edit", "item": {"path": "/src/a.rs", "gitObjectType": "blob"}}"#,
                Some((s("src/a.rs"), s("src/a.rs"))),
            ),
            (
                r#"{"changeType": "edit, rename", "item": {"path": "/b.txt"}, "originalPath": "/a.txt"}"#,
                Some((s("a.txt"), s("b.txt"))),
            ),
            (
                r#"{"changeType": "rename", "item": {"path": "/b.txt"}}"#,
                Some((None, s("b.txt"))),
            ),
            (
                r#"{"changeType": "edit", "item": {"path": "/src", "gitObjectType": "tree"}}"#,
                None,
            ),
            (
                r#"{"changeType": "add", "item": {"path": "/src", "isFolder": true}}"#,
                None,
            ),
        ];
        for (json, want) in cases {
            let c: Change = serde_json::from_str(json).unwrap();
            let got = c.into_diff().map(|d| {
                assert_eq!(d.patch, None, "{json}");
                (d.old_path, d.new_path)
            });
            assert_eq!(got, want, "{json}");
        }
    }

    #[test]
    fn an_identity_is_its_id_and_its_unique_name_as_each_answer_writes_them() {
        let c: ConnectionData = serde_json::from_str(
            r#"{"authenticatedUser": {"id": "i", "providerDisplayName": "afk",
                "properties": {"Account": {"$type": "System.String", "$value": "Afk@Example.org"}}}}"#,
        )
        .unwrap();
        let u = c.authenticated_user;
        assert_eq!(
            (u.id.as_str(), u.unique_name()),
            ("i", Some("Afk@Example.org"))
        );
        let bare: ConnectedUser = serde_json::from_str(r#"{"id": "i"}"#).unwrap();
        assert_eq!(bare.unique_name(), None);
        let item: WorkItem = serde_json::from_str(
            r#"{"id": 1, "rev": 2, "fields": {
                "System.ChangedBy": {"id": "a", "uniqueName": "alice@example.org", "displayName": "Alice"},
                "System.AuthorizedAs": {"id": "b", "displayName": "Build"},
                "System.Title": "t"}}"#,
        )
        .unwrap();
        let changed = item.identity_ref("System.ChangedBy").unwrap();
        assert_eq!(
            (changed.id.as_str(), changed.unique_name.as_deref()),
            ("a", Some("alice@example.org"))
        );
        let authorized = item.identity_ref("System.AuthorizedAs").unwrap();
        assert_eq!(
            (authorized.id.as_str(), authorized.unique_name),
            ("b", None)
        );
        assert!(item.identity_ref("System.Title").is_none());
        assert!(item.identity_ref("System.CreatedBy").is_none());
    }

    #[test]
    fn a_diff_page_says_whether_it_holds_every_change() {
        let d: CommitDiffs = serde_json::from_str(
            r#"{"allChangesIncluded": false, "changes": [{"changeType": "edit", "item": {"path": "/a"}}], "commonCommit": "x"}"#,
        )
        .unwrap();
        assert_eq!((d.all_changes_included, d.changes.len()), (Some(false), 1));
    }
}
