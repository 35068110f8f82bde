//! Prompt-template versions (SPEC 7.1).

use super::{Store, now};
use anyhow::{Result, bail};
use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, serde::Serialize)]
pub struct TemplateVersion {
    pub id: i64,
    pub name: String,
    pub version: i64,
    pub hash: String,
    pub status: String,
    pub created_at: String,
    #[serde(skip)]
    pub body: String,
}

pub fn content_hash(body: &str) -> String {
    let d = Sha256::digest(body.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

const COLS: &str = "id, name, version, hash, status, created_at, body";

fn row(r: &rusqlite::Row) -> rusqlite::Result<TemplateVersion> {
    Ok(TemplateVersion {
        id: r.get(0)?,
        name: r.get(1)?,
        version: r.get(2)?,
        hash: r.get(3)?,
        status: r.get(4)?,
        created_at: r.get(5)?,
        body: r.get(6)?,
    })
}

impl Store {
    /// Add a version: the first of a name becomes `current`, later ones `candidate`
    /// (or `canary` when asked, replacing no live canary). One transaction.
    pub fn add_template(
        &mut self,
        name: &str,
        body: &str,
        canary: bool,
    ) -> Result<TemplateVersion> {
        let tx = self.conn.transaction()?;
        let last: Option<i64> = tx.query_row(
            "SELECT MAX(version) FROM template_versions WHERE name=?1",
            [name],
            |r| r.get(0),
        )?;
        let version = last.unwrap_or(0) + 1;
        let status = if last.is_none() {
            "current"
        } else if canary {
            let live: Option<i64> = tx
                .query_row(
                    "SELECT version FROM template_versions WHERE name=?1 AND status='canary'",
                    [name],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(v) = live {
                bail!(
                    "template: {name} already has a live canary (version {v}): reject or promote it first"
                );
            }
            "canary"
        } else {
            "candidate"
        };
        let t = now();
        tx.execute(
            "INSERT INTO template_versions (name, version, body, hash, status, created_at, status_at)
             VALUES (?1,?2,?3,?4,?5,?6,?6)",
            params![name, version, body, content_hash(body), status, t],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(self.template_by_id(id)?.expect("just inserted"))
    }

    pub fn template_by_id(&self, id: i64) -> Result<Option<TemplateVersion>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {COLS} FROM template_versions WHERE id=?1"),
                [id],
                row,
            )
            .optional()?)
    }

    pub fn template_version(&self, name: &str, version: i64) -> Result<Option<TemplateVersion>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {COLS} FROM template_versions WHERE name=?1 AND version=?2"),
                params![name, version],
                row,
            )
            .optional()?)
    }

    pub fn template_with_status(
        &self,
        name: &str,
        status: &str,
    ) -> Result<Option<TemplateVersion>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {COLS} FROM template_versions WHERE name=?1 AND status=?2 ORDER BY version DESC LIMIT 1"
                ),
                params![name, status],
                row,
            )
            .optional()?)
    }

    pub fn templates(&self, name: Option<&str>) -> Result<Vec<TemplateVersion>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {COLS} FROM template_versions WHERE (?1 IS NULL OR name=?1) ORDER BY name, version"
        ))?;
        let rows = st.query_map([name], row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Promote by hand: the version becomes current, the old current retired.
    pub fn promote_template(&mut self, name: &str, version: i64) -> Result<()> {
        let tx = self.conn.transaction()?;
        let status: Option<String> = tx
            .query_row(
                "SELECT status FROM template_versions WHERE name=?1 AND version=?2",
                params![name, version],
                |r| r.get(0),
            )
            .optional()?;
        match status.as_deref() {
            None => bail!("template: {name}@{version} does not exist"),
            Some("current") => return Ok(()),
            Some("rejected") | Some("retired") => {
                bail!(
                    "template: {name}@{version} is {} and cannot be promoted",
                    status.unwrap()
                )
            }
            _ => {}
        }
        let t = now();
        tx.execute(
            "UPDATE template_versions SET status='retired', status_at=?2 WHERE name=?1 AND status='current'",
            params![name, t],
        )?;
        tx.execute(
            "UPDATE template_versions SET status='current', status_at=?3 WHERE name=?1 AND version=?2",
            params![name, version, t],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn reject_template(&mut self, name: &str, version: i64) -> Result<()> {
        let tx = self.conn.transaction()?;
        let status: Option<String> = tx
            .query_row(
                "SELECT status FROM template_versions WHERE name=?1 AND version=?2",
                params![name, version],
                |r| r.get(0),
            )
            .optional()?;
        match status.as_deref() {
            None => bail!("template: {name}@{version} does not exist"),
            Some("current") => {
                bail!("template: {name}@{version} is current; promote another version first")
            }
            Some("rejected") => return Ok(()),
            _ => {}
        }
        tx.execute(
            "UPDATE template_versions SET status='rejected', status_at=?3 WHERE name=?1 AND version=?2",
            params![name, version, now()],
        )?;
        tx.commit()?;
        Ok(())
    }
}
