//! A delivery sent form-encoded: `payload=<the JSON, percent-encoded>`, the
//! content type GitHub's webhooks default to (`form`) and one Gitea and
//! Forgejo offer. What the signature covers differs: GitHub signs the body
//! as sent, Gitea and Forgejo the JSON the form carries
//! (docs/fidelity/github.md, docs/fidelity/gitea.md).

use super::{Sender, header};

/// How a delivery's body carries its JSON, by its `Content-Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// the body is the JSON (`application/json`, or no type said)
    Json,
    /// `application/x-www-form-urlencoded`: the JSON is its `payload` field
    Form,
}

/// The encoding `headers` say: `application/x-www-form-urlencoded` (any
/// case, any parameters after `;`) is a form; anything else is read as JSON.
pub fn encoding(headers: &[(String, String)]) -> Encoding {
    let media = header(headers, "Content-Type")
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .unwrap_or("");
    if media.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        Encoding::Form
    } else {
        Encoding::Json
    }
}

impl Sender {
    /// Whether this kind signs a form delivery's JSON (its `payload`), not
    /// the body as sent: Gitea and Forgejo sign the payload they then
    /// form-encode (`services/webhook/deliver.go`); GitHub signs the bytes
    /// it sends; GitLab and Azure DevOps send JSON only and sign no body.
    pub fn signs_the_payload(self) -> bool {
        matches!(self, Sender::Gitea)
    }
}

/// The JSON a form body carries: its one `payload` field, percent-decoded
/// with `+` as a space. None: no `payload` field, more than one, or an
/// escape that is not `%` and two hex digits.
pub fn payload(body: &[u8]) -> Option<Vec<u8>> {
    let mut found: Option<Vec<u8>> = None;
    for field in body.split(|b| *b == b'&') {
        let (name, value) = match field.iter().position(|b| *b == b'=') {
            Some(i) => (&field[..i], &field[i + 1..]),
            None => (field, &field[field.len()..]),
        };
        if decode(name)? != b"payload" {
            continue;
        }
        if found.is_some() {
            return None;
        }
        found = Some(decode(value)?);
    }
    found
}

/// `s` percent-decoded, `+` a space; None on a bad escape.
fn decode(s: &[u8]) -> Option<Vec<u8>> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = hex(*s.get(i + 1)?)?;
                let lo = hex(*s.get(i + 2)?)?;
                out.push(hi * 16 + lo);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_form_is_what_its_content_type_says() {
        let table = [
            (
                vec![("Content-Type", "application/x-www-form-urlencoded")],
                Encoding::Form,
            ),
            (
                vec![(
                    "content-type",
                    "Application/X-WWW-Form-Urlencoded; charset=utf-8",
                )],
                Encoding::Form,
            ),
            (vec![("Content-Type", "application/json")], Encoding::Json),
            (vec![], Encoding::Json),
            (
                vec![("Content-Type", "multipart/form-data")],
                Encoding::Json,
            ),
        ];
        for (headers, want) in table {
            assert_eq!(encoding(&h(&headers)), want, "{headers:?}");
        }
    }

    #[test]
    fn a_forms_json_is_its_one_payload_field_decoded() {
        let table: [(&str, Option<&str>); 8] = [
            ("payload=%7B%22a%22%3A+1%7D", Some(r#"{"a": 1}"#)),
            ("x=1&payload=%7B%7D&y=2", Some("{}")),
            ("payload=a%2Bb+c", Some("a+b c")),
            ("pay%6Coad=%7B%7D", Some("{}")),
            ("payload=%7B%7D&payload=%7B%7D", None),
            ("x=1", None),
            ("payload=%7", None),
            ("payload=%zz", None),
        ];
        for (body, want) in table {
            let got = payload(body.as_bytes()).map(|b| String::from_utf8(b).unwrap());
            assert_eq!(got.as_deref(), want, "{body}");
        }
    }

    #[test]
    fn gitea_signs_a_forms_payload_github_the_body_as_sent() {
        assert!(Sender::Gitea.signs_the_payload());
        assert!(!Sender::Github.signs_the_payload());
        assert!(!Sender::Gitlab.signs_the_payload());
        assert!(!Sender::AzureDevops.signs_the_payload());
    }
}
