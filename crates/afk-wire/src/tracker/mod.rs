//! Work taken from a tracker beside the forge (docs/trackers.md): Jira
//! Cloud's issues read as afk's ready rule reads a forge's (its changelog
//! as a timeline, its trust from groups and named accounts, its links as
//! blockers), its text (Atlassian Document Format) as the prompt's, and
//! which repository an issue is for; Linear's likewise (its `IssueHistory`
//! as a timeline, its trust from team membership). The forge still hosts the code, the
//! pull request, CI and reviews.

pub mod adf;
pub mod agent_session;
pub mod described;
pub mod jira;
pub mod linear;
pub mod loud;
pub mod map;
pub mod trust;
