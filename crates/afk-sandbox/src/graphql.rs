//! A small GraphQL reader for the sandbox's Linear dialect: a request's
//! document parsed (one operation, fields with arguments and aliases; no
//! fragments, which afk never sends and the sandbox refuses), checked
//! against the schema Linear publishes (the contract's cut of it:
//! `tests/contracts/linear-subset.graphql`), and an answer cut to the
//! selection, connections paged by `first`/`after` as Linear pages them.
//! A field the schema does not have is refused as Linear refuses it
//! (docs/fidelity/linear.md); a type the contract's cut left out may be
//! asked only for its `id` (every Linear entity is a `Node`).

use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// One selected field.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub alias: Option<String>,
    pub args: Vec<(String, Val)>,
    pub sel: Vec<Field>,
}

impl Field {
    /// The argument `name`, its variables filled in.
    pub fn arg(&self, name: &str, vars: &Value) -> Value {
        self.args
            .iter()
            .find(|(n, _)| n == name)
            .map_or(Value::Null, |(_, v)| v.value(vars))
    }
    /// The key the answer carries it under.
    pub fn key(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.name)
    }
}

/// An argument's value as written.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Var(String),
    Lit(Value),
    List(Vec<Val>),
    Obj(Vec<(String, Val)>),
}

impl Val {
    /// The value, a variable read from `vars` (absent: null).
    pub fn value(&self, vars: &Value) -> Value {
        match self {
            Val::Var(n) => vars.get(n).cloned().unwrap_or(Value::Null),
            Val::Lit(v) => v.clone(),
            Val::List(l) => Value::Array(l.iter().map(|v| v.value(vars)).collect()),
            Val::Obj(o) => Value::Object(
                o.iter()
                    .map(|(k, v)| (k.clone(), v.value(vars)))
                    .collect::<Map<_, _>>(),
            ),
        }
    }
}

/// A parsed operation: `query` or `mutation`, and its root fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub mutation: bool,
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Name(String),
    Str(String),
    Num(String),
    Punct(char),
    Spread,
}

fn tokens(src: &str) -> Result<Vec<Tok>, String> {
    let c: Vec<char> = src.chars().collect();
    let mut i = 0;
    let mut out = vec![];
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() || ch == ',' || ch == '\u{feff}' {
            i += 1;
        } else if ch == '#' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '"' && c.get(i + 1) == Some(&'"') && c.get(i + 2) == Some(&'"') {
            let start = i + 3;
            i = start;
            while i + 2 < c.len() && !(c[i] == '"' && c[i + 1] == '"' && c[i + 2] == '"') {
                i += 1;
            }
            out.push(Tok::Str(c[start..i.min(c.len())].iter().collect()));
            i += 3;
        } else if ch == '"' {
            let mut s = String::new();
            i += 1;
            loop {
                match c.get(i) {
                    None | Some('\n') => return Err("an unterminated string".into()),
                    Some('"') => break,
                    Some('\\') => {
                        let e = c.get(i + 1).copied().unwrap_or('\\');
                        s.push(match e {
                            'n' => '\n',
                            't' => '\t',
                            other => other,
                        });
                        i += 2;
                    }
                    Some(x) => {
                        s.push(*x);
                        i += 1;
                    }
                }
            }
            i += 1;
            out.push(Tok::Str(s));
        } else if ch == '.' && c.get(i + 1) == Some(&'.') && c.get(i + 2) == Some(&'.') {
            out.push(Tok::Spread);
            i += 3;
        } else if ch.is_ascii_alphabetic() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_ascii_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push(Tok::Name(c[start..i].iter().collect()));
        } else if ch.is_ascii_digit() || ch == '-' {
            let start = i;
            i += 1;
            while i < c.len()
                && (c[i].is_ascii_digit() || matches!(c[i], '.' | 'e' | 'E' | '+' | '-'))
            {
                i += 1;
            }
            out.push(Tok::Num(c[start..i].iter().collect()));
        } else if "{}()[]:!$=@|&".contains(ch) {
            out.push(Tok::Punct(ch));
            i += 1;
        } else {
            return Err(format!("Syntax Error: Unexpected character \"{ch}\""));
        }
    }
    Ok(out)
}

