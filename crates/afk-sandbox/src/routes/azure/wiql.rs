//! WIQL, the one query shape afk sends and no other: `SELECT [System.Id]
//! FROM WorkItems WHERE` clauses joined by `AND`, each one of
//! `[System.TeamProject] = @project`, `[System.WorkItemType] IN (…)`,
//! `([System.AreaPath] UNDER '…' OR …)`, `[System.Tags] CONTAINS '…'`,
//! `[System.State] NOT IN (…)` and `[System.Id] > N`, then `ORDER BY
//! [System.Id]`; a string's `'` doubled. Anything else is `400`. The
//! answer is ids only (`workItems: [{id, url}]`), at most `$top`.
//! `CONTAINS` on tags matches as text (a tag that merely holds the word
//! matches too), so the client's own whole-tag check is what decides.

use super::sync::tags_of;
use super::{err, org_url, utc};
use crate::http::{Reply, Request};
use crate::model::Forge;
use crate::model::azure::split;
use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Field(String),
    Str(String),
    Num(u64),
    Word(String),
    Param(String),
    Open,
    Close,
    Comma,
    Op(String),
}

fn lex(q: &str) -> Result<Vec<Tok>, String> {
    let c: Vec<char> = q.chars().collect();
    let mut i = 0;
    let mut out = vec![];
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
        } else if ch == '[' {
            let end = c[i..]
                .iter()
                .position(|x| *x == ']')
                .ok_or("an unclosed [")?
                + i;
            out.push(Tok::Field(c[i + 1..end].iter().collect()));
            i = end + 1;
        } else if ch == '\'' {
            let mut s = String::new();
            i += 1;
            loop {
                match c.get(i) {
                    None => return Err("an unclosed string".into()),
                    Some('\'') if c.get(i + 1) == Some(&'\'') => {
                        s.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(x) => {
                        s.push(*x);
                        i += 1;
                    }
                }
            }
            out.push(Tok::Str(s));
        } else if ch == '(' {
            out.push(Tok::Open);
            i += 1;
        } else if ch == ')' {
            out.push(Tok::Close);
            i += 1;
        } else if ch == ',' {
            out.push(Tok::Comma);
            i += 1;
        } else if "=<>".contains(ch) {
            let mut op = ch.to_string();
            if c.get(i + 1).is_some_and(|n| "=>".contains(*n)) {
                op.push(c[i + 1]);
                i += 1;
            }
            out.push(Tok::Op(op));
            i += 1;
        } else if ch == '@' || ch.is_alphanumeric() {
            let start = i;
            i += 1;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            let w: String = c[start..i].iter().collect();
            if let Some(p) = w.strip_prefix('@') {
                out.push(Tok::Param(p.to_lowercase()));
            } else if let Ok(n) = w.parse::<u64>() {
                out.push(Tok::Num(n));
            } else {
                out.push(Tok::Word(w.to_uppercase()));
            }
        } else {
            return Err(format!("an unexpected character {ch:?}"));
        }
    }
    Ok(out)
}

/// What the query asks: each clause's condition.
#[derive(Default, Debug)]
struct Query {
    project: bool,
    types: Option<Vec<String>>,
    areas: Option<Vec<String>>,
    tag: Option<String>,
    not_states: Option<Vec<String>>,
    above: Option<u64>,
}

struct P {
    t: Vec<Tok>,
    i: usize,
}

