//! afk's wire on Azure DevOps checked against Microsoft's own description
//! (#86 item 3): real ticks of the binary (poll, watch through red CI, a
//! review thread and a vote, commands, the completion, doctor) against
//! `afk sandbox --dialect azure-devops`, then every request the sandbox
//! logged held to `tests/contracts/azure-devops-7.1-subset.json`: an
//! operation of it (method and path template, on the host the contract gives
//! it in `x-hosts`), every path and query parameter declared and of its type,
//! format and enum, the required ones present, `api-version` exactly the
//! operation's `x-api-versions`, and the body valid against the operation's
//! body schema (no body where it takes none). The one call afk makes that the
//! 7.1 files do not describe, `connectionData`, is in [`UNDESCRIBED`], as the
//! contract's `info.x-source.not_in_source` names it.
//!
//! Not in the request log, so not here: git over smart HTTP
//! (`/{organization}/{project}/_git/{repository}`, which the contract leaves
//! out too) and the request headers. The JSON Patch media type of a
//! work-item update is seen all the same: the dialect answers another one
//! `415`, and the log keeps each answer's status.

use crate::contract::gh_resolve;
use crate::support::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

fn contract() -> Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/contracts/azure-devops-7.1-subset.json");
    serde_json::from_str(
        &std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
    )
    .unwrap()
}

/// Every path of the contract begins with the organization's segment; the
/// dialect's API root (`forge.url`) stands for it, so the log has the rest.
const ORG: &str = "/{organization}";

/// Where the dialect serves the organization's identity service
/// (`vssps.dev.azure.com/{organization}`, afk's `vssps_url`) under its API
/// root; everything else there is `dev.azure.com/{organization}`.
const VSSPS_AT: &str = "/_vssps";
const VSSPS_HOST: &str = "vssps.dev.azure.com";
const HOST: &str = "dev.azure.com";

/// The Git Repositories security namespace.
const GIT_NAMESPACE: &str = "2e9eb7ed-3c0a-47d4-87c1-0ffdd275fd87";

/// A call afk makes that the 7.1 files do not describe, held to what the
/// contract (`info.x-source.not_in_source`) says of it and afk's own
/// rules add.
struct Undescribed {
    method: &'static str,
    /// as `not_in_source` names it
    path: &'static str,
    /// the query parameters afk may send besides `api-version`
    query: &'static [&'static str],
    /// `7.1` where the files fix no other
    version: &'static str,
}

/// afk's own account is `authenticatedUser` of `connectionData`.
const UNDESCRIBED: &[Undescribed] = &[Undescribed {
    method: "GET",
    path: "/{organization}/_apis/connectionData",
    query: &[],
    version: "7.1",
}];

/// The operations the scenario's own checks name.
const PULLS_POST: &str =
    "POST /{organization}/{project}/_apis/git/repositories/{repositoryId}/pullrequests";
const PULL_PATCH: &str = "PATCH /{organization}/{project}/_apis/git/repositories/{repositoryId}/pullrequests/{pullRequestId}";
const ITEM_PATCH: &str = "PATCH /{organization}/{project}/_apis/wit/workitems/{id}";

/// One operation of the contract (`paths` and `x-ms-paths`).
struct Op<'a> {
    /// upper case
    method: String,
    /// its path as the contract writes it: an `x-ms-paths` key keeps its
    /// `?…` (`…/comments?format={format}`)
    key: &'a str,
    op: &'a Value,
}

impl Op<'_> {
    /// `METHOD key`, as `x-hosts` and `x-api-versions` name it.
    fn id(&self) -> String {
        format!("{} {}", self.method, self.key)
    }

    /// The path template: the key without its `?…`.
    fn template(&self) -> &str {
        self.key.split('?').next().unwrap_or(self.key)
    }
}

fn ops(c: &Value) -> Vec<Op<'_>> {
    let mut out = vec![];
    for section in ["paths", "x-ms-paths"] {
        for (key, methods) in c[section].as_object().into_iter().flatten() {
            for (m, op) in methods.as_object().into_iter().flatten() {
                if ["get", "put", "post", "patch", "delete"].contains(&m.as_str()) {
                    out.push(Op {
                        method: m.to_ascii_uppercase(),
                        key: key.as_str(),
                        op,
                    });
                }
            }
        }
    }
    out
}

/// The parameters of `op` that are `place`'s (`path`, `query`, `body`),
/// each `$ref` (`#/parameters/api-Version…`) followed.
fn params<'a>(c: &'a Value, op: &'a Value, place: &str) -> Vec<&'a Value> {
    op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| gh_resolve(c, p))
        .filter(|p| p["in"] == place)
        .collect()
}

