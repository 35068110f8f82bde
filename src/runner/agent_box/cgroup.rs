//! A turn's cgroup (cgroup v2, in afk's own delegated cgroup): its memory
//! and task limits, made by the keeper before the box
//! (docs/runners.md#the-agents-box-runnerconfine-runnerbox).

use crate::types::Invalid;
use std::path::{Path, PathBuf};

/// afk's own cgroup v2 folder, where a turn's cgroup would be made.
fn own_cgroup() -> std::result::Result<PathBuf, Invalid> {
    let root = Path::new("/sys/fs/cgroup");
    if !root.join("cgroup.controllers").exists() {
        return Err(Invalid::new(
            "the machine has no unified cgroup v2 hierarchy",
        ));
    }
    let own = std::fs::read_to_string("/proc/self/cgroup").map_err(|e| Invalid(e.to_string()))?;
    let own = cgroup_v2(&own).ok_or_else(|| Invalid::new("afk is in no cgroup v2 cgroup"))?;
    Ok(root.join(own))
}

/// The cgroup v2 folder `/proc/self/cgroup` names (its `0::` line),
/// relative to the hierarchy's root.
fn cgroup_v2(proc_self_cgroup: &str) -> Option<&str> {
    proc_self_cgroup
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(|own| own.trim_start_matches('/'))
}

/// The turn's cgroup (cgroup v2, in afk's own delegated cgroup): memory.max
/// and pids.max, the keeper moved in before the box is made.
pub(super) fn limit(
    name: &str,
    memory: Option<u64>,
    tasks: u32,
) -> std::result::Result<(), Invalid> {
    let parent = own_cgroup()?;
    let dir = parent.join(format!("afk-{name}"));
    std::fs::create_dir_all(&dir).map_err(|e| {
        Invalid(format!(
            "cannot make {}: {}",
            dir.display(),
            afk_host::os_words(&e)
        ))
    })?;
    let write = |file: &str, v: String| {
        std::fs::write(dir.join(file), v).map_err(|e| {
            Invalid(format!(
                "cannot write {}: {}",
                dir.join(file).display(),
                afk_host::os_words(&e)
            ))
        })
    };
    if let Some(m) = memory {
        write("memory.max", m.to_string())?;
    }
    if tasks > 0 {
        write("pids.max", tasks.to_string())?;
    }
    write("cgroup.procs", "0".into())
}

/// Whether afk can make a turn's cgroup here (doctor): the reason when not.
pub fn limits_in_force() -> std::result::Result<(), Invalid> {
    let parent = own_cgroup()?;
    let controllers =
        std::fs::read_to_string(parent.join("cgroup.subtree_control")).unwrap_or_default();
    for c in ["memory", "pids"] {
        if !controllers.split_whitespace().any(|x| x == c) {
            return Err(Invalid(format!(
                "afk's cgroup ({}) does not delegate the {c} controller (run the ticks in a systemd unit with Delegate=yes)",
                parent.display()
            )));
        }
    }
    let probe = parent.join(format!("afk-probe-{}", std::process::id()));
    std::fs::create_dir(&probe).map_err(|e| {
        Invalid(format!(
            "cannot make a cgroup in {}: {}",
            parent.display(),
            afk_host::os_words(&e)
        ))
    })?;
    let _ = std::fs::remove_dir(&probe);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_turns_cgroup_is_made_in_afks_own() {
        let cases = [
            (
                "0::/system.slice/afk-poll.service\n",
                Some("system.slice/afk-poll.service"),
            ),
            (
                "12:pids:/x\n1:name=systemd:/y\n0::/user.slice\n",
                Some("user.slice"),
            ),
            ("0::/\n", Some("")),
            ("12:pids:/x\n", None),
        ];
        for (text, want) in cases {
            assert_eq!(cgroup_v2(text), want, "{text:?}");
        }
    }
}
