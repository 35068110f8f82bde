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