/// The path parameters of `path` (as the log has it: after the
/// organization, decoded) when it fits `op`'s template, else None. A segment
/// whose parameter the contract marks `x-ms-required: false` (a route value
/// the service lets out) may be absent: afk asks WIQL without the team
/// ("no team segment"). Literal segments compare ignoring case, as the
/// service routes them (the contract itself writes `workitems` and
/// `workItems`, `pullrequests` and `pullRequests`).
fn fit(c: &Value, op: &Op, path: &str) -> Option<Vec<(String, String)>> {
    let template = op.template().strip_prefix(ORG)?;
    let optional: Vec<String> = params(c, op.op, "path")
        .into_iter()
        .filter(|p| p["x-ms-required"] == json!(false))
        .filter_map(|p| p["name"].as_str())
        .map(|n| format!("{{{n}}}"))
        .collect();
    let t: Vec<&str> = template.trim_matches('/').split('/').collect();
    let p: Vec<&str> = path.trim_matches('/').split('/').collect();
    let can_go: Vec<usize> = (0..t.len())
        .filter(|i| optional.iter().any(|o| o == t[*i]))
        .collect();
    for mask in 0..(1u32 << can_go.len()) {
        let kept: Vec<&str> = t
            .iter()
            .enumerate()
            .filter(|(i, _)| {
                can_go
                    .iter()
                    .position(|g| g == i)
                    .is_none_or(|bit| mask & (1 << bit) == 0)
            })
            .map(|(_, s)| *s)
            .collect();
        if kept.len() != p.len() {
            continue;
        }
        let mut bound = vec![];
        let fits = kept.iter().zip(&p).all(|(t, p)| {
            match t.strip_prefix('{').and_then(|x| x.strip_suffix('}')) {
                Some(name) => {
                    bound.push((name.to_string(), p.to_string()));
                    !p.is_empty()
                }
                None => t.eq_ignore_ascii_case(p),
            }
        });
        if fits {
            return Some(bound);
        }
    }
    None
}

/// A path without parameters fits `template` (after the organization).
fn fits_plain(template: &str, path: &str) -> bool {
    template.strip_prefix(ORG).is_some_and(|t| {
        t.trim_matches('/')
            .eq_ignore_ascii_case(path.trim_matches('/'))
    })
}

fn in_range(n: i64, format: Option<&str>) -> bool {
    match format {
        Some("int16") => i16::try_from(n).is_ok(),
        Some("int32") => i32::try_from(n).is_ok(),
        _ => true,
    }
}

fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, ch)| match i {
            8 | 13 | 18 | 23 => ch == '-',
            _ => ch.is_ascii_hexdigit(),
        })
}

/// What is wrong with `value` for path or query parameter `p` (its `enum`,
/// else its `type` and `format`). `loose`: an enum compared ignoring case,
/// as a route value is (afk asks `classificationnodes/Areas/…`, the
/// contract's enum says `areas`).
fn param_problem(p: &Value, value: &str, loose: bool) -> Option<String> {
    if let Some(e) = p["enum"].as_array() {
        let hit = e.iter().filter_map(Value::as_str).any(|x| match loose {
            true => x.eq_ignore_ascii_case(value),
            false => x == value,
        });
        return (!hit).then(|| format!("\"{value}\" is not one of {}", json!(e)));
    }
    match (p["type"].as_str(), p["format"].as_str()) {
        (Some("integer"), f) => match value.parse::<i64>() {
            Ok(n) if in_range(n, f) => None,
            _ => Some(format!(
                "\"{value}\" is not an integer ({})",
                f.unwrap_or("?")
            )),
        },
        (Some("boolean"), _) => (!(value.eq_ignore_ascii_case("true")
            || value.eq_ignore_ascii_case("false")))
        .then(|| format!("\"{value}\" is not a boolean")),
        (Some("string"), Some("uuid")) => {
            (!is_guid(value)).then(|| format!("\"{value}\" is not a uuid"))
        }
        _ => None,
    }
}

/// `s` percent-decoded (the log keeps the query as it was sent).
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let hex = |x: u8| (x as char).to_digit(16);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (x, _, _) => {
                out.push(x);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `s` percent-encoded as one path segment or query value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(
            |b| match b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                true => (b as char).to_string(),
                false => format!("%{b:02X}"),
            },
        )
        .collect()
}

