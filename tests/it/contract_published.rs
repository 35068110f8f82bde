//! GitHub's REST description with its answer examples (`@octokit/openapi`,
//! installed pinned in `corpora/` by scripts/test, never copied here): the
//! sandbox's answers held to them field by field. The contract suite runs
//! the check over every GitHub answer it reads; the literal paths here are
//! the description's own templates.

use serde_json::{Value, json};
use std::path::Path;

/// GitHub's REST description with its answer examples
/// (`@octokit/openapi`'s `generated/api.github.com.json`, pinned in
/// `corpora/`), read once.
fn github_openapi() -> &'static Value {
    static DOC: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    DOC.get_or_init(|| {
        let file = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("corpora/node_modules/@octokit/openapi/generated/api.github.com.json");
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| {
            panic!(
                "{}: {e}: install the pinned corpora (scripts/test does: npm ci in corpora/)",
                file.display()
            )
        });
        serde_json::from_str(&text).unwrap()
    })
}

/// `v` with its `$ref` followed (within the description).
fn resolved<'a>(doc: &'a Value, mut v: &'a Value) -> &'a Value {
    for _ in 0..16 {
        let Some(r) = v["$ref"].as_str() else { break };
        v = doc
            .pointer(r.trim_start_matches('#'))
            .unwrap_or(&Value::Null);
    }
    v
}

/// A schema's parts: itself and those of its `allOf` (every one holds),
/// and with `variants` those of its `anyOf` and `oneOf` too (one holds),
/// each resolved.
fn parts<'a>(doc: &'a Value, s: &'a Value, variants: bool, out: &mut Vec<&'a Value>) {
    let s = resolved(doc, s);
    if !s.is_object() || out.len() > 64 {
        return;
    }
    out.push(s);
    let kinds: &[&str] = if variants {
        &["allOf", "anyOf", "oneOf"]
    } else {
        &["allOf"]
    };
    for k in kinds {
        for p in s[*k].as_array().into_iter().flatten() {
            parts(doc, p, variants, out);
        }
    }
}

/// What a schema says of an answer's field `k`: whether it names it (or
/// takes any name), whether it is required, and its own schema.
fn field<'a>(doc: &'a Value, s: &'a Value, k: &str) -> (bool, bool, Option<&'a Value>) {
    let mut all = vec![];
    parts(doc, s, true, &mut all);
    let mut named = false;
    let mut own = None;
    for p in all {
        if let Some(f) = p["properties"].get(k) {
            named = true;
            own = own.or(Some(f));
        }
        if p["additionalProperties"].is_object() || p["additionalProperties"] == true {
            named = true;
            own = own.or(Some(&p["additionalProperties"]));
        }
    }
    // required by what always holds, never by one variant of several
    let mut always = vec![];
    parts(doc, s, false, &mut always);
    let required = always.iter().any(|p| {
        p["required"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x == k))
    });
    (named, required, own)
}

/// Whether a schema lets its value be `null`.
fn nullable(doc: &Value, s: &Value) -> bool {
    let mut all = vec![];
    parts(doc, s, true, &mut all);
    all.iter()
        .any(|p| p["nullable"] == true || p["type"] == "null")
}

