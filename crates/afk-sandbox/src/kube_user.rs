//! Whom a container runs as, and the files its volumes hold, as a kubelet
//! makes them: a container runs as the user its spec names (the container's
//! `securityContext.runAsUser`, else the pod's), its group `runAsGroup` (the
//! image's, here 0, when unset), with the pod's `fsGroup` and
//! `supplementalGroups` as supplementary groups. A Secret's or ConfigMap's
//! files are root's, moded `items[].mode`, else `defaultMode` (0644); with an
//! `fsGroup` they are that group's and group-readable (`mode | 0440`:
//! kubernetes/kubernetes#57923). An `emptyDir` is 0777 (with an `fsGroup`,
//! that group's, set-group-id).
//!
//! Switching users needs root: a sandbox run as root (as CI runs the tests)
//! runs each container as its spec's user, so a Secret its user cannot read
//! fails as it would on a cluster; a sandbox run as anyone else runs every
//! container as itself (the files still moded as the kubelet makes them),
//! and says so once on its standard error.

use serde_json::Value;
use std::path::Path;

/// The user, group and supplementary groups of one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RunAs {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

fn id(v: &Value) -> Option<u32> {
    v.as_u64().and_then(|n| u32::try_from(n).ok())
}

/// Whom `ctr` runs as in `pod` (a pod spec); None when neither names a user
/// (the image's user: the sandbox's own).
pub(super) fn run_as(pod: &Value, ctr: &Value) -> Option<RunAs> {
    let (p, c) = (&pod["securityContext"], &ctr["securityContext"]);
    let uid = id(&c["runAsUser"]).or_else(|| id(&p["runAsUser"]))?;
    let gid = id(&c["runAsGroup"])
        .or_else(|| id(&p["runAsGroup"]))
        .unwrap_or(0);
    let mut groups: Vec<u32> = id(&p["fsGroup"]).into_iter().collect();
    groups.extend(
        p["supplementalGroups"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(id),
    );
    Some(RunAs { uid, gid, groups })
}

/// The mode and group of a Secret's or ConfigMap's file, as the kubelet
/// writes it: `item_mode`, else `default_mode`, else 0644; root's group, or
/// the pod's `fsGroup` with group read added.
pub(super) fn projected(
    item_mode: Option<u32>,
    default_mode: Option<u32>,
    fs_group: Option<u32>,
) -> (u32, u32) {
    let mode = item_mode.or(default_mode).unwrap_or(0o644) & 0o777;
    match fs_group {
        Some(g) => (mode | 0o440, g),
        None => (mode, 0),
    }
}

/// Whether this process may give files away and switch users (root).
pub(super) fn root() -> bool {
    // SAFETY: geteuid(2) cannot fail
    unsafe { libc::geteuid() == 0 }
}

/// Set `path`'s mode, and with root its owner (root) and group.
pub(super) fn own(path: &Path, mode: u32, gid: u32) {
    use std::os::unix::fs::PermissionsExt;
    if root() {
        let _ = std::os::unix::fs::chown(path, Some(0), Some(gid));
    }
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
}

/// An `emptyDir` as the kubelet makes it.
pub(super) fn empty_dir(path: &Path, fs_group: Option<u32>) {
    match fs_group {
        Some(g) => own(path, 0o2777, g),
        None => own(path, 0o777, 0),
    }
}

/// Let other users walk through `dirs` (search only, never list): the
/// sandbox's own folder and the cluster's down to a pod's volumes, so a
/// container run as its spec's user reaches its pod's folder (the sandbox
/// makes its folders private, 0700); with root only.
pub(super) fn reachable(dirs: &[&Path]) {
    use std::os::unix::fs::PermissionsExt;
    if !root() {
        return;
    }
    for d in dirs {
        if let Ok(m) = std::fs::metadata(d) {
            let mode = m.permissions().mode() & 0o7777;
            // group too: a container without runAsGroup is in group 0, root's
            if mode & 0o011 != 0o011 {
                let _ = std::fs::set_permissions(d, std::fs::Permissions::from_mode(mode | 0o011));
            }
        }
    }
}

/// Give `path` to the container's user (its home).
pub(super) fn give(path: &Path, r: &RunAs) {
    if root() {
        let _ = std::os::unix::fs::chown(path, Some(r.uid), Some(r.gid));
    }
}

/// A sandbox that is not root cannot run a container as another user: it
/// says so, once, rather than let a test pass that a cluster would fail.
fn not_switched(r: &RunAs) {
    static SAID: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    // SAFETY: geteuid(2) cannot fail
    let me = unsafe { libc::geteuid() };
    if r.uid != me && !SAID.swap(true, std::sync::atomic::Ordering::Relaxed) {
        eprintln!(
            "afk sandbox: not root, so the cluster's containers run as this process's user (uid {me}), not as the user their spec names (runAsUser {}): what that user could not read is read here",
            r.uid
        );
    }
}

/// Make the child run as `r`: its groups, then its group, then its user,
/// before exec (only root may; anyone else runs it as itself).
pub(super) fn switch(cmd: &mut std::process::Command, r: &RunAs) {
    use std::os::unix::process::CommandExt;
    if !root() {
        not_switched(r);
        return;
    }
    let r = r.clone();
    // SAFETY: setgroups(2), setgid(2) and setuid(2) between fork and exec:
    // async-signal-safe, on memory this closure owns
    unsafe {
        cmd.pre_exec(move || {
            // a container's files as a runtime makes them, not afk's private 077
            libc::umask(0o022);
            if libc::setgroups(r.groups.len(), r.groups.as_ptr()) != 0
                || libc::setgid(r.gid) != 0
                || libc::setuid(r.uid) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_container_runs_as_its_specs_user_with_the_pods_groups() {
        let pod = json!({"securityContext": {"runAsUser": 1000, "fsGroup": 2000, "supplementalGroups": [3000]}});
        let cases = [
            (
                "the pod's user, group 0",
                json!({}),
                Some((1000, 0, vec![2000, 3000])),
            ),
            (
                "the container's own",
                json!({"securityContext": {"runAsUser": 7, "runAsGroup": 8}}),
                Some((7, 8, vec![2000, 3000])),
            ),
        ];
        for (rule, ctr, want) in cases {
            let got = run_as(&pod, &ctr).map(|r| (r.uid, r.gid, r.groups));
            assert_eq!(got, want, "{rule}");
        }
        assert_eq!(
            run_as(&json!({}), &json!({})),
            None,
            "no user named: the image's"
        );
    }

    #[test]
    fn a_secrets_files_are_moded_as_the_kubelet_writes_them() {
        let cases = [
            (
                "defaultMode, no fsGroup",
                None,
                Some(0o400),
                None,
                (0o400, 0),
            ),
            (
                "fsGroup adds group read",
                None,
                Some(0o400),
                Some(1000),
                (0o440, 1000),
            ),
            (
                "an item's mode first",
                Some(0o600),
                Some(0o400),
                None,
                (0o600, 0),
            ),
            ("0644 by default", None, None, None, (0o644, 0)),
        ];
        for (rule, item, default, fs, want) in cases {
            assert_eq!(projected(item, default, fs), want, "{rule}");
        }
    }
}
