//! What `afk sandbox --dir DIR` does with the folder it is given: a sandbox
//! starts from nothing every time (issue numbers restart at 1, so an earlier
//! sandbox's afk state would call every arming `already-handled`), and it
//! never deletes anything it did not make.

/// What is in the folder, read before anything is touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirFacts {
    pub exists: bool,
    /// it holds nothing (or only the sandbox's own lock file)
    pub empty: bool,
    /// an earlier sandbox left its marker file in it
    pub marked: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirPlan {
    /// a new or empty folder: use it as it is
    Use,
    /// an earlier sandbox's folder: remove what it left, then start over
    StartOver,
    /// someone else's files: refuse, touching nothing
    Refuse,
}

/// The marker a sandbox leaves in its folder, so a later one knows the
/// contents are a sandbox's to remove.
pub const MARKER: &str = ".afk-sandbox";

pub fn plan(f: DirFacts) -> DirPlan {
    if !f.exists || f.empty {
        DirPlan::Use
    } else if f.marked {
        DirPlan::StartOver
    } else {
        DirPlan::Refuse
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sandbox_starts_over_only_in_its_own_folder() {
        let f = |exists, empty, marked| DirFacts {
            exists,
            empty,
            marked,
        };
        let table = [
            (f(false, true, false), DirPlan::Use),
            (f(true, true, false), DirPlan::Use),
            (f(true, true, true), DirPlan::Use),
            (f(true, false, true), DirPlan::StartOver),
            (f(true, false, false), DirPlan::Refuse),
        ];
        for (facts, want) in table {
            assert_eq!(plan(facts), want, "{facts:?}");
        }
    }
}
