//! A Secret's or ConfigMap's volume as the kubelet's atomic writer makes it
//! (pkg/volume/util/atomic_writer.go): the keys are regular files in a
//! folder `..<timestamp>` of the volume, a link `..data` names that folder,
//! and each key the pod sees is a link `key -> ..data/key`. So a container
//! that opens a key with `O_NOFOLLOW` fails here as on a cluster (`ELOOP`),
//! and one that follows links reads it. The files are moded and owned as
//! `kube_user::projected` says (`items[].mode`, `defaultMode`, `fsGroup`).

use super::kube_user;
use std::path::{Component, Path};

/// One key to write: its path in the volume, its text, its item's own mode.
pub(super) type File = (String, String, Option<u32>);

/// The kubelet's rule for an item's path: relative, no `..` element, not
/// starting with `..` (its own names).
fn valid(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with("..")
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// The timestamped folder's name, as the kubelet spells it
/// (`..2006_01_02_15_04_05.<digits>`).
fn stamped() -> String {
    let t = time::OffsetDateTime::now_utc();
    format!(
        "..{:04}_{:02}_{:02}_{:02}_{:02}_{:02}.{}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond()
    )
}

/// Write `files` into the empty folder `dir` as the atomic writer does.
pub(super) fn write(
    dir: &Path,
    files: &[File],
    default_mode: Option<u32>,
    fs_group: Option<u32>,
) -> std::io::Result<()> {
    use std::os::unix::fs::symlink;
    let ts = stamped();
    let ts_dir = dir.join(&ts);
    std::fs::create_dir(&ts_dir)?;
    let dir_mode = |d: &Path| match fs_group {
        Some(g) => kube_user::own(d, 0o2755, g),
        None => kube_user::own(d, 0o755, 0),
    };
    dir_mode(&ts_dir);
    let mut linked = std::collections::BTreeSet::new();
    for (path, text, item_mode) in files {
        if !valid(path) {
            continue;
        }
        let file = ts_dir.join(path);
        if let Some(parent) = file.parent().filter(|p| *p != ts_dir) {
            std::fs::create_dir_all(parent)?;
            for d in parent.ancestors().take_while(|d| *d != ts_dir) {
                dir_mode(d);
            }
        }
        std::fs::write(&file, text)?;
        let (m, g) = kube_user::projected(*item_mode, default_mode, fs_group);
        kube_user::own(&file, m, g);
        // the link the pod sees: the path's first element, through ..data
        let top = path.split('/').next().unwrap_or(path);
        if linked.insert(top.to_string()) {
            symlink(format!("..data/{top}"), dir.join(top))?;
        }
    }
    symlink(&ts, dir.join("..data_tmp"))?;
    std::fs::rename(dir.join("..data_tmp"), dir.join("..data"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_volume_is_written_as_the_atomic_writer_writes_it() {
        let dir = std::env::temp_dir().join(format!("afk-kube-volume-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let files: Vec<File> = vec![
            ("username".into(), "afk-bot".into(), None),
            ("nested/key".into(), "deep".into(), Some(0o600)),
            ("../escape".into(), "no".into(), None),
            ("..data".into(), "no".into(), None),
        ];
        write(&dir, &files, Some(0o440), None).unwrap();
        let data = std::fs::read_link(dir.join("..data")).unwrap();
        let ts = data.to_str().unwrap();
        assert!(ts.starts_with("..") && !ts.contains('/'), "{ts}");
        assert_eq!(
            std::fs::read_link(dir.join("username")).unwrap(),
            Path::new("..data/username")
        );
        assert_eq!(
            std::fs::read_link(dir.join("nested")).unwrap(),
            Path::new("..data/nested")
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("username")).unwrap(),
            "afk-bot"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("nested/key")).unwrap(),
            "deep"
        );
        let meta = std::fs::symlink_metadata(dir.join(ts).join("username")).unwrap();
        assert!(meta.is_file());
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(meta.permissions().mode() & 0o777, 0o440);
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            !names.iter().any(|n| n == "escape" || n == "..data_tmp"),
            "{names:?}"
        );
        assert!(!dir.parent().unwrap().join("escape").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
