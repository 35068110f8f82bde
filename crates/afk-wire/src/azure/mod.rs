//! Azure DevOps' rules, pure: what afk reads from a work item, a revision,
//! an ACL, a vote or a pull request's merge status, and what it writes (a
//! tag list, a WIQL query). The adapter (`afk_forge::azure`) asks and
//! sends; these decide. Re-exported by afk-core as `afk_core::azure`.
//!
//! One job a file: `org` (the organization's URL and its identity service),
//! `area` (area paths: which repository a work item belongs to), `tags`
//! (`System.Tags` read and written), `trust` (who armed, the three identities,
//! the ACL's effective bits, bots), `talk` (votes, thread statuses, merge
//! status, CI states), `wiql` (the poll's query), `policy` (branch policies as doctor reads them), `mention` (what text makes the forge do), `html` (a work item's HTML as a prompt's text), `repo` (a repository's ids kept from its first read, and whether it was renamed).

pub mod area;
pub mod html;
pub mod mention;
pub mod org;
pub mod policy;
pub mod repo;
pub mod tags;
pub mod talk;
pub mod trust;
pub mod wiql;

/// The Git Repositories security namespace (token `repoV2/{project}/{repo}`).
pub const GIT_REPOSITORIES_NAMESPACE: &str = "2e9eb7ed-3c0a-47d4-87c1-0ffdd275fd87";

/// The Project security namespace (`BYPASS_RULES`, token
/// `$PROJECT:vstfs:///Classification/TeamProject/{id}`).
pub const PROJECT_NAMESPACE: &str = "52d39943-cb85-4d7f-8fa8-c6baac873819";

/// The CSS security namespace: area (and iteration) nodes, where
/// `WORK_ITEM_WRITE` lets an identity edit the work items under an area
/// (token [`area::node_token`]).
pub const CSS_NAMESPACE: &str = "83e28ad4-2d72-4ceb-97b0-c7726d5502c3";

/// The build validation policy type.
pub const BUILD_POLICY_TYPE: &str = "0609b952-1397-4640-95ec-e00a01b2c241";

/// The REST version afk speaks everywhere, and the two previews the 7.1
/// descriptions fix for work-item comments and for reactions and policy
/// evaluations.
pub const API_VERSION: &str = "7.1";
pub const COMMENTS_VERSION: &str = "7.1-preview.4";
pub const PREVIEW_1: &str = "7.1-preview.1";

/// The longest pull request description Azure DevOps takes.
pub const DESCRIPTION_MAX: usize = 4000;

/// The fields whose change after the arming is `edited-after-arming`.
pub const EDIT_FIELDS: &[&str] = &[
    "System.Title",
    "System.Description",
    "Microsoft.VSTS.TCM.ReproSteps",
    "Microsoft.VSTS.Common.AcceptanceCriteria",
    "System.AreaPath",
    "System.WorkItemType",
];
