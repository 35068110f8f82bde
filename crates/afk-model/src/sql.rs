//! How the model's values are stored in SQLite (the `sqlite` feature, which
//! only the binary's store turns on): ids and numbers as integers, states as
//! their names. Here because Rust lets only a type's own crate implement
//! rusqlite's traits for it; the core never turns the feature on.

use crate::lesson::{Attribution, LessonSource, LessonStatus, TargetDomain};
use crate::stamp::Timestamp;
use crate::{IssueNumber, PrNumber, RepoName, RunId, RunStatus, RunnerKind, VersionStatus};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

impl ToSql for RunId {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.0))
    }
}

impl FromSql for RunId {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        v.as_i64().map(RunId)
    }
}

impl ToSql for IssueNumber {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        i64::try_from(self.0)
            .map(ToSqlOutput::from)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
    }
}

impl FromSql for IssueNumber {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        let n = v.as_i64()?;
        u64::try_from(n)
            .map(IssueNumber)
            .map_err(|_| FromSqlError::OutOfRange(n))
    }
}

impl ToSql for PrNumber {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        i64::try_from(self.0)
            .map(ToSqlOutput::from)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
    }
}

impl FromSql for PrNumber {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        IssueNumber::column_result(v).map(|n| PrNumber(n.0))
    }
}

/// Stored as its text; read back through [`RepoName::parse_any`] (a GitLab
/// project's nested path too), so a row edited by hand into something that
/// is no forge's repository name is an error, never a URL.
impl ToSql for RepoName {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for RepoName {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        RepoName::parse_any(v.as_str()?).map_err(|e| FromSqlError::Other(e.into()))
    }
}

impl ToSql for RunStatus {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for RunStatus {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        let s = v.as_str()?;
        RunStatus::parse(s)
            .ok_or_else(|| FromSqlError::Other(format!("unknown run state \"{s}\"").into()))
    }
}

impl ToSql for VersionStatus {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for VersionStatus {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        let s = v.as_str()?;
        VersionStatus::parse(s)
            .ok_or_else(|| FromSqlError::Other(format!("unknown template status \"{s}\"").into()))
    }
}

/// Stored as RFC 3339 text with whole seconds (`ts`); read from any RFC 3339.
impl ToSql for Timestamp {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.text()))
    }
}

impl FromSql for Timestamp {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        let s = v.as_str()?;
        Timestamp::parse(s)
            .ok_or_else(|| FromSqlError::Other(format!("not an RFC 3339 time: \"{s}\"").into()))
    }
}

impl ToSql for RunnerKind {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for RunnerKind {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        let s = v.as_str()?;
        RunnerKind::parse(s).ok_or_else(|| {
            FromSqlError::Other(
                format!("\"{s}\" is not one of {}", RunnerKind::NAMES.join(", ")).into(),
            )
        })
    }
}

/// The lessons journal's closed columns, stored as their names; a name the
/// type does not know (a row another program wrote) is an error naming it.
macro_rules! by_name {
    ($($t:ident => $what:literal),+ $(,)?) => {$(
        impl ToSql for $t {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $t {
            fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
                let s = v.as_str()?;
                $t::parse(s).ok_or_else(|| {
                    FromSqlError::Other(
                        format!(
                            "\"{s}\" is not a lesson {} (afk knows {})",
                            $what,
                            $t::NAMES.join(", ")
                        )
                        .into(),
                    )
                })
            }
        }
    )+};
}

by_name! {
    LessonSource => "source",
    LessonStatus => "status",
    Attribution => "attribution",
    TargetDomain => "target domain",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_repo_name_reads_back_only_when_it_parses() {
        let db = rusqlite::Connection::open_in_memory().unwrap();
        for text in ["acme/api", "acme/platform/api"] {
            let name = RepoName::parse_any(text).unwrap();
            let back: RepoName = db.query_row("SELECT ?1", [&name], |r| r.get(0)).unwrap();
            assert_eq!(back, name);
        }
        for text in ["x/..", "noslash", "", "a//b", "http://x/y"] {
            let got = db.query_row("SELECT ?1", [text], |r| r.get::<_, RepoName>(0));
            assert!(got.is_err(), "{text:?}");
        }
    }
}
