//! The organization's URL: `https://dev.azure.com/<org>` or
//! `https://<org>.visualstudio.com`, used as written; anything else only on
//! loopback, for the sandbox. And where its identities are read
//! (`vssps_url`'s default).

use crate::secrets::has_user_info;

/// What is wrong with `url` as `forge.url` of `kind = "azure-devops"`, or None.
pub fn url_problem(url: &str) -> Option<String> {
    let url = url.trim_end_matches('/');
    if has_user_info(url) || url.contains(['?', '#']) || url.contains(char::is_whitespace) {
        return Some(format!("\"{url}\" is not an organization's URL"));
    }
    if let Some(rest) = url.strip_prefix("https://") {
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        if host.eq_ignore_ascii_case("dev.azure.com") {
            return (!is_segment(path)).then(|| {
                format!(
                    "\"{url}\" is not https://dev.azure.com/<organization> (one segment, no path beyond it)"
                )
            });
        }
        if let Some(org) = strip_suffix_ci(host, ".visualstudio.com") {
            return (!is_segment(org) || !path.is_empty()).then(|| {
                format!("\"{url}\" is not https://<organization>.visualstudio.com (no path)")
            });
        }
    }
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    match rest {
        Some(r) if is_loopback(r.split('/').next().unwrap_or("")) => {
            let path = r.split_once('/').map_or("", |(_, p)| p);
            (!is_segment(path)).then(|| {
                format!("\"{url}\": on loopback, the sandbox's organization is one path segment")
            })
        }
        _ => Some(format!(
            "\"{url}\" is not https://dev.azure.com/<organization> or https://<organization>.visualstudio.com (another URL is taken only on loopback, for the sandbox)"
        )),
    }
}

/// The organization `url` names (its last segment, or the host's first label).
pub fn organization(url: &str) -> String {
    let url = url.trim_end_matches('/');
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    if !path.is_empty() {
        return path.rsplit('/').next().unwrap_or("").to_string();
    }
    host.split('.').next().unwrap_or("").to_string()
}

/// `vssps_url` when not set: `https://vssps.dev.azure.com/<org>`; on
/// loopback (the sandbox), `url` itself, which serves the identities too.
pub fn default_vssps_url(url: &str) -> String {
    let url = url.trim_end_matches('/');
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    if is_loopback(rest.split('/').next().unwrap_or("")) {
        return url.to_string();
    }
    format!("https://vssps.dev.azure.com/{}", organization(url))
}

/// `localhost`, 127.0.0.0/8 or ::1, with or without a port (as
/// `afk_core::hosts::is_loopback`, which this crate cannot name).
fn is_loopback(authority: &str) -> bool {
    let host = if let Some(rest) = authority.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        match authority.rsplit_once(':') {
            Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
            _ => authority,
        }
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|a| a.is_loopback())
        || host
            .parse::<std::net::Ipv6Addr>()
            .is_ok_and(|a| a.is_loopback())
}

fn is_segment(s: &str) -> bool {
    !s.is_empty() && !s.contains('/') && s != "." && s != ".."
}

fn strip_suffix_ci<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(suffix.len())?;
    (s.is_char_boundary(cut) && s[cut..].eq_ignore_ascii_case(suffix)).then(|| &s[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (forge.url, whether it is an organization's URL)
    #[test]
    fn an_organization_s_url_is_dev_azure_com_or_visualstudio_com_else_loopback() {
        let cases = [
            ("https://dev.azure.com/fabrikam", true),
            ("https://dev.azure.com/fabrikam/", true),
            ("https://fabrikam.visualstudio.com", true),
            ("https://dev.azure.com/fabrikam/Project", false),
            ("https://dev.azure.com", false),
            ("http://dev.azure.com/fabrikam", false),
            ("https://fabrikam.visualstudio.com/DefaultCollection", false),
            ("https://user:pat@dev.azure.com/fabrikam", false),
            ("https://dev.azure.com/fabrikam?x=1", false),
            ("https://ado.example.org/fabrikam", false),
            ("http://127.0.0.1:8080/fabrikam", true),
            ("http://localhost:8080/fabrikam", true),
            ("http://127.0.0.1:8080/fabrikam/extra", false),
            ("http://10.0.0.1:8080/fabrikam", false),
        ];
        for (url, ok) in cases {
            assert_eq!(
                url_problem(url).is_none(),
                ok,
                "{url}: {:?}",
                url_problem(url)
            );
        }
    }

    #[test]
    fn identities_are_read_at_the_organization_s_identity_service_or_the_sandbox() {
        let cases = [
            (
                "https://dev.azure.com/fabrikam",
                "https://vssps.dev.azure.com/fabrikam",
            ),
            (
                "https://fabrikam.visualstudio.com/",
                "https://vssps.dev.azure.com/fabrikam",
            ),
            ("http://127.0.0.1:9/fabrikam", "http://127.0.0.1:9/fabrikam"),
        ];
        for (url, want) in cases {
            assert_eq!(default_vssps_url(url), want, "{url}");
        }
    }
}
