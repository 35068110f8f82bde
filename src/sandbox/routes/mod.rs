//! The forge APIs the sandbox serves, one dialect per module, each reading and
//! changing the shared model (`super::model`) and answering in its forge's
//! shapes, with its own paging, errors and auth.

pub(super) mod gitea;
pub(super) mod github;