struct Reader {
    t: Vec<Tok>,
    at: usize,
}

impl Reader {
    fn peek(&self) -> Option<&Tok> {
        self.t.get(self.at)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.t.get(self.at).cloned();
        self.at += 1;
        t
    }
    fn is(&self, p: char) -> bool {
        self.peek() == Some(&Tok::Punct(p))
    }
    fn expect(&mut self, p: char) -> Result<(), String> {
        match self.next() {
            Some(Tok::Punct(q)) if q == p => Ok(()),
            other => Err(format!("Syntax Error: Expected \"{p}\", found {other:?}")),
        }
    }
    fn name(&mut self) -> Result<String, String> {
        match self.next() {
            Some(Tok::Name(n)) => Ok(n),
            other => Err(format!("Syntax Error: Expected Name, found {other:?}")),
        }
    }

    fn value(&mut self) -> Result<Val, String> {
        match self.next() {
            Some(Tok::Punct('$')) => Ok(Val::Var(self.name()?)),
            Some(Tok::Str(s)) => Ok(Val::Lit(Value::String(s))),
            Some(Tok::Num(n)) => Ok(Val::Lit(
                serde_json::from_str(&n).map_err(|_| format!("Syntax Error: bad number {n}"))?,
            )),
            Some(Tok::Name(n)) => Ok(Val::Lit(match n.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" => Value::Null,
                _ => Value::String(n),
            })),
            Some(Tok::Punct('[')) => {
                let mut l = vec![];
                while !self.is(']') {
                    l.push(self.value()?);
                }
                self.expect(']')?;
                Ok(Val::List(l))
            }
            Some(Tok::Punct('{')) => {
                let mut o = vec![];
                while !self.is('}') {
                    let k = self.name()?;
                    self.expect(':')?;
                    o.push((k, self.value()?));
                }
                self.expect('}')?;
                Ok(Val::Obj(o))
            }
            other => Err(format!("Syntax Error: Unexpected {other:?}")),
        }
    }

    fn selection(&mut self) -> Result<Vec<Field>, String> {
        self.expect('{')?;
        let mut out = vec![];
        while !self.is('}') {
            if self.peek() == Some(&Tok::Spread) {
                return Err("the sandbox takes no fragments (afk sends none)".into());
            }
            let first = self.name()?;
            let (alias, name) = match self.is(':') {
                true => {
                    self.next();
                    (Some(first), self.name()?)
                }
                false => (None, first),
            };
            let mut args = vec![];
            if self.is('(') {
                self.next();
                while !self.is(')') {
                    let k = self.name()?;
                    self.expect(':')?;
                    args.push((k, self.value()?));
                }
                self.expect(')')?;
            }
            if self.is('@') {
                return Err("the sandbox takes no directives (afk sends none)".into());
            }
            let sel = match self.is('{') {
                true => self.selection()?,
                false => vec![],
            };
            out.push(Field {
                name,
                alias,
                args,
                sel,
            });
        }
        self.expect('}')?;
        Ok(out)
    }
}

