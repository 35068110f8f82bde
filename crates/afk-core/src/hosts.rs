//! What a URL's authority names, as the upgrade flow and the registry's
//! auth read it: a leaf of the core's modules (named by `upgrade` and
//! `registry_auth`, naming none).

/// `localhost`, 127.0.0.0/8 or ::1, with or without a port.
pub fn is_loopback(authority: &str) -> bool {
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let authority = authority.split('/').next().unwrap_or(authority);
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