/// The query of a logged request, each name and value decoded.
fn query_of(q: &Value) -> Vec<(String, String)> {
    q["query"]
        .as_str()
        .unwrap_or("")
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Exactly one `api-version`, the operation's own.
fn check_version(at: &str, query: &[(String, String)], want: &str, out: &mut Vec<String>) {
    let got: Vec<&str> = query
        .iter()
        .filter(|(k, _)| k == "api-version")
        .map(|(_, v)| v.as_str())
        .collect();
    match got.as_slice() {
        [v] if *v == want => {}
        [] => out.push(format!("{at}: no api-version (the contract's is {want})")),
        _ => out.push(format!(
            "{at}: api-version {} (the contract's is {want})",
            got.join(", ")
        )),
    }
}

/// `v` (a request's body) against a Swagger 2.0 schema of the contract,
/// strictly: no null (Swagger 2.0 has none), enums, types and the integer
/// formats' ranges as declared, a `uuid` string a GUID, every key declared
/// (unless `additionalProperties` says what else may be), every `required`
/// key present, `allOf` parts merged. And two readings of how Microsoft's
/// generator writes .NET types, which a JSON Schema reading would refuse:
/// `System.Object` is a bare `{"type": "object"}` and takes any value
/// (`JsonPatchOperation.value`, "either a primitive or a JToken"); a type
/// that derives from a list is `type: object` with the array in its `allOf`
/// (`JsonPatchDocument`, a `List<JsonPatchOperation>`), and is that array.
/// Not [`crate::contract::gh_check`]: that one reads OpenAPI 3 (`nullable`,
/// `anyOf`), and neither reading holds there.
fn sw_check(c: &Value, schema: &Value, v: &Value, at: &str, out: &mut Vec<String>) {
    let s = gh_resolve(c, schema);
    let list = s["allOf"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| gh_resolve(c, p))
        .find(|p| p["type"] == "array");
    if let Some(list) = list {
        return sw_check(c, list, v, at, out);
    }
    if v.is_null() {
        out.push(format!("{at}: null"));
        return;
    }
    if let Some(e) = s["enum"].as_array() {
        if !e.contains(v) {
            out.push(format!("{at}: {v} is not one of {}", json!(e)));
        }
        return;
    }
    let mut props = BTreeMap::new();
    let mut required = vec![];
    members(c, s, &mut props, &mut required);
    let ty = s["type"]
        .as_str()
        .unwrap_or(if props.is_empty() { "" } else { "object" });
    if ty == "object" && props.is_empty() && s.get("additionalProperties").is_none() {
        return;
    }
    let ok = match ty {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        _ => true,
    };
    if !ok {
        out.push(format!("{at}: expected {ty}, got {v}"));
        return;
    }
    let format = s["format"].as_str();
    if ty == "integer" && !v.as_i64().is_some_and(|n| in_range(n, format)) {
        out.push(format!("{at}: {v} is out of {}", format.unwrap_or("range")));
    }
    if format == Some("uuid") && !v.as_str().is_some_and(is_guid) {
        out.push(format!("{at}: {v} is not a uuid"));
    }
    if let Some(obj) = v.as_object() {
        let extra = s.get("additionalProperties");
        for (k, x) in obj {
            let here = format!("{at}.{k}");
            match (props.get(k.as_str()), extra) {
                (Some(p), _) => sw_check(c, p, x, &here, out),
                (None, Some(Value::Bool(true))) => {}
                (None, Some(e)) if e.is_object() => sw_check(c, e, x, &here, out),
                (None, _) => out.push(format!("{here}: not in the contract")),
            }
        }
        for r in &required {
            if !obj.contains_key(*r) {
                out.push(format!("{at}.{r}: required, missing"));
            }
        }
    }
    if let (Some(items), Some(arr)) = (s.get("items"), v.as_array()) {
        for (i, x) in arr.iter().enumerate() {
            sw_check(c, items, x, &format!("{at}[{i}]"), out);
        }
    }
}

/// The properties and required keys of schema `s` and of its `allOf` parts.
fn members<'a>(
    c: &'a Value,
    s: &'a Value,
    props: &mut BTreeMap<&'a str, &'a Value>,
    required: &mut Vec<&'a str>,
) {
    for part in s["allOf"].as_array().into_iter().flatten() {
        members(c, gh_resolve(c, part), props, required);
    }
    for (k, x) in s["properties"].as_object().into_iter().flatten() {
        props.insert(k.as_str(), x);
    }
    required.extend(
        s["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str),
    );
}

/// One logged request (`{method, path, query, body, status}`) against the
/// contract: the operation it is (`METHOD key`), when it is one, and what
/// is wrong with it.
fn check_request(c: &Value, q: &Value) -> (Option<String>, Vec<String>) {
    let method = q["method"].as_str().unwrap_or("");
    let logged = q["path"].as_str().unwrap_or("");
    let (host, path) = match logged.strip_prefix(VSSPS_AT) {
        Some(rest) if rest.starts_with('/') => (VSSPS_HOST, rest),
        _ => (HOST, logged),
    };
    let query = query_of(q);
    let at = format!("{method} {logged}");
    let mut out = vec![];
    let all = ops(c);
    let found = all
        .iter()
        .filter(|o| o.method == method)
        .find_map(|o| fit(c, o, path).map(|bound| (o, bound)));
    let Some((op, bound)) = found else {
        let Some(u) = UNDESCRIBED
            .iter()
            .find(|u| u.method == method && fits_plain(u.path, path))
        else {
            return (
                None,
                vec![format!(
                    "{at}: no operation of the contract, nor in UNDESCRIBED"
                )],
            );
        };
        if host != HOST {
            out.push(format!(
                "{at}: {} is the organization's, not {host}'s",
                u.path
            ));
        }
        check_version(&at, &query, u.version, &mut out);
        for (k, _) in query.iter().filter(|(k, _)| k != "api-version") {
            if !u.query.contains(&k.as_str()) {
                out.push(format!("{at}: query \"{k}\" is not a parameter"));
            }
        }
        if !q["body"].is_null() {
            out.push(format!("{at}: a body, where it takes none"));
        }
        return (Some(format!("{} {}", u.method, u.path)), out);
    };
    let id = op.id();
    match c["x-hosts"][&id].as_str() {
        Some(h) if h == host => {}
        Some(h) => out.push(format!("{at}: {id} is served at {h}, not {host}")),
        None => out.push(format!("{at}: the contract names no host for {id}")),
    }
    let path_params = params(c, op.op, "path");
    for (name, value) in &bound {
        match path_params.iter().find(|p| p["name"] == name.as_str()) {
            Some(p) => {
                if let Some(why) = param_problem(p, value, true) {
                    out.push(format!("{at}: {{{name}}} {why}"));
                }
            }
            None => out.push(format!("{at}: {{{name}}} is not a parameter of {id}")),
        }
    }
    let query_params = params(c, op.op, "query");
    for (k, v) in query.iter().filter(|(k, _)| k != "api-version") {
        match query_params.iter().find(|p| p["name"] == k.as_str()) {
            Some(p) => {
                if let Some(why) = param_problem(p, v, false) {
                    out.push(format!("{at}: query {k} {why}"));
                }
            }
            None => out.push(format!("{at}: query \"{k}\" is not a parameter of {id}")),
        }
    }
    for p in &query_params {
        let name = p["name"].as_str().unwrap_or("");
        if p["required"] == true && name != "api-version" && !query.iter().any(|(k, _)| k == name) {
            out.push(format!("{at}: query \"{name}\" is required"));
        }
    }
    match c["x-api-versions"][&id].as_str() {
        Some(want) => check_version(&at, &query, want, &mut out),
        None => out.push(format!("{at}: the contract fixes no api-version for {id}")),
    }
    let body = &q["body"];
    match params(c, op.op, "body").first() {
        Some(p) if body.is_null() && p["required"] == true => {
            out.push(format!("{at}: no body, where {id} requires one"));
        }
        Some(_) if body.is_null() => {}
        Some(p) => sw_check(c, &p["schema"], body, &format!("{at} body"), &mut out),
        None if !body.is_null() => out.push(format!("{at}: a body, where {id} takes none")),
        None => {}
    }
    match q["status"].as_u64() {
        Some(415) => out.push(format!(
            "{at}: answered 415: not sent as {}",
            op.op["consumes"]
        )),
        Some(400) => out.push(format!("{at}: answered 400: the dialect refused it")),
        _ => {}
    }
    (Some(id), out)
}

/// The requests of `seen` that are operation `id`.
fn sent<'a>(seen: &'a [(Option<String>, &'a Value)], id: &str) -> Vec<&'a Value> {
    seen.iter()
        .filter(|(op, _)| op.as_deref() == Some(id))
        .map(|(_, q)| *q)
        .collect()
}

/// The area path of each of `repos`, as the dialect files a repository's
/// work items (`Project\repo`), added to `afk`'s config unless it names
/// area paths already.
fn with_area_paths(afk: &Afk, repos: &[&str]) {
    let text = std::fs::read_to_string(&afk.config).unwrap();
    if text.contains("area_paths") {
        return;
    }
    let mut table = String::from("\n[forge.azure_devops.area_paths]\n");
    for r in repos {
        table.push_str(&format!("\"{r}\" = '{}'\n", r.replace('/', "\\")));
    }
    std::fs::write(&afk.config, text + &table).unwrap();
}

/// A request to the dialect with afk's token (Bearer: the dialect takes it
/// beside Basic) and no sign-in page: (status, JSON answer or null).
fn az_call(sb: &Sandbox, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let req = ureq::request(method, &format!("{}{path}", sb.api_url()))
        .set("Authorization", &format!("Bearer {TOKEN}"))
        .set("X-TFS-FedAuthRedirect", "Suppress")
        .set("Accept", "application/json");
    let answer = match body {
        Some(b) => req.send_json(b),
        None => req.call(),
    };
    match answer {
        Ok(r) => (r.status(), r.into_json().unwrap_or(Value::Null)),
        Err(ureq::Error::Status(s, r)) => (s, r.into_json().unwrap_or(Value::Null)),
        Err(e) => panic!("{method} {path}: {e}"),
    }
}

/// The contract says for each operation what the checker reads: its host
/// (`x-hosts`) and its `api-version` (`x-api-versions`), the version its own
/// `api-version` parameter names too, and that version is the one afk asks
/// with: `7.1-preview.4` for work-item comments, `7.1-preview.1` for comment
/// reactions and policy evaluations, `7.1` everywhere else. And
/// [`UNDESCRIBED`] holds only what the contract says it does not describe.
#[test]
fn the_contract_fixes_each_operation_s_host_and_version_as_spec_2_2_5_says() {
    let c = contract();
    let all = ops(&c);
    assert_eq!(
        Some(all.len() as u64),
        c["info"]["x-source"]["operation_count"].as_u64()
    );
    assert_eq!(
        c["x-api-versions"].as_object().map(|o| o.len()),
        Some(all.len())
    );
    for op in &all {
        let id = op.id();
        assert!(op.template().starts_with(ORG), "{id}");
        let host = c["x-hosts"][&id]
            .as_str()
            .unwrap_or_else(|| panic!("{id}: no host"));
        assert!([HOST, VSSPS_HOST].contains(&host), "{id}: {host}");
        let version = c["x-api-versions"][&id]
            .as_str()
            .unwrap_or_else(|| panic!("{id}: no api-version"));
        let declared: Vec<&Value> = params(&c, op.op, "query")
            .into_iter()
            .filter(|p| p["name"] == "api-version")
            .collect();
        assert_eq!(declared.len(), 1, "{id}");
        assert_eq!(declared[0]["required"], true, "{id}");
        let says = declared[0]["description"].as_str().unwrap_or("");
        assert!(
            says.contains(&format!("'{version}'")),
            "{id}: {version}, but its parameter says {says:?}"
        );
        let t = op.template().to_ascii_lowercase();
        let want = if t.contains("/reactions/") || t.ends_with("/policy/evaluations") {
            "7.1-preview.1"
        } else if t.contains("/wit/workitems/{workitemid}/comments") {
            "7.1-preview.4"
        } else {
            "7.1"
        };
        assert_eq!(version, want, "{id}");
    }
    let not_in = &c["info"]["x-source"]["not_in_source"];
    for u in UNDESCRIBED {
        let id = format!("{} {}", u.method, u.path);
        assert!(not_in.get(&id).is_some(), "{id} is not in not_in_source");
        assert!(
            !all.iter()
                .any(|o| o.method == u.method && o.template().eq_ignore_ascii_case(u.path)),
            "{id} is an operation of the contract"
        );
    }
}

/// A request that is no operation, or that breaks its operation's
/// parameters, version, host or body, is caught, each once; one that keeps
/// to them is not (the check can fail, and fails only where it should).
#[test]
fn the_request_checker_catches_drift() {
    let c = contract();
    let q = |m: &str, p: &str, query: &str, body: Value| json!({"method": m, "path": p, "query": query, "body": body});
    let patch = |op: &str| {
        json!([{"op": op, "path": "/rev", "value": 3},
               {"op": "replace", "path": "/fields/System.Tags", "value": "a; b"}])
    };
    let pull = json!({"sourceRefName": "refs/heads/afk/issue-2", "targetRefName": "refs/heads/main",
                      "title": "t", "description": "d", "isDraft": false, "workItemRefs": [{"id": "2"}]});
    let with = |v: &Value, k: &str, x: Value| {
        let mut v = v.clone();
        v[k] = x;
        v
    };
    let mut refused = q(
        "PATCH",
        "/acme/_apis/wit/workitems/2",
        "api-version=7.1",
        patch("test"),
    );
    refused["status"] = json!(415);
    let thread = "/acme/_apis/git/repositories/api/pullRequests/1/threads";
    let cases = [
        (
            q(
                "GET",
                "/acme/_apis/wit/workitems/2",
                "$expand=relations&api-version=7.1",
                Value::Null,
            ),
            0,
        ),
        (
            q(
                "GET",
                "/acme/_apis/wit/workItems/2/comments",
                "%24top=200&api-version=7.1",
                Value::Null,
            ),
            1,
        ),
        (
            q(
                "GET",
                "/acme/_apis/wit/workItems/2/comments",
                "$top=200",
                Value::Null,
            ),
            1,
        ),
        (
            q(
                "PATCH",
                "/acme/_apis/wit/workitems/2",
                "api-version=7.1",
                patch("test"),
            ),
            0,
        ),
        (
            q(
                "PATCH",
                "/acme/_apis/wit/workitems/2",
                "api-version=7.1",
                patch("tset"),
            ),
            1,
        ),
        (
            q(
                "PATCH",
                "/acme/_apis/wit/workitems/2",
                "bypassRules=yes&api-version=7.1",
                patch("test"),
            ),
            1,
        ),
        (refused, 1),
        (
            q(
                "POST",
                "/acme/_apis/wit/wiql",
                "$top=20000&api-version=7.1",
                json!({"query": "SELECT [System.Id] FROM WorkItems"}),
            ),
            0,
        ),
        (
            q(
                "POST",
                "/acme/_apis/wit/wiql",
                "$top=lots&api-version=7.1",
                json!({"query": "x"}),
            ),
            1,
        ),
        (
            q(
                "GET",
                "/acme/_apis/git/repositories/api/pullrequests",
                "sate=active&api-version=7.1",
                Value::Null,
            ),
            1,
        ),
        (
            q(
                "POST",
                "/acme/_apis/git/repositories/api/pullrequests",
                "api-version=7.1",
                pull.clone(),
            ),
            0,
        ),
        (
            q(
                "POST",
                "/acme/_apis/git/repositories/api/pullrequests",
                "api-version=7.1",
                with(&pull, "autoComplete", json!(true)),
            ),
            1,
        ),
        (
            q(
                "POST",
                "/acme/_apis/git/repositories/api/pullrequests",
                "api-version=7.1",
                with(&pull, "workItemRefs", json!([{"id": 2}])),
            ),
            1,
        ),
        (
            q(
                "POST",
                thread,
                "api-version=7.1",
                json!({"comments": [{"parentCommentId": 70000, "content": "x", "commentType": "text"}]}),
            ),
            1,
        ),
        (
            q(
                "POST",
                &format!("{thread}/3/comments/1/likes"),
                "api-version=7.1",
                json!({}),
            ),
            1,
        ),
        (
            q(
                "GET",
                "/_apis/identities",
                "identityIds=x&api-version=7.1",
                Value::Null,
            ),
            1,
        ),
        (
            q(
                "GET",
                "/_vssps/_apis/identities",
                "identityIds=x&api-version=7.1",
                Value::Null,
            ),
            0,
        ),
        (
            q(
                "GET",
                "/_vssps/_apis/identities",
                "searchFilter=AccountName&filterValue=alice%40sandbox.invalid&api-version=7.1",
                Value::Null,
            ),
            0,
        ),
        (
            q(
                "GET",
                "/_apis/connectionData",
                "api-version=7.1",
                Value::Null,
            ),
            0,
        ),
        (
            q(
                "GET",
                "/_apis/connectionData",
                "api-version=7.0",
                Value::Null,
            ),
            1,
        ),
        (
            q(
                "GET",
                "/acme/_apis/git/repositories/api/pushes",
                "api-version=7.1",
                Value::Null,
            ),
            1,
        ),
        (
            q(
                "GET",
                "/acme/_apis/wit/classificationnodes/Areas/api",
                "api-version=7.1",
                Value::Null,
            ),
            0,
        ),
        (
            q(
                "GET",
                "/acme/_apis/policy/evaluations",
                "api-version=7.1-preview.1",
                Value::Null,
            ),
            1,
        ),
        (
            q(
                "GET",
                "/_apis/accesscontrollists/not-a-namespace",
                "token=x&api-version=7.1",
                Value::Null,
            ),
            1,
        ),
    ];
    for (req, want) in cases {
        let (_, p) = check_request(&c, &req);
        assert_eq!(p.len(), want, "{req}: {p:?}");
    }
}

/// Every operation the checker knows (the contract's, [`UNDESCRIBED`]'s,
/// and WIQL without its team, the form afk asks) is one the dialect serves:
/// asked with the `api-version` the contract fixes, on its host, none is
/// answered as a route the organization does not have, nor with its
/// version refused.
#[test]
fn every_operation_the_checker_knows_is_one_the_sandbox_serves() {
    let c = contract();
    let sb = Sandbox::start_in(
        Dialect::AzureDevops,
        json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}),
    );
    let head = sb.push_commit("acme/api", "afk/issue-1", "fix.txt");
    let (status, pr) = az_call(
        &sb,
        "POST",
        "/acme/_apis/git/repositories/api/pullrequests?api-version=7.1",
        Some(
            json!({"sourceRefName": "refs/heads/afk/issue-1", "targetRefName": "refs/heads/main",
                    "title": "fix", "description": "Closes #1"}),
        ),
    );
    assert!((200..300).contains(&status), "{status} {pr}");
    let pr = pr["pullRequestId"].as_u64().unwrap();
    let thread = sb.admin(
        "POST",
        "/ado/thread",
        Some(json!({"pr": pr, "by": "alice", "text": "a thread"})),
    )["thread"]
        .as_u64()
        .unwrap();
    let comment = sb.admin(
        "POST",
        "/ado/comment",
        Some(json!({"repo": "acme/api", "issue": 1, "by": "alice", "text": "a comment"})),
    )["comment"]
        .as_u64()
        .unwrap();
    // things that exist, so each route is asked past its lookups
    let value = |template: &str, name: &str| -> String {
        match name {
            "project" | "projectId" => "acme".into(),
            "team" => "acme Team".into(),
            "repositoryId" | "repositoryNameOrId" => "api".into(),
            // issue 1's work item
            "id" | "workItemId" | "revisionNumber" => "1".into(),
            "commentId" if template.contains("{threadId}") => "1".into(),
            "commentId" => comment.to_string(),
            "reactionType" => "like".into(),
            "type" => "Issue".into(),
            "structureGroup" => "Areas".into(),
            "path" => "api".into(),
            "commitId" => head.clone(),
            "pullRequestId" => pr.to_string(),
            "threadId" => thread.to_string(),
            "mergeOperationId" | "buildId" => "1".into(),
            "securityNamespaceId" => GIT_NAMESPACE.into(),
            "permissions" => "4".into(),
            other => panic!("{template}: no value to ask {{{other}}} with"),
        }
    };
    let required = |name: &str| -> String {
        match name {
            "format" => "markdown".into(),
            "artifactId" => format!("vstfs:///CodeReview/CodeReviewId/acme/{pr}"),
            other => panic!("no value for the required query parameter {other}"),
        }
    };
    // (what, method, path under the API root, body)
    let mut asked: Vec<(String, String, String, Option<Value>)> = vec![];
    for op in ops(&c) {
        let id = op.id();
        let t = op.template().strip_prefix(ORG).unwrap();
        let path: Vec<String> = t
            .split('/')
            .map(
                |s| match s.strip_prefix('{').and_then(|x| x.strip_suffix('}')) {
                    Some(name) => enc(&value(t, name)),
                    None => s.to_string(),
                },
            )
            .collect();
        let at = if c["x-hosts"][&id] == VSSPS_HOST {
            VSSPS_AT
        } else {
            ""
        };
        let mut query = vec![format!(
            "api-version={}",
            c["x-api-versions"][&id].as_str().unwrap()
        )];
        for p in params(&c, op.op, "query") {
            let name = p["name"].as_str().unwrap_or("");
            if p["required"] == true && name != "api-version" {
                query.push(format!("{name}={}", enc(&required(name))));
            }
        }
        let body = (!params(&c, op.op, "body").is_empty()).then(|| json!({}));
        let target = format!("{at}{}?{}", path.join("/"), query.join("&"));
        asked.push((id, op.method.clone(), target, body));
    }
    for u in UNDESCRIBED {
        let path = u.path.strip_prefix(ORG).unwrap();
        asked.push((
            format!("{} {}", u.method, u.path),
            u.method.to_string(),
            format!("{path}?api-version={}", u.version),
            None,
        ));
    }
    asked.push((
        "POST WIQL without its team (the form afk asks)".into(),
        "POST".into(),
        "/acme/_apis/wit/wiql?api-version=7.1".into(),
        Some(json!({"query": "SELECT [System.Id] FROM WorkItems"})),
    ));
    let mut unserved = vec![];
    for (what, method, target, body) in asked {
        let (status, answer) = az_call(&sb, &method, &target, body);
        assert!(
            status != 401 && status != 203,
            "{what}: {status}: the probe's credential was refused"
        );
        let key = answer["typeKey"].as_str().unwrap_or("");
        let no_route = status == 404 && key == "VssResourceNotFoundException";
        let version_refused =
            key.starts_with("VssVersion") || key == "VssInvalidPreviewVersionException";
        if no_route || version_refused {
            unserved.push(format!("{what}: {status} {key} ({method} {target})"));
        }
    }
    assert!(unserved.is_empty(), "{}", unserved.join("\n"));
}

/// A ready work item blocked by a completed one and armed by a trusted
/// person, another armed by someone who may only read; afk's pull request
/// from its own workspace, red CI (a commit status) and the corrective turn,
/// green from a build validation and a PR status, a review thread on a line
/// and a "waiting for author" vote and the review turn, a command on the
/// work item and two in PR threads (one unknown), the completion by a
/// person and afk's success; doctor last. Returns the pull request's id.
fn play(sb: &Sandbox, afk: &Afk) -> u64 {
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(r["dispatched"][0]["issue"], 2, "{r}");
    // one run a repository: #3 waits behind #2, its armer not asked about
    // (the untrusted arming is read in azure_devops.rs)
    assert_eq!(
        reason_of(&r, "acme/api", 3).as_deref(),
        Some("lower-priority"),
        "{r}"
    );
    afk.wait_agent(1);
    let watch = |what: &str| {
        let (code, r, err) = afk.watch();
        assert_eq!(code, 0, "{what}: {err} {r}");
    };
    watch("afk pushes and opens the pull request");
    // the organization's first pull request (the admin API reads nothing
    // through the logged API)
    let pr = sb.dialect.first_pr(3);
    sb.status("acme/api", "afk/issue-2", "ci/build", "failure");
    watch("red CI: a corrective turn");
    afk.wait_agent(1);
    sb.admin(
        "POST",
        "/ado/evaluation",
        Some(json!({"pr": pr, "status": "approved", "name": "CI"})),
    );
    sb.admin(
        "POST",
        "/ado/pr_status",
        Some(json!({"pr": pr, "state": "succeeded", "genre": "ci", "name": "lint"})),
    );
    watch("the fix pushed");
    let t = sb.admin(
        "POST",
        "/ado/thread",
        Some(
            json!({"pr": pr, "by": "alice", "text": "please say how to run the tests",
                    "path": "afk-issue-2.txt", "line": 1}),
        ),
    );
    sb.admin(
        "POST",
        "/ado/vote",
        Some(json!({"pr": pr, "by": "alice", "vote": -5})),
    );
    watch("a review turn");
    afk.wait_agent(1);
    sb.admin(
        "POST",
        "/ado/thread",
        Some(json!({"pr": pr, "by": "alice", "thread": t["thread"], "status": "fixed"})),
    );
    sb.admin(
        "POST",
        "/ado/vote",
        Some(json!({"pr": pr, "by": "alice", "vote": 10})),
    );
    watch("the review turn pushed");
    sb.admin(
        "POST",
        "/ado/comment",
        Some(json!({"repo": "acme/api", "issue": 2, "by": "alice", "text": "/afk hold"})),
    );
    watch("held");
    for text in ["/afk frobnicate", "/afk resume"] {
        sb.admin(
            "POST",
            "/ado/thread",
            Some(json!({"pr": pr, "by": "alice", "text": text, "status": "unknown"})),
        );
    }
    watch("resumed, an unknown verb answered");
    sb.admin(
        "POST",
        "/ado/complete",
        Some(json!({"pr": pr, "by": "alice"})),
    );
    watch("completed: success");
    let run = afk.sql_rows("SELECT state FROM runs WHERE id = 1");
    assert_eq!(run, [["succeeded"]]);
    assert_eq!(
        sb.issue("acme/api", 2)["state"],
        "closed",
        "success moves the work item to a Completed state"
    );
    let (code, _, err) = afk.json(&["doctor"]);
    assert!(code == 0 || code == 1, "{err}");
    pr
}

/// Every request afk made while it polled, watched its pull request through
/// CI, a review, commands and the completion, and ran doctor, is an
/// operation of the contract ([`check_request`]) or [`UNDESCRIBED`]; and
/// what afk's own rules add to the contract holds on the wire: the pull
/// request opened with exactly its six fields, each work-item patch a `test`
/// on `/rev` first and never with `bypassRules`, `suppressNotifications` or
/// `validateOnly`, the success a move to the type's Completed state, a pull
/// request's patch only its title and description or its abandonment.
#[test]
fn every_request_afk_makes_on_azure_devops_is_the_contract_s() {
    with_dialect(Dialect::AzureDevops, || {
        let c = contract();
        let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([
            {"number": 1, "title": "blocker", "state": "closed"},
            {"number": 2, "title": "t", "body": "Blocked by #1", "labels": ["ready-for-agent"], "labeled_by": "alice", "depends_on": [1]},
            {"number": 3, "title": "u", "labels": ["ready-for-agent"], "labeled_by": "mallory"},
        ]))]}));
        // afk's own workspace (the default): afk pushes and opens the pull
        // request, the agent only commits
        let afk = Afk::agent_in_afks_workspace(&sb, "pr", "");
        with_area_paths(&afk, &["acme/api"]);
        let pr = play(&sb, &afk);
        let reqs = sb.requests();
        assert!(reqs.len() > 40, "{}", reqs.len());
        let mut problems = vec![];
        let seen: Vec<(Option<String>, &Value)> = reqs
            .iter()
            .map(|q| {
                let (op, p) = check_request(&c, q);
                problems.extend(p);
                (op, q)
            })
            .collect();
        problems.sort();
        problems.dedup();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        // what the scenario reached
        let used: BTreeSet<&str> = seen.iter().filter_map(|(op, _)| op.as_deref()).collect();
        for id in [
            "GET /{organization}/_apis/connectionData",
            "POST /{organization}/{project}/{team}/_apis/wit/wiql",
            "POST /{organization}/{project}/_apis/wit/workitemsbatch",
            "GET /{organization}/{project}/_apis/wit/workitems/{id}",
            ITEM_PATCH,
            "GET /{organization}/{project}/_apis/wit/workItems/{id}/updates",
            "GET /{organization}/{project}/_apis/wit/workItems/{id}/revisions/{revisionNumber}",
            "GET /{organization}/{project}/_apis/wit/workItems/{workItemId}/comments?",
            "PUT /{organization}/{project}/_apis/wit/workItems/{workItemId}/comments/{commentId}/reactions/{reactionType}",
            "GET /{organization}/{project}/_apis/wit/workitemtypes/{type}/states",
            "GET /{organization}/{project}/_apis/wit/tags",
            "GET /{organization}/{project}/_apis/wit/classificationnodes/{structureGroup}/{path}",
            "GET /{organization}/{project}/_apis/git/repositories/{repositoryId}",
            PULLS_POST,
            "GET /{organization}/{project}/_apis/git/repositories/{repositoryId}/pullrequests",
            "GET /{organization}/{project}/_apis/git/repositories/{repositoryId}/pullrequests/{pullRequestId}",
            "GET /{organization}/{project}/_apis/git/repositories/{repositoryId}/pullRequests/{pullRequestId}/statuses",
            "GET /{organization}/{project}/_apis/git/repositories/{repositoryId}/pullRequests/{pullRequestId}/reviewers",
            "GET /{organization}/{project}/_apis/git/repositories/{repositoryId}/pullRequests/{pullRequestId}/threads",
            "POST /{organization}/{project}/_apis/git/repositories/{repositoryId}/pullRequests/{pullRequestId}/threads",
            "POST /{organization}/{project}/_apis/git/repositories/{repositoryId}/pullRequests/{pullRequestId}/threads/{threadId}/comments/{commentId}/likes",
            "GET /{organization}/{project}/_apis/git/repositories/{repositoryId}/commits/{commitId}/statuses",
            "GET /{organization}/{project}/_apis/policy/evaluations",
            "GET /{organization}/{project}/_apis/policy/types",
            "GET /{organization}/{project}/_apis/policy/configurations",
            "GET /{organization}/_apis/accesscontrollists/{securityNamespaceId}",
            "GET /{organization}/_apis/securitynamespaces/{securityNamespaceId}",
            "GET /{organization}/_apis/permissions/{securityNamespaceId}/{permissions}",
            "GET /{organization}/_apis/identities",
            "GET /{organization}/_apis/projects/{projectId}",
        ] {
            assert!(used.contains(id), "the scenario never sent {id}");
        }
        // exactly these fields, the work item linked
        let fields: BTreeSet<&str> = [
            "sourceRefName",
            "targetRefName",
            "title",
            "description",
            "workItemRefs",
            "isDraft",
        ]
        .into();
        for q in sent(&seen, PULLS_POST) {
            let keys: BTreeSet<&str> = q["body"]
                .as_object()
                .map(|o| o.keys().map(String::as_str).collect())
                .unwrap_or_default();
            assert_eq!(keys, fields, "{q}");
            assert_eq!(q["body"]["workItemRefs"], json!([{"id": "2"}]), "{q}");
            assert_eq!(q["body"]["sourceRefName"], "refs/heads/afk/issue-2", "{q}");
        }
        for q in sent(&seen, PULL_PATCH) {
            let body = q["body"].as_object().cloned().unwrap_or_default();
            let edit = body.keys().all(|k| k == "title" || k == "description");
            assert!(edit || q["body"] == json!({"status": "abandoned"}), "{q}");
        }
        // each work-item patch tested on `/rev`, never bypassing a rule; the
        // success moves work item 2 to Done
        let patches = sent(&seen, ITEM_PATCH);
        for q in &patches {
            assert_eq!(
                (&q["body"][0]["op"], &q["body"][0]["path"]),
                (&json!("test"), &json!("/rev")),
                "{q}"
            );
            let query = query_of(q);
            for never in ["bypassRules", "suppressNotifications", "validateOnly"] {
                assert!(!query.iter().any(|(k, _)| k == never), "{q}");
            }
        }
        let closed = patches.iter().any(|q| {
            q["path"].as_str().is_some_and(|p| p.ends_with("/2"))
                && q["body"].as_array().is_some_and(|ops| {
                    ops.iter()
                        .any(|o| o["path"] == "/fields/System.State" && o["value"] == "Done")
                })
        });
        assert!(closed, "afk moved work item 2 to Done: {patches:?}");
        assert_eq!(pr, 1);
    })
}