/// An RFC 3339 UTC time as GitHub writes one (`2011-04-14T16:00:49Z`).
fn github_time(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 20
        && b[4] == b'-'
        && b[10] == b'T'
        && b[19] == b'Z'
        && s.chars().filter(|c| c.is_ascii_digit()).count() == 14
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Where the sandbox's `got` differs from GitHub's published `example` of
/// the same answer, field by field: a field GitHub's description does not
/// name, one it requires and the sandbox leaves out, a value of another
/// kind, a `null` where GitHub's answer never has one, a time in another
/// format.
fn against_example(
    doc: &Value,
    got: &Value,
    example: &Value,
    schema: Option<&Value>,
    at: &str,
    problems: &mut Vec<String>,
) {
    match (got, example) {
        (Value::Null, Value::Null) => {}
        (Value::Null, _) if !schema.is_some_and(|s| nullable(doc, s)) => {
            problems.push(format!("{at}: null where GitHub's answer never has one"));
        }
        (Value::Null, _) => {}
        (_, Value::Null) => {}
        (Value::Object(g), Value::Object(e)) => {
            for (k, gv) in g {
                let (named, _, own) = schema.map_or((false, false, None), |s| field(doc, s, k));
                match e.get(k) {
                    Some(ev) => against_example(doc, gv, ev, own, &format!("{at}.{k}"), problems),
                    None if schema.is_some() && !named => {
                        problems.push(format!("{at}.{k}: a field GitHub's answer does not have"))
                    }
                    None => {}
                }
            }
            if let Some(s) = schema {
                for k in e.keys().filter(|k| !g.contains_key(*k)) {
                    if field(doc, s, k).1 {
                        problems.push(format!(
                            "{at}.{k}: GitHub always sends it; the sandbox does not"
                        ));
                    }
                }
            }
        }
        (Value::Array(g), Value::Array(e)) => {
            // a list of several kinds (a timeline): the example's item of
            // the sandbox's first item's kind
            let first = g.first();
            let same = e.iter().find(|ev| {
                first.is_some_and(|gv| gv.get("event").is_some() && gv["event"] == ev["event"])
            });
            if let (Some(gv), Some(ev)) = (first, same.or(e.first())) {
                let items = schema.map(|s| &resolved(doc, s)["items"]);
                against_example(doc, gv, ev, items, &format!("{at}[0]"), problems);
            }
        }
        (Value::String(g), Value::String(e)) if github_time(e) && !github_time(g) => {
            problems.push(format!("{at}: {g:?} where GitHub writes a time as {e:?}"));
        }
        (g, e) if kind(g) != kind(e) => {
            problems.push(format!("{at}: {} where GitHub sends {}", kind(g), kind(e)))
        }
        _ => {}
    }
}

/// The answer an Example object shows: the object itself or its `value`
/// may be a `$ref`, and a `$ref` into `components/examples` is another
/// Example object, whose `value` is the answer.
fn example_value<'a>(doc: &'a Value, e: &'a Value) -> &'a Value {
    let mut v = resolved(doc, e);
    for _ in 0..4 {
        match v["value"]["$ref"].as_str() {
            Some(r) if r.starts_with("#/components/examples/") => v = resolved(doc, &v["value"]),
            _ => return resolved(doc, &v["value"]),
        }
    }
    &Value::Null
}

/// Where the sandbox's GitHub answers (`(method, path template, status,
/// answer)`, each as afk got it) differ from the examples GitHub publishes
/// of those answers; an answer whose operation publishes no example is
/// named too, so none is passed unchecked.
pub(crate) fn published_github_problems(answered: &[(String, String, u16, Value)]) -> Vec<String> {
    let doc = github_openapi();
    let mut problems = vec![];
    for (method, template, status, got) in answered {
        let at = format!("{method} {template}");
        let op = &doc["paths"][template.as_str()][method.to_ascii_lowercase()];
        let answer = resolved(doc, &op["responses"][status.to_string()]);
        let json = &answer["content"]["application/json"];
        let Some(example) = json["examples"]
            .as_object()
            .and_then(|m| m.get("default").or_else(|| m.values().next()))
            .map(|e| example_value(doc, e))
            .or_else(|| json.get("example"))
        else {
            problems.push(format!("{at} {status}: GitHub publishes no example of it"));
            continue;
        };
        against_example(doc, got, example, Some(&json["schema"]), &at, &mut problems);
    }
    problems
}

/// The check itself: GitHub's own example of an issue passes, and each kind
/// of difference planted in it is named (a field GitHub's answer does not
/// have, one it always sends left out, a value of another kind, a `null`
/// where it never has one, a time in another format).
#[test]
fn the_published_examples_check_names_every_kind_of_difference() {
    let doc = github_openapi();
    let op = &doc["paths"]["/repos/{owner}/{repo}/issues/{issue_number}"]["get"];
    let json = &resolved(doc, &op["responses"]["200"])["content"]["application/json"];
    let example = example_value(doc, &json["examples"]["default"]).clone();
    assert!(
        example["number"].is_number(),
        "the example itself: {example}"
    );
    let t = "/repos/{owner}/{repo}/issues/{issue_number}".to_string();
    let check =
        |v: Value| published_github_problems(&[("GET".into(), t.clone(), 200, v)]).join("\n");
    assert_eq!(check(example.clone()), "");
    for (plant, says) in [
        (
            json!({"sandbox_only": 1}),
            ".sandbox_only: a field GitHub's answer does not have",
        ),
        (
            json!({"number": "1347"}),
            ".number: a string where GitHub sends a number",
        ),
        (
            json!({"title": null}),
            ".title: null where GitHub's answer never has one",
        ),
        (
            json!({"created_at": "2011-04-22 13:33:48"}),
            "where GitHub writes a time as",
        ),
    ] {
        let mut v = example.clone();
        for (k, x) in plant.as_object().unwrap() {
            v[k] = x.clone();
        }
        let found = check(v);
        assert!(found.contains(says), "{plant}: {found}");
    }
    let mut v = example.clone();
    v.as_object_mut().unwrap().remove("html_url");
    assert!(check(v).contains(".html_url: GitHub always sends it"));
    let none = published_github_problems(&[("GET".into(), "/nowhere".into(), 200, json!({}))]);
    assert!(none[0].contains("publishes no example"), "{none:?}");
}