impl P {
    fn next(&mut self) -> Option<Tok> {
        let t = self.t.get(self.i).cloned();
        self.i += 1;
        t
    }
    fn word(&mut self, w: &str) -> Result<(), String> {
        match self.next() {
            Some(Tok::Word(x)) if x == w => Ok(()),
            other => Err(format!("expected {w}, found {other:?}")),
        }
    }
    fn field(&mut self, f: &str) -> Result<(), String> {
        match self.next() {
            Some(Tok::Field(x)) if x.eq_ignore_ascii_case(f) => Ok(()),
            other => Err(format!("expected [{f}], found {other:?}")),
        }
    }
    fn strings(&mut self) -> Result<Vec<String>, String> {
        if self.next() != Some(Tok::Open) {
            return Err("expected (".into());
        }
        let mut out = vec![];
        loop {
            match self.next() {
                Some(Tok::Str(s)) => out.push(s),
                other => return Err(format!("expected a string, found {other:?}")),
            }
            match self.next() {
                Some(Tok::Comma) => continue,
                Some(Tok::Close) => return Ok(out),
                other => return Err(format!("expected , or ), found {other:?}")),
            }
        }
    }
    fn peek(&self) -> Option<&Tok> {
        self.t.get(self.i)
    }
}

fn parse(q: &str) -> Result<Query, String> {
    let mut p = P { t: lex(q)?, i: 0 };
    p.word("SELECT")?;
    p.field("System.Id")?;
    p.word("FROM")?;
    p.word("WORKITEMS")?;
    p.word("WHERE")?;
    let mut q = Query::default();
    loop {
        match p.next() {
            Some(Tok::Open) => {
                // ([System.AreaPath] UNDER '…' OR …)
                let mut areas = vec![];
                loop {
                    p.field("System.AreaPath")?;
                    p.word("UNDER")?;
                    match p.next() {
                        Some(Tok::Str(s)) => areas.push(s),
                        other => return Err(format!("expected an area path, found {other:?}")),
                    }
                    match p.next() {
                        Some(Tok::Word(w)) if w == "OR" => continue,
                        Some(Tok::Close) => break,
                        other => return Err(format!("expected OR or ), found {other:?}")),
                    }
                }
                q.areas = Some(areas);
            }
            Some(Tok::Field(f)) => match f.to_lowercase().as_str() {
                "system.teamproject" => {
                    if p.next() != Some(Tok::Op("=".into()))
                        || p.next() != Some(Tok::Param("project".into()))
                    {
                        return Err("expected [System.TeamProject] = @project".into());
                    }
                    q.project = true;
                }
                "system.workitemtype" => {
                    p.word("IN")?;
                    q.types = Some(p.strings()?);
                }
                "system.tags" => {
                    p.word("CONTAINS")?;
                    match p.next() {
                        Some(Tok::Str(s)) => q.tag = Some(s),
                        other => return Err(format!("expected a tag, found {other:?}")),
                    }
                }
                "system.state" => {
                    p.word("NOT")?;
                    p.word("IN")?;
                    q.not_states = Some(p.strings()?);
                }
                "system.id" => {
                    if p.next() != Some(Tok::Op(">".into())) {
                        return Err("expected [System.Id] >".into());
                    }
                    match p.next() {
                        Some(Tok::Num(n)) => q.above = Some(n),
                        other => return Err(format!("expected a number, found {other:?}")),
                    }
                }
                other => return Err(format!("the field [{other}] is not one afk queries")),
            },
            other => return Err(format!("expected a condition, found {other:?}")),
        }
        match p.next() {
            Some(Tok::Word(w)) if w == "AND" => continue,
            Some(Tok::Word(w)) if w == "ORDER" => break,
            other => return Err(format!("expected AND or ORDER BY, found {other:?}")),
        }
    }
    p.word("BY")?;
    p.field("System.Id")?;
    if let Some(Tok::Word(w)) = p.peek()
        && w == "ASC"
    {
        p.i += 1;
    }
    if p.peek().is_some() {
        return Err("text after ORDER BY [System.Id]".into());
    }
    if !(q.project
        && q.types.is_some()
        && q.areas.is_some()
        && q.tag.is_some()
        && q.not_states.is_some())
    {
        return Err(
            "the query must name the project, the types, the areas, the tag and the states".into(),
        );
    }
    Ok(q)
}

