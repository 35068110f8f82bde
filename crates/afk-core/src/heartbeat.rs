//! Which heartbeat URL a tick pings, and with what suffix (`[notify]`,
//! docs/operations.md#monitoring-a-check-per-schedule):
//! `[notify.heartbeat].<tick>` names the variable for one tick kind, else
//! `heartbeat_env`; a `{tick}` in the URL becomes the tick's kind, so each
//! schedule has its own check and a dead cron line is noticed; `/start` before
//! the work, nothing after a success, `/fail` after a failure (the
//! healthchecks.io convention; a query string stays at the end).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ping {
    /// the tick opened and is about to work
    Start,
    /// the tick finished without an error
    Success,
    /// the tick failed, in part or whole
    Fail,
}

/// The variable naming this tick's URL: the per-tick one when set, else the
/// common one; None when neither is set.
pub fn variable<'a>(common: &'a str, per_tick: &'a str) -> Option<&'a str> {
    [per_tick, common]
        .into_iter()
        .map(str::trim)
        .find(|v| !v.is_empty())
}

/// The URL to ping: `{tick}` replaced, the suffix added before any query.
pub fn url(base: &str, tick: crate::types::TickKind, ping: Ping) -> String {
    let base = base.trim().replace("{tick}", tick.as_str());
    let (path, query) = match base.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (base, None),
    };
    let suffix = match ping {
        Ping::Start => "/start",
        Ping::Success => "",
        Ping::Fail => "/fail",
    };
    let path = format!("{}{suffix}", path.trim_end_matches('/'));
    match query {
        Some(q) => format!("{path}?{q}"),
        None => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_per_tick_variable_wins_over_the_common_one() {
        let table = [
            ("", "", None),
            ("AFK_HB", "", Some("AFK_HB")),
            ("AFK_HB", "AFK_HB_WATCH", Some("AFK_HB_WATCH")),
            ("", "AFK_HB_WATCH", Some("AFK_HB_WATCH")),
            (" ", "  ", None),
        ];
        for (common, per, want) in table {
            assert_eq!(variable(common, per), want, "{common:?} {per:?}");
        }
    }

    #[test]
    fn a_ping_url_names_its_tick_and_ends_in_its_suffix() {
        use crate::types::TickKind;
        let table = [
            (
                "https://hc.example/abc",
                TickKind::Poll,
                Ping::Success,
                "https://hc.example/abc",
            ),
            (
                "https://hc.example/abc/",
                TickKind::Poll,
                Ping::Start,
                "https://hc.example/abc/start",
            ),
            (
                "https://hc.example/abc",
                TickKind::Poll,
                Ping::Fail,
                "https://hc.example/abc/fail",
            ),
            (
                "https://hc.example/afk-{tick}",
                TickKind::Watch,
                Ping::Start,
                "https://hc.example/afk-watch/start",
            ),
            (
                "https://hc.example/ping/key/{tick}?create=1",
                TickKind::Harvest,
                Ping::Fail,
                "https://hc.example/ping/key/harvest/fail?create=1",
            ),
            (
                " https://hc.example/x \n",
                TickKind::Upgrade,
                Ping::Success,
                "https://hc.example/x",
            ),
        ];
        for (base, tick, ping, want) in table {
            assert_eq!(url(base, tick, ping), want, "{base:?} {ping:?}");
        }
    }
}
