//! A tracker's issues as afk reads them (Jira Cloud, REST v3): the shapes
//! the adapter reads from the wire and the core decides on. Field names are
//! Jira's own (docs/fidelity/jira-cloud.md); a field afk needs that the
//! answer lacks is the adapter's error, never a default.

use serde::Deserialize;

/// Who made a change or an issue: an Atlassian account (`accountId`, opaque,
/// never parsed). Only the fields afk decides on.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JiraAccount {
    pub account_id: String,
    /// `atlassian`, `app`, `customer` or `unknown` (absent on a changelog
    /// author in some answers: then it is looked up)
    #[serde(default)]
    pub account_type: Option<String>,
    #[serde(default)]
    pub active: Option<bool>,
}

/// One item of a changelog entry: which field, from what, to what.
/// `fieldId` is absent for a move's `Key` and `Workflow` items.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JiraChangeItem {
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub field_id: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub from_string: Option<String>,
    #[serde(default)]
    pub to_string: Option<String>,
}

/// One changelog entry (`GET /rest/api/3/issue/{id}/changelog`). Its
/// `historyMetadata` (written by whoever calls the API) is not read at all.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct JiraChange {
    pub id: String,
    /// absent for an anonymous change
    #[serde(default)]
    pub author: Option<JiraAccount>,
    pub created: String,
    #[serde(default)]
    pub items: Vec<JiraChangeItem>,
}

/// A Linear user as `user(id:)`, `viewer` or a membership answers it: the
/// fields the trust rule reads (docs/fidelity/linear.md). An id is a UUID,
/// opaque, never parsed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LinearUser {
    pub id: String,
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    pub guest: Option<bool>,
    /// an app user (an OAuth app installed with `actor=app`, an integration)
    #[serde(default)]
    pub app: Option<bool>,
}

/// A reference to a Linear object by its id alone (`actor { id }`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LinearRef {
    pub id: String,
}

/// One `IssueHistory` entry: one actor's changes within Linear's grouping
/// window. A field Linear leaves out of an entry that does not touch it
/// comes as `null` (`addedLabelIds: null`, not `[]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct LinearHistory {
    pub id: String,
    pub created_at: String,
    /// null for an integration, an automation or a system change
    pub actor: Option<LinearRef>,
    /// set when a bot made the change (`type`: github, slack, workflow, ai…)
    pub bot_actor: Option<LinearBot>,
    pub added_label_ids: Option<Vec<String>>,
    pub removed_label_ids: Option<Vec<String>>,
    pub from_title: Option<String>,
    pub to_title: Option<String>,
    pub updated_description: Option<bool>,
    /// who edited the description in this entry's window
    pub description_updated_by: Option<Vec<LinearRef>>,
    pub from_team_id: Option<String>,
    pub to_team_id: Option<String>,
    pub from_project_id: Option<String>,
    pub to_project_id: Option<String>,
    pub from_state_id: Option<String>,
    pub to_state_id: Option<String>,
    pub from_delegate: Option<LinearRef>,
    pub to_delegate: Option<LinearRef>,
}

/// A bot that made a change (`ActorBot`): its `type` (github, slack,
/// workflow, ai…), said in reasons, never trusted.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(default)]
pub struct LinearBot {
    #[serde(rename = "type")]
    pub kind: Option<String>,
}
