//! The GitHub App the sandbox knows, and the installation tokens it handed
//! out (`routes/github/app.rs` serves the App's side of the API with it).

/// The app the sandbox knows, and the installation tokens it handed out.
pub(crate) struct AppSide {
    pub(crate) id: u64,
    pub(crate) slug: String,
    pub(crate) installation_id: u64,
    pub(crate) account: String,
    /// the RSA public key (PKCS#1 DER) JWTs are checked against
    pub(crate) public_key: Vec<u8>,
    /// seconds an installation token lives (GitHub: one hour)
    pub(crate) lifetime: i64,
    /// added to the wall clock when checking JWTs and expiries (a test that
    /// pins afk's clock later pins the sandbox's the same way)
    pub(crate) clock_offset: i64,
    /// repos in the installation; None: all ("repository_selection": "all")
    pub(crate) repos: Option<Vec<String>>,
    /// (token, expires at, revoked)
    pub(crate) tokens: Vec<(String, i64, bool)>,
    pub(crate) exchanges: u64,
}
