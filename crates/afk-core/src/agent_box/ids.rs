//! Who the agent is, inside the box and outside it: the user it is inside
//! ([`BOX_UID`]), the map of the user namespace the keeper makes for a
//! box's network, and (afk as root) the box's host ids: one that is
//! nobody's, no account's and in no subordinate range
//! (docs/runners.md#the-boxs-user).

/// The user and group the agent is inside the box.
pub(crate) const BOX_UID: u32 = 1000;

/// The `uid_map` (or `gid_map`) of the user namespace the keeper makes for
/// a box's network (network = model): its root is `host` outside, afk's
/// own user or, afk as root, the box's unprivileged host user; bubblewrap
/// runs in it as that root and maps [`BOX_UID`] onto it, so what the agent
/// creates belongs to `host` and nothing of the box is root outside.
pub fn netns_maps(host: u32) -> String {
    format!("0 {host} 1")
}

/// Where the box's default host ids are looked for (afk as root, with no
/// `afk-agent` account and no `runner.box.user`): above the subordinate
/// ranges `useradd` hands out (from 100000, 65536 each) and systemd's
/// container ranges, below 2^31 (docs/runners.md#the-boxs-user).
pub const HOST_ID_BASE: u32 = 1_900_000_000;

/// The ranges of an `/etc/subuid` or `/etc/subgid` text (`name:start:count`
/// lines; others skipped): (start, count).
pub fn sub_ranges(text: &str) -> Vec<(u64, u64)> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.trim().split(':');
            let (_, start, count) = (f.next()?, f.next()?, f.next()?);
            Some((start.trim().parse().ok()?, count.trim().parse().ok()?))
        })
        .collect()
}

/// Why host id `id` is somebody's: an account has it (`account`), or a
/// subordinate range covers it (another user's namespaces map it); None:
/// nobody's.
pub fn id_taken(id: u32, account: bool, ranges: &[(u64, u64)], what: &str) -> Option<String> {
    if account {
        return Some(format!("{what} {id} is an account's on this machine"));
    }
    ranges
        .iter()
        .find(|(start, count)| u64::from(id) >= *start && u64::from(id) < start.saturating_add(*count))
        .map(|(start, count)| {
            format!(
                "{what} {id} is in the subordinate range {start}-{} of /etc/sub{}id: another user's namespaces map it, and its processes could reach the box's files",
                start + count - 1,
                if what == "uid" { "u" } else { "g" }
            )
        })
}

/// The first id from [`HOST_ID_BASE`] that is nobody's ([`id_taken`]),
/// `taken_by_account` telling an account's ids.
pub fn free_host_id(taken_by_account: impl Fn(u32) -> bool, ranges: &[(u64, u64)]) -> u32 {
    (HOST_ID_BASE..HOST_ID_BASE.saturating_add(1 << 20))
        .find(|id| id_taken(*id, taken_by_account(*id), ranges, "uid").is_none())
        .unwrap_or(HOST_ID_BASE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_boxs_host_user_is_nobodys_no_account_and_no_subordinate_range() {
        let ranges = sub_ranges(
            "alice:100000:65536\n# comment\nbob:165536:65536\nbad line\ncarol:1900000000:3\n",
        );
        assert_eq!(
            ranges,
            [(100_000, 65_536), (165_536, 65_536), (1_900_000_000, 3)]
        );
        // (id, an account's, taken)
        let cases = [
            (100_000, false, true),
            (165_535, false, true),
            (231_072, false, false),
            (1_000, true, true),
            (1_900_000_002, false, true),
            (1_900_000_003, false, false),
        ];
        for (id, account, taken) in cases {
            assert_eq!(
                id_taken(id, account, &ranges, "uid").is_some(),
                taken,
                "{id}"
            );
        }
        // the default: the first free id from the base
        assert_eq!(free_host_id(|_| false, &ranges), 1_900_000_003);
        assert_eq!(
            free_host_id(|id| id == 1_900_000_003, &ranges),
            1_900_000_004
        );
        assert_eq!(free_host_id(|_| false, &[]), HOST_ID_BASE);
    }
}