/// Whether area path `path` is `under` or under it, segment by segment.
fn is_under(path: &str, under: &str) -> bool {
    let p: Vec<String> = path.split('\\').map(str::to_lowercase).collect();
    let u: Vec<String> = under.split('\\').map(str::to_lowercase).collect();
    p.len() >= u.len() && p[..u.len()] == u[..]
}

/// `POST wit/wiql` of `project`.
pub(super) fn query(f: &mut Forge, req: &Request, project: &str) -> Reply {
    let body = req.json().unwrap_or(Value::Null);
    let Some(text) = body["query"].as_str() else {
        return err(
            400,
            "VssPropertyValidationException",
            "The query is required.",
        );
    };
    let q = match parse(text) {
        Ok(q) => q,
        Err(e) => {
            return err(
                400,
                "WorkItemTrackingQueryResultTypeException",
                &format!(
                    "TF51005: The query references a field or shape this sandbox does not serve: {e}."
                ),
            );
        }
    };
    let top = req
        .q("$top")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(20_000)
        .min(20_000);
    let tag = q.tag.clone().unwrap_or_default().to_lowercase();
    let ids: Vec<u64> =
        f.az.items
            .values()
            .filter(|w| split(&w.repo).0.eq_ignore_ascii_case(project))
            .filter(|w| {
                let field = |k: &str| {
                    w.fields
                        .get(k)
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string()
                };
                let ty = field("System.WorkItemType");
                let area = field("System.AreaPath");
                let state = field("System.State");
                q.types
                    .as_ref()
                    .is_some_and(|t| t.iter().any(|x| x.eq_ignore_ascii_case(&ty)))
                    && q.areas
                        .as_ref()
                        .is_some_and(|a| a.iter().any(|u| is_under(&area, u)))
                    && field("System.Tags").to_lowercase().contains(&tag)
                    && !tags_of(&w.fields).is_empty()
                    && q.not_states
                        .as_ref()
                        .is_some_and(|s| !s.iter().any(|x| x.eq_ignore_ascii_case(&state)))
                    && q.above.is_none_or(|n| w.id > n)
            })
            .map(|w| w.id)
            .take(top)
            .collect();
    let at = utc(&f.stamp());
    let url = |id: u64| format!("{}/_apis/wit/workItems/{id}", org_url(f));
    let field = json!({"referenceName": "System.Id", "name": "ID", "url": format!("{}/_apis/wit/fields/System.Id", org_url(f))});
    Reply::json(
        200,
        &json!({"queryType": "flat", "queryResultType": "workItem", "asOf": at,
            "columns": [field], "sortColumns": [{"field": field, "descending": false}],
            "workItems": ids.iter().map(|id| json!({"id": id, "url": url(*id)})).collect::<Vec<_>>()}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_afk_sends_is_read_and_others_are_refused() {
        let q = parse("SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND [System.WorkItemType] IN ('Issue', 'Bug') AND ([System.AreaPath] UNDER 'Fab\\API' OR [System.AreaPath] UNDER 'Fab\\Web''s') AND [System.Tags] CONTAINS 'ready-for-agent' AND [System.State] NOT IN ('Done', 'Removed') AND [System.Id] > 41 ORDER BY [System.Id]").unwrap();
        assert_eq!(q.types.unwrap(), ["Issue", "Bug"]);
        assert_eq!(q.areas.unwrap(), ["Fab\\API", "Fab\\Web's"]);
        assert_eq!(q.tag.as_deref(), Some("ready-for-agent"));
        assert_eq!(q.above, Some(41));
        assert!(parse("SELECT [System.Id] FROM WorkItems WHERE [System.Tags] CONTAINS 'x' ORDER BY [System.Id]").is_err());
        assert!(parse("SELECT [System.Title] FROM WorkItems").is_err());
        assert!(is_under("Fab\\API\\Sub", "fab\\api"));
        assert!(!is_under("Fab\\APIs", "Fab\\API"));
    }
}
