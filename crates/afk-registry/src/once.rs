//! A tick's tag lookups shared across the threads that want them (upgrade's
//! pipeline, `ops/upgrade/gather.rs`).

use crate::{ImageRef, Registry, RegistryError};
use std::collections::HashMap;
use std::sync::Mutex;

/// Each repository's tags asked once per tick, whichever recipe wants them
/// first and however many ask at the same moment: the others wait for that
/// one answer (upgrade's pipeline, where each recipe's lookups start as soon
/// as its compose file is read).
pub struct Once<'a> {
    reg: &'a dyn Registry,
    asked: Mutex<HashMap<Repository, std::sync::Arc<TagsCell>>>,
}

/// A repository: its registry host (None: Docker Hub) and path.
type Repository = (Option<String>, String);

type TagsCell = std::sync::OnceLock<Result<Vec<String>, RegistryError>>;

impl<'a> Once<'a> {
    pub fn new(reg: &'a dyn Registry) -> Once<'a> {
        Once {
            reg,
            asked: Mutex::new(HashMap::new()),
        }
    }

    /// `image`'s repository's tags: asked now, or the answer already asked.
    pub fn tags(&self, image: &ImageRef) -> Result<Vec<String>, RegistryError> {
        let key = (image.registry_host.clone(), image.repository.clone());
        let cell = {
            let mut asked = self.asked.lock().unwrap_or_else(|e| e.into_inner());
            asked.entry(key).or_default().clone()
        };
        cell.get_or_init(|| self.reg.tags(image)).clone()
    }

    /// The registry itself (`min_release_age`'s reads).
    pub fn registry(&self) -> &'a dyn Registry {
        self.reg
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting(AtomicUsize);

    impl Registry for Counting {
        fn tags(&self, image: &ImageRef) -> Result<Vec<String>, RegistryError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(vec![image.repository.clone()])
        }
    }

    #[test]
    fn each_repository_is_asked_once_however_many_threads_want_it() {
        let reg = Counting(AtomicUsize::new(0));
        let once = Once::new(&reg);
        let images: Vec<ImageRef> = ["nginx:1.25", "nginx:1.26", "postgres:15", "nginx"]
            .iter()
            .map(|s| ImageRef::parse(s).unwrap())
            .collect();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for i in &images {
                        assert_eq!(once.tags(i).unwrap(), vec![i.repository.clone()]);
                    }
                });
            }
        });
        assert_eq!(reg.0.load(Ordering::SeqCst), 2, "nginx and postgres");
    }
}
