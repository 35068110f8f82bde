//! A Microsoft Entra access token's expiry: afk reads the `exp` claim of
//! the token's payload without verifying it (the token is Azure DevOps's
//! to check), and refuses a token that expired or expires before the
//! tick's deadline, before any request is made with it.

use serde_json::Value;

/// The longest token read: Entra access tokens are a few kilobytes.
const MAX_TOKEN: usize = 16 * 1024;

/// The `exp` claim (Unix seconds) of JWT `token`: its middle segment,
/// base64url without padding, a JSON object with a numeric `exp`.
// Err is a string: doctor's line shows it as it is, nothing decides on it
pub fn expiry(token: &str) -> Result<i64, String> {
    if token.len() > MAX_TOKEN {
        return Err(format!("it is longer than {MAX_TOKEN} bytes"));
    }
    let mut parts = token.trim().split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("it is not a JWT (three dot-separated parts)".into());
    };
    let bytes = crate::base64::decode(payload, crate::base64::Alphabet::Url)
        .ok_or("its payload is not base64url")?;
    let claims: Value =
        serde_json::from_slice(&bytes).map_err(|_| "its payload is not JSON".to_string())?;
    claims["exp"]
        .as_i64()
        .ok_or_else(|| "it has no numeric exp claim".to_string())
}

/// Why a token whose `exp` is `exp` cannot be used by a tick started at
/// `now` that may run until `now + deadline_secs`; None when it can.
pub fn refusal(exp: i64, now: i64, deadline_secs: i64) -> Option<String> {
    if exp <= now {
        Some(format!("it expired {}s ago", now - exp))
    } else if exp <= now.saturating_add(deadline_secs) {
        Some(format!(
            "it expires in {}s, before the tick's deadline ({deadline_secs}s)",
            exp - now
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JWT whose payload is `json` (header and signature placeholders).
    fn jwt(json: &str) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut enc = String::new();
        for chunk in json.as_bytes().chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                enc.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        format!("eyJhbGciOiJSUzI1NiJ9.{enc}.c2ln")
    }

    #[test]
    fn entra_expiry_is_the_payloads_exp_claim_read_unverified() {
        let cases: [(String, Result<i64, &str>); 6] = [
            (
                jwt(r#"{"aud":"499b84ac","exp":1800000000}"#),
                Ok(1_800_000_000),
            ),
            (jwt(r#"{"exp":1}"#), Ok(1)),
            (jwt(r#"{"aud":"x"}"#), Err("it has no numeric exp claim")),
            (jwt(r#"{"exp":"soon"}"#), Err("it has no numeric exp claim")),
            (
                "not-a-jwt".into(),
                Err("it is not a JWT (three dot-separated parts)"),
            ),
            ("a.@@@.c".into(), Err("its payload is not base64url")),
        ];
        for (token, want) in cases {
            assert_eq!(expiry(&token), want.map_err(str::to_string), "case {token}");
        }
    }

    #[test]
    fn entra_token_expired_or_expiring_before_the_deadline_is_refused() {
        // (exp, now, deadline) → refused?
        let cases = [
            (1_000, 2_000, 60, Some("it expired 1000s ago")),
            (2_000, 2_000, 60, Some("it expired 0s ago")),
            (
                2_030,
                2_000,
                60,
                Some("it expires in 30s, before the tick's deadline (60s)"),
            ),
            (2_061, 2_000, 60, None),
            (
                i64::MAX,
                2_000,
                i64::MAX,
                Some(
                    "it expires in 9223372036854773807s, before the tick's deadline (9223372036854775807s)",
                ),
            ),
        ];
        for (exp, now, deadline, want) in cases {
            assert_eq!(
                refusal(exp, now, deadline).as_deref(),
                want,
                "case exp {exp} now {now}"
            );
        }
    }
}
