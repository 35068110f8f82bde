//! What a kind's forge may need of the config beside its client (its own
//! module: the profile names each kind's constructor, and a forge that
//! takes a [`Setup`] must not import the profile back).

/// What a kind's forge may need of the config beside its client; the
/// binary fills it from `[forge]` and `[forge.azure_devops]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Setup {
    /// where identities are read (`forge.vssps_url`, its default resolved)
    pub vssps_url: String,
    /// the work-item types afk dispatches
    pub work_item_types: Vec<String>,
    /// the state a work item moves to on success ("": the type's first Completed)
    pub close_state: String,
    /// `(project/repository, area path)` of each allowlisted repository
    pub area_paths: Vec<(String, String)>,
    /// an Entra token's `exp` (Unix seconds, read unverified), for doctor;
    /// None with a PAT
    pub entra_expiry: Option<i64>,
    /// `poll.trusted_users`: on Azure DevOps an entry may be an identity's
    /// id (a GUID), which only the identity read tells (SPEC 2.2.11); a
    /// `uniqueName` is the login there, compared by the core as every
    /// kind's login is
    pub trusted_users: Vec<String>,
}
