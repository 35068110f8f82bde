//! The journal's chain (docs/audit.md): one entry per act afk performs,
//! each hashed over the one before, so a changed, removed, inserted or
//! reordered entry is found by recomputing the chain — from the state file
//! or from an export alone, on another machine. Pure: the entries come in.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The `prev_hash` of entry 1: 64 zeros.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One entry as stored and exported (a line of `afk audit export`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// from 1, no gap
    pub seq: u64,
    /// RFC 3339, UTC
    pub at: String,
    /// the run it belongs to, if any
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<i64>,
    /// what was done: `forge.write`, `git.push`, an event's kind (`run.dispatched`, …)
    pub kind: String,
    /// canonical JSON ([`canonical`])
    pub body: String,
    /// `sha256(prev_hash ‖ seq ‖ at ‖ kind ‖ body)`, hex
    pub hash: String,
}

/// JSON with its object keys sorted at every depth and no insignificant
/// whitespace: one text for one value, whoever writes it.
pub fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let items: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&m[k])))
                .collect();
            format!("{{{}}}", items.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// An entry's hash: SHA-256 over the previous entry's hash, then the
/// sequence number in decimal, the time, the kind and the body, each
/// followed by a newline (so no two fields can run into each other), in hex.
pub fn hash(prev: &str, seq: u64, at: &str, kind: &str, body: &str) -> String {
    let mut h = Sha256::new();
    for part in [prev, &seq.to_string(), at, kind, body] {
        h.update(part.as_bytes());
        h.update(b"\n");
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The next entry after one whose hash is `prev` and sequence `last`.
pub fn next(prev: &str, last: u64, at: &str, run: Option<i64>, kind: &str, body: &Value) -> Entry {
    let body = canonical(body);
    let seq = last + 1;
    Entry {
        seq,
        hash: hash(prev, seq, at, kind, &body),
        at: at.to_string(),
        run,
        kind: kind.to_string(),
        body,
    }
}

/// What a check of the chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// every entry in place: how many, and the last one's hash
    Intact { count: u64, head: String },
    /// the first entry that is not where the chain says, and how
    Broken { seq: u64, why: Broken },
}

/// How the chain broke at an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broken {
    /// its text is not what was hashed (or its hash was rewritten)
    Changed,
    /// the entry with this sequence number is missing
    Removed,
    /// an entry that was never in the chain stands here
    Inserted,
    /// entries are out of order: this one comes later
    Reordered,
    /// the chain is shorter than, or differs from, a head published earlier
    NotThePublishedHead,
}

impl Broken {
    pub fn says(self) -> &'static str {
        match self {
            Broken::Changed => "changed",
            Broken::Removed => "removed",
            Broken::Inserted => "inserted",
            Broken::Reordered => "moved out of order",
            Broken::NotThePublishedHead => "not the head published for it",
        }
    }
}