/// Parse a request's document: one operation (`query`, `mutation` or a
/// bare selection), its variable definitions read past.
pub fn parse(doc: &str) -> Result<Operation, String> {
    let mut r = Reader {
        t: tokens(doc)?,
        at: 0,
    };
    let mutation = match r.peek() {
        Some(Tok::Name(n)) if n == "mutation" => true,
        Some(Tok::Name(n)) if n == "query" => false,
        Some(Tok::Name(n)) => return Err(format!("the sandbox takes no {n} operation")),
        _ => false,
    };
    if !r.is('{') {
        r.next();
        if let Some(Tok::Name(_)) = r.peek() {
            r.next();
        }
        if r.is('(') {
            let mut depth = 0;
            while let Some(t) = r.next() {
                match t {
                    Tok::Punct('(') => depth += 1,
                    Tok::Punct(')') => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    let fields = r.selection()?;
    if r.peek().is_some() {
        return Err("the sandbox takes one operation a request".into());
    }
    Ok(Operation { mutation, fields })
}

/// A field's definition: the named type it returns, and its arguments.
#[derive(Debug, Clone)]
pub struct FieldDef {
    pub ty: String,
    pub args: Vec<String>,
}

/// The object types (and input types) of a schema, by name.
#[derive(Debug, Default)]
pub struct Schema {
    pub types: HashMap<String, HashMap<String, FieldDef>>,
}

/// A type reference's named type (`[Issue!]!` is `Issue`).
fn type_ref(r: &mut Reader) -> Result<String, String> {
    let named = match r.is('[') {
        true => {
            r.next();
            let n = type_ref(r)?;
            r.expect(']')?;
            n
        }
        false => r.name()?,
    };
    if r.is('!') {
        r.next();
    }
    Ok(named)
}

/// Read past a directive's use (`@deprecated(reason: "…")`).
fn skip_directives(r: &mut Reader) -> Result<(), String> {
    while r.is('@') {
        r.next();
        r.name()?;
        if r.is('(') {
            r.next();
            while !r.is(')') {
                r.name()?;
                r.expect(':')?;
                r.value()?;
            }
            r.expect(')')?;
        }
    }
    Ok(())
}

/// Read a schema in SDL: its `type` and `input` definitions' fields;
/// enums, unions, scalars and the rest are read past.
pub fn schema(sdl: &str) -> Result<Schema, String> {
    let mut r = Reader {
        t: tokens(sdl)?,
        at: 0,
    };
    let mut out = Schema::default();
    while let Some(t) = r.next() {
        let Tok::Name(kw) = t else { continue };
        if !matches!(kw.as_str(), "type" | "input" | "interface") {
            continue;
        }
        let name = r.name()?;
        while !r.is('{') {
            if r.next().is_none() {
                return Err(format!("{name}: no fields"));
            }
        }
        r.next();
        let mut fields = HashMap::new();
        while !r.is('}') {
            if let Some(Tok::Str(_)) = r.peek() {
                r.next();
                continue;
            }
            let f = r.name()?;
            let mut args = vec![];
            if r.is('(') {
                r.next();
                while !r.is(')') {
                    if let Some(Tok::Str(_)) = r.peek() {
                        r.next();
                        continue;
                    }
                    args.push(r.name()?);
                    r.expect(':')?;
                    type_ref(&mut r)?;
                    if r.is('=') {
                        r.next();
                        r.value()?;
                    }
                    skip_directives(&mut r)?;
                }
                r.expect(')')?;
            }
            r.expect(':')?;
            let ty = type_ref(&mut r)?;
            if r.is('=') {
                r.next();
                r.value()?;
            }
            skip_directives(&mut r)?;
            fields.insert(f, FieldDef { ty, args });
        }
        r.next();
        out.types.insert(name, fields);
    }
    Ok(out)
}

impl Schema {
    /// Check an operation's fields and arguments against the schema, as
    /// Linear's validation does before anything runs: the first field or
    /// argument it does not have, in Linear's words.
    pub fn check(&self, op: &Operation) -> Result<(), String> {
        let root = if op.mutation { "Mutation" } else { "Query" };
        if !self.types.contains_key(root) {
            return Err(format!(
                "Schema is not configured to execute {} operation.",
                root.to_lowercase()
            ));
        }
        self.check_sel(root, &op.fields)
    }

    fn check_sel(&self, ty: &str, sel: &[Field]) -> Result<(), String> {
        let Some(fields) = self.types.get(ty) else {
            // a type the contract's cut left out: its id alone
            return match sel.iter().find(|f| f.name != "id") {
                Some(f) => Err(format!(
                    "the contract's cut has no type {ty}: the sandbox answers only its id, not \"{}\"",
                    f.name
                )),
                None => Ok(()),
            };
        };
        for f in sel {
            if f.name == "__typename" {
                continue;
            }
            let Some(def) = fields.get(&f.name) else {
                return Err(format!(
                    "Cannot query field \"{}\" on type \"{ty}\".",
                    f.name
                ));
            };
            if let Some((a, _)) = f.args.iter().find(|(a, _)| !def.args.contains(a)) {
                return Err(format!(
                    "Unknown argument \"{a}\" on field \"{ty}.{}\".",
                    f.name
                ));
            }
            if !f.sel.is_empty() {
                self.check_sel(&def.ty, &f.sel)?;
            }
        }
        Ok(())
    }
}

/// Cut `v` to the selection: each field under its alias; a connection
/// (`{"nodes": [...]}`) paged by `first` (50 when absent, as Linear) and
/// `after` (the cursor of the last node of the page before) with its
/// `pageInfo`. A field the sandbox's object does not hold is the
/// sandbox's own gap, said.
pub fn project(v: &Value, sel: &[Field], vars: &Value) -> Result<Value, String> {
    if sel.is_empty() {
        return Ok(v.clone());
    }
    match v {
        Value::Null => Ok(Value::Null),
        Value::Array(a) => a
            .iter()
            .map(|x| project(x, sel, vars))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Value::Object(o) => {
            let mut out = Map::new();
            for f in sel {
                let got = match o.get(&f.name) {
                    Some(x) => x,
                    None => return Err(format!("the sandbox holds no \"{}\" here", f.name)),
                };
                out.insert(f.key().to_string(), answer(got, f, vars)?);
            }
            Ok(Value::Object(out))
        }
        other => Ok(other.clone()),
    }
}

/// Field `f`'s value `v` as the answer carries it: a connection paged,
/// then cut to `f`'s selection.
pub fn answer(v: &Value, f: &Field, vars: &Value) -> Result<Value, String> {
    let v = match v.get("nodes").and_then(Value::as_array) {
        Some(nodes) => page(nodes, f, vars)?,
        None => v.clone(),
    };
    project(&v, &f.sel, vars)
}

/// One page of a connection's nodes: cursors are the nodes' ids.
fn page(nodes: &[Value], f: &Field, vars: &Value) -> Result<Value, String> {
    let first = match f.arg("first", vars) {
        Value::Null => 50,
        n => n.as_u64().ok_or("first must be an Int")? as usize,
    };
    let from = match f.arg("after", vars) {
        Value::String(c) => {
            nodes
                .iter()
                .position(|n| n["id"].as_str() == Some(c.as_str()))
                .ok_or(format!(
                    "Argument Validation Error: cursor {c} is not a node here"
                ))?
                + 1
        }
        _ => 0,
    };
    let to = (from + first).min(nodes.len());
    let slice = &nodes[from.min(to)..to];
    Ok(json!({
        "nodes": slice,
        "pageInfo": {
            "hasNextPage": to < nodes.len(),
            "hasPreviousPage": from > 0,
            "startCursor": slice.first().map(|n| n["id"].clone()),
            "endCursor": slice.last().map(|n| n["id"].clone()),
        },
    }))
}

/// A logged request as the ledger check reads it: its method and path, and
/// a GraphQL request's query, whose root fields are its endpoints (no
/// other body).
pub(crate) fn brief(r: &serde_json::Value) -> serde_json::Value {
    let mut b = serde_json::json!({"method": r["method"], "path": r["path"]});
    if r["path"] == "/linear/graphql" {
        b["body"] = serde_json::json!({"query": r["body"]["query"]});
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDL: &str = r#"
"""A doc."""
type Query {
  """The issue."""
  issue(
    "its id"
    id: String!
  ): Issue!
  viewer: User!
}
type Issue implements Node {
  id: ID!
  labels(first: Int, after: String): IssueLabelConnection!
  project: Project
  state: String @deprecated(reason: "no")
}
type IssueLabelConnection { nodes: [IssueLabel!]! pageInfo: PageInfo! }
type IssueLabel { id: ID! name: String! }
type PageInfo { hasNextPage: Boolean! endCursor: String }
enum X { A B }
"#;

    /// The rule "a field or argument the schema lacks is refused in
    /// Linear's words; a type the cut left out answers its id alone".
    #[test]
    fn a_query_is_checked_against_the_published_schema() {
        let s = schema(SDL).unwrap();
        let ok = [
            "query Q($id: String!) { issue(id: $id) { id labels(first: 2) { nodes { id name } pageInfo { hasNextPage endCursor } } } }",
            "{ issue(id: \"x\") { project { id } } }",
        ];
        for q in ok {
            s.check(&parse(q).unwrap()).unwrap();
        }
        let bad = [
            (
                "{ issue(id: \"x\") { title } }",
                "Cannot query field \"title\" on type \"Issue\".",
            ),
            (
                "{ issue(key: \"x\") { id } }",
                "Unknown argument \"key\" on field \"Query.issue\".",
            ),
            (
                "{ issue(id: \"x\") { project { name } } }",
                "no type Project",
            ),
            (
                "mutation { issue(id: \"x\") { id } }",
                "not configured to execute mutation",
            ),
        ];
        for (q, want) in bad {
            let e = parse(q).and_then(|op| s.check(&op)).unwrap_err();
            assert!(e.contains(want), "{q}: {e}");
        }
        for q in [
            "{ ...F }",
            "subscription { x }",
            "{ a } { b }",
            "{ a @skip(if: true) }",
        ] {
            assert!(parse(q).is_err(), "{q}");
        }
    }

    /// The contract's cut reads whole: its root fields and the types afk's
    /// queries walk.
    #[test]
    fn the_linear_contract_is_read_as_a_schema() {
        let s = schema(include_str!(
            "../../../tests/contracts/linear-subset.graphql"
        ))
        .unwrap();
        for (ty, field) in [
            ("Query", "issues"),
            ("Query", "viewer"),
            ("Mutation", "issueAddLabel"),
            ("Issue", "history"),
            ("IssueHistory", "addedLabelIds"),
            ("Team", "memberships"),
            ("IssueFilter", "labels"),
        ] {
            assert!(s.types[ty].contains_key(field), "{ty}.{field}");
        }
        assert_eq!(s.types["Issue"]["history"].ty, "IssueHistoryConnection");
        assert!(s.types["Query"]["issue"].args.contains(&"id".to_string()));
    }

    /// The rule "a connection pages by first (50 when absent) and after,
    /// the answer cut to the selection under its aliases".
    #[test]
    fn an_answer_is_cut_to_the_selection_and_connections_are_paged() {
        let nodes: Vec<Value> = (1..=3)
            .map(|i| json!({"id": format!("l{i}"), "name": format!("n{i}"), "x": 1}))
            .collect();
        let v = json!({"id": "i1", "labels": {"nodes": nodes}});
        let op = parse("query($after: String) { labels(first: 2, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } mine: id }").unwrap();
        let got = project(&v, &op.fields, &json!({})).unwrap();
        assert_eq!(
            got,
            json!({"labels": {"nodes": [{"id": "l1"}, {"id": "l2"}], "pageInfo": {"hasNextPage": true, "endCursor": "l2"}}, "mine": "i1"})
        );
        let got = project(&v, &op.fields, &json!({"after": "l2"})).unwrap();
        assert_eq!(
            got["labels"],
            json!({"nodes": [{"id": "l3"}], "pageInfo": {"hasNextPage": false, "endCursor": "l3"}})
        );
        let missing = parse("{ nothing }").unwrap();
        assert!(project(&v, &missing.fields, &json!({})).is_err());
    }
}
