//! The store's caches as the forge's ports: the state file's `etags` table
//! is the forge's [`ConditionalCache`], its `app_tokens` table the GitHub
//! App's [`TokenKeeper`]. Here, at the edges, because the store names no
//! forge and the forge names no store.

use crate::forge::app::TokenKeeper;
use crate::forge::http::{Cached, ConditionalCache};
use crate::store::app_tokens::TokenFile;
use crate::store::etags::EtagCache;
use std::path::Path;
use time::OffsetDateTime;

/// The state file's `etags` table as the client's cache (a wrapper: the
/// trait is `afk-http`'s and the table `afk-store`'s, and neither crate
/// names the other). Written when dropped at the end of the tick.
pub struct Etags(pub EtagCache);

impl ConditionalCache for Etags {
    fn get(&self, url: &str) -> Option<Cached> {
        self.0.get(url)
    }
    fn put(&self, url: &str, entry: Cached) {
        self.0.put(url, entry)
    }
}

/// The state file's `app_tokens` table as the app's keeper (a wrapper, as
/// [`Etags`]: the trait is `afk-forge`'s, the table `afk-store`'s).
pub struct Tokens(pub TokenFile);

impl TokenKeeper for Tokens {
    fn load(&self, app_id: u64, installation_id: u64) -> Option<(String, OffsetDateTime)> {
        self.0.load(app_id, installation_id)
    }
    fn save(&self, app_id: u64, installation_id: u64, token: &str, expires_at: OffsetDateTime) {
        self.0.save(app_id, installation_id, token, expires_at)
    }
}

/// The keeper for a tick on the state file at `path`.
pub fn keeper(path: &Path, dry_run: bool) -> Box<dyn TokenKeeper> {
    Box::new(Tokens(TokenFile {
        path: path.to_path_buf(),
        dry_run,
    }))
}