/// Check `entries` (in the order read) from the start of the chain, and
/// against a head published earlier (`(seq, hash)`), if any. Names the first
/// entry at fault.
pub fn verify(entries: &[Entry], published: Option<(u64, &str)>) -> Verdict {
    let mut prev = GENESIS.to_string();
    let mut want = 1u64;
    for (i, e) in entries.iter().enumerate() {
        if e.seq < want {
            // a number already passed: an entry that was never in the chain
            return Verdict::Broken {
                seq: e.seq,
                why: Broken::Inserted,
            };
        }
        if e.seq > want {
            let later = entries[i + 1..].iter().any(|x| x.seq == want);
            let why = if later {
                Broken::Reordered
            } else {
                Broken::Removed
            };
            return Verdict::Broken { seq: want, why };
        }
        let h = hash(&prev, e.seq, &e.at, &e.kind, &e.body);
        if h != e.hash {
            // an entry slipped in with the next number and a fresh hash
            // chains on, but the one after it no longer does
            return Verdict::Broken {
                seq: e.seq,
                why: Broken::Changed,
            };
        }
        if let Some((seq, head)) = published
            && seq == e.seq
            && head != e.hash
        {
            return Verdict::Broken {
                seq,
                why: Broken::NotThePublishedHead,
            };
        }
        prev = e.hash.clone();
        want += 1;
    }
    let count = want - 1;
    if let Some((seq, _)) = published
        && seq > count
    {
        return Verdict::Broken {
            seq: count + 1,
            why: Broken::NotThePublishedHead,
        };
    }
    Verdict::Intact { count, head: prev }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chain(n: u64) -> Vec<Entry> {
        let mut out: Vec<Entry> = vec![];
        for i in 1..=n {
            let (prev, last) = out
                .last()
                .map(|e| (e.hash.clone(), e.seq))
                .unwrap_or((GENESIS.to_string(), 0));
            let at = format!("2026-11-29T12:00:0{i}Z");
            out.push(next(
                &prev,
                last,
                &at,
                Some(1),
                "forge.write",
                &json!({"n": i, "a": "x"}),
            ));
        }
        out
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth_and_drops_whitespace() {
        let cases = [
            (
                json!({"b": 1, "a": {"d": [1, {"z": 0, "y": 1}], "c": "x"}}),
                r#"{"a":{"c":"x","d":[1,{"y":1,"z":0}]},"b":1}"#,
            ),
            (json!([]), "[]"),
            (json!({"q": "a\"b\n"}), r#"{"q":"a\"b\n"}"#),
            (json!(null), "null"),
        ];
        for (v, want) in cases {
            assert_eq!(canonical(&v), want);
        }
    }

    #[test]
    fn an_entrys_hash_covers_every_field_and_the_previous_hash() {
        let base = hash(GENESIS, 1, "t", "k", "{}");
        assert_eq!(base.len(), 64);
        for other in [
            hash("1", 1, "t", "k", "{}"),
            hash(GENESIS, 2, "t", "k", "{}"),
            hash(GENESIS, 1, "u", "k", "{}"),
            hash(GENESIS, 1, "t", "j", "{}"),
            hash(GENESIS, 1, "t", "k", "{ }"),
            // fields cannot run into each other
            hash(GENESIS, 1, "tk", "", "{}"),
        ] {
            assert_ne!(base, other);
        }
    }

    /// The verifier names the first entry at fault, and how, for each way
    /// a chain can be tampered with.
    #[test]
    fn verify_names_the_first_changed_removed_inserted_or_reordered_entry() {
        let intact = chain(5);
        let head = intact[4].hash.clone();
        let mut changed = intact.clone();
        changed[2].body = changed[2].body.replace('x', "y");
        let mut rehashed = changed.clone();
        rehashed[2].hash = hash(
            &rehashed[1].hash,
            3,
            &rehashed[2].at,
            "forge.write",
            &rehashed[2].body,
        );
        let mut removed = intact.clone();
        removed.remove(2);
        let mut swapped = intact.clone();
        swapped.swap(1, 2);
        let mut inserted = intact.clone();
        let extra = next(&intact[1].hash, 1, "t", None, "forge.write", &json!({}));
        inserted.insert(2, extra);
        let mut last_removed = intact.clone();
        last_removed.pop();
        type Case<'a> = (&'a str, &'a [Entry], Option<(u64, &'a str)>, Verdict);
        let cases: Vec<Case> = vec![
            (
                "intact",
                &intact,
                None,
                Verdict::Intact {
                    count: 5,
                    head: head.clone(),
                },
            ),
            (
                "intact against its head",
                &intact,
                Some((5, head.as_str())),
                Verdict::Intact {
                    count: 5,
                    head: head.clone(),
                },
            ),
            (
                "a byte changed",
                &changed,
                None,
                Verdict::Broken {
                    seq: 3,
                    why: Broken::Changed,
                },
            ),
            (
                "changed and its hash rewritten: the next no longer chains",
                &rehashed,
                None,
                Verdict::Broken {
                    seq: 4,
                    why: Broken::Changed,
                },
            ),
            (
                "one removed",
                &removed,
                None,
                Verdict::Broken {
                    seq: 3,
                    why: Broken::Removed,
                },
            ),
            (
                "two swapped",
                &swapped,
                None,
                Verdict::Broken {
                    seq: 2,
                    why: Broken::Reordered,
                },
            ),
            (
                "one inserted",
                &inserted,
                None,
                Verdict::Broken {
                    seq: 2,
                    why: Broken::Inserted,
                },
            ),
            (
                "the last removed: only a published head tells",
                &last_removed,
                Some((5, head.as_str())),
                Verdict::Broken {
                    seq: 5,
                    why: Broken::NotThePublishedHead,
                },
            ),
            (
                "empty",
                &[],
                None,
                Verdict::Intact {
                    count: 0,
                    head: GENESIS.into(),
                },
            ),
        ];
        for (name, entries, published, want) in cases {
            assert_eq!(verify(entries, published), want, "{name}");
        }
    }
}
