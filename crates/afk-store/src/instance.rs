//! The state file's own id (`meta.instance`): drawn once, by SQLite's
//! `randomblob`, when the schema reaches it, and kept for the file's life.
//! It names the Kubernetes Jobs and ConfigMaps afk makes (`afk-<id>-…`, label
//! `afk.dev/instance`), so two afk instances sharing a namespace list, adopt
//! and delete only their own.

use super::Store;
use anyhow::Result;

/// Migration 13: one row per key; the instance id is 8 of `0-9a-f`.
pub const SCHEMA: &str = "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO meta (key, value) VALUES ('instance', lower(hex(randomblob(4))));";

impl Store {
    /// This state file's instance id.
    pub fn instance(&self) -> Result<String> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = 'instance'", [], |r| {
                r.get(0)
            })
            .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_state_file_draws_its_own_instance_id_once() {
        let dir = std::env::temp_dir().join(format!("afk-instance-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let a = crate::Store::open(&dir.join("a.db"))
            .unwrap()
            .instance()
            .unwrap();
        let again = crate::Store::open(&dir.join("a.db"))
            .unwrap()
            .instance()
            .unwrap();
        let b = crate::Store::open(&dir.join("b.db"))
            .unwrap()
            .instance()
            .unwrap();
        assert_eq!(a, again, "kept");
        assert_ne!(a, b, "drawn per file");
        assert!(afk_core::kube::is_instance_id(&a), "{a}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
