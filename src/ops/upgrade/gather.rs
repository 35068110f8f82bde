//! The reads of one upgrade tick, all at once in one pool bounded by
//! `forge.concurrency`: each recipe's upstream clone and compose files, then
//! at once its images' tags (each image once per tick, `registry::Once`),
//! beside each mirror's PRs and `main`.

use super::fault::Fault;
use crate::core::upgrade::Site;
use crate::core::upgrade::cadence::Scan;
use crate::core::upgrade::compose;
use crate::forge::{Forge, PullRequest, fan_out};
use crate::git::{Checkout, GitOps};
use crate::registry::{self, Registry};
use crate::types::RepoName;

/// What a recipe's upstream `main` holds.
pub struct Upstream {
    pub checkout: Checkout,
    /// compose file name → text
    pub files: Vec<(String, String)>,
    pub sites: Vec<Site>,
}

impl Upstream {
    pub fn text(&self, file: &str) -> Option<String> {
        self.files
            .iter()
            .find(|(f, _)| f == file)
            .map(|(_, t)| t.clone())
    }
}

/// What the mirror shows. Its closed PRs are read only when a bump is to be
/// opened (`prefetch.rs`): most ticks open nothing.
pub struct Mirror {
    pub open: Vec<PullRequest>,
    /// the mirror's `main` head, if it has one
    pub main: Option<String>,
}

/// One recipe, with everything its decisions read.
pub struct Recipe {
    pub name: String,
    /// `owner/repo` on the forge
    pub mirror: RepoName,
    pub upstream_url: String,
    pub upstream: Result<Upstream, Fault>,
    pub forge: Result<Mirror, Fault>,
    /// the registry's tags of each site's image (same order as the sites);
    /// `Err` for the first image whose lookup failed; empty when not scanned
    pub tags: Result<Vec<Vec<String>>, Fault>,
    /// whether this tick asks the registries for it (`scan_every`)
    pub scan: Scan,
    /// `min_release_age`: the tags that wait, or whose age is unknown
    pub ages: Vec<AgeNote>,
}

/// A tag `min_release_age` holds back (or lets through without knowing its age).
#[derive(Debug, Clone)]
pub struct AgeNote {
    /// the repository, `library/nginx`
    pub image: String,
    pub note: crate::core::upgrade::release_age::Note,
}

/// `min_release_age`, with the tick's clock and `allow_major`.
pub struct AgeRule {
    pub min: std::time::Duration,
    pub now: time::OffsetDateTime,
    pub allow_major: bool,
}

enum Job<'a> {
    Me,
    Upstream(&'a str, &'a str, Scan),
    Mirror(&'a RepoName),
}

enum Got {
    Me(Result<String, Fault>),
    Upstream(Result<Upstream, Fault>, Result<Vec<Vec<String>>, Fault>),
    Mirror(Result<Mirror, Fault>),
}

/// Where a tick's tag lookups go: the registries (each repository asked
/// once), or the error that kept afk from building its client.
pub type Tags<'a, 'b> = Result<&'a registry::Once<'b>, Fault>;

/// afk's own login (`GET /user`) beside clone or fetch each recipe's
/// upstream and read the mirrors, in parallel; a scanned recipe's tag lookups
/// start as soon as its compose files are read, in the same pool, so they
/// overlap the other recipes' forge and git work. Nothing here needs afk's
/// login: only what is done with the answers does.
pub fn recipes(
    names: &[(String, RepoName, String, Scan)],
    git: &dyn GitOps,
    forge: &dyn Forge,
    tags: Tags,
    concurrency: usize,
) -> (Result<String, Fault>, Vec<Recipe>) {
    let mut jobs = vec![Job::Me];
    for (name, mirror, url, scan) in names {
        jobs.push(Job::Upstream(name, url, *scan));
        jobs.push(Job::Mirror(mirror));
    }
    let mut got = fan_out(&jobs, concurrency, |j| match j {
        Job::Me => Got::Me(forge.me().map(|u| u.login).map_err(|e| Fault::outer(&e))),
        Job::Upstream(name, url, scan) => {
            let up = upstream(git, name, url);
            let t = match (&up, scan.asks()) {
                (Ok(u), true) => tags_of(u, &tags),
                _ => Ok(vec![]),
            };
            Got::Upstream(up, t)
        }
        Job::Mirror(m) => Got::Mirror(mirror(forge, m).map_err(|e| Fault::outer(&e))),
    })
    .into_iter();
    let Some(Got::Me(me)) = got.next() else {
        unreachable!("jobs come back in order")
    };
    let recipes = names
        .iter()
        .map(|(name, mirror, url, scan)| {
            let (Some(Got::Upstream(up, tags)), Some(Got::Mirror(m))) = (got.next(), got.next())
            else {
                unreachable!("jobs come back in order")
            };
            Recipe {
                name: name.clone(),
                mirror: mirror.clone(),
                upstream_url: url.clone(),
                upstream: up,
                forge: m,
                tags,
                scan: *scan,
                ages: vec![],
            }
        })
        .collect();
    (me, recipes)
}

/// The tags of each site's image (same order as the sites); the first
/// lookup that failed fails them all (the recipe is skipped with it).
fn tags_of(up: &Upstream, tags: &Tags) -> Result<Vec<Vec<String>>, Fault> {
    let once = tags.as_ref().map_err(Clone::clone)?;
    up.sites
        .iter()
        .map(|s| match registry::ImageRef::parse(&s.image.written) {
            Some(i) => once
                .tags(&i)
                .map_err(|e| Fault::from(anyhow::Error::new(e))),
            None => Ok(vec![]),
        })
        .collect()
}

fn upstream(git: &dyn GitOps, name: &str, url: &str) -> Result<Upstream, Fault> {
    let checkout = git.upstream(name, url)?;
    let mut names: Vec<String> = std::fs::read_dir(&checkout.dir)
        .map_err(|e| format!("cannot list {}: {e}", checkout.dir.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| compose::is_compose_file(n))
        .collect();
    // compose.yml first, then its overrides by name
    names.sort_by_key(|n| (n != "compose.yml" && n != "compose.yaml", n.clone()));
    let mut files = vec![];
    let mut sites = vec![];
    for file in names {
        let text = std::fs::read_to_string(checkout.dir.join(&file))
            .map_err(|e| format!("{file}: cannot read: {e}"))?;
        for image in compose::find_images(&text).map_err(|e| format!("{file}: {e}"))? {
            sites.push(Site {
                file: file.clone(),
                image,
            });
        }
        files.push((file, text));
    }
    if files.is_empty() {
        return Err(Fault::from("upstream main has no compose.yml"));
    }
    Ok(Upstream {
        checkout,
        files,
        sites,
    })
}

fn mirror(forge: &dyn Forge, mirror: &RepoName) -> anyhow::Result<Mirror> {
    Ok(Mirror {
        open: forge.open_pulls(mirror)?,
        main: forge.branch(mirror, "main")?.map(|b| b.commit.id),
    })
}

/// A failed registry call as the one line a person reads: its words, then
/// its hint (`crate::hint`).
fn person_line(e: registry::RegistryError) -> String {
    crate::command_error::person_line(&anyhow::Error::new(e))
}

/// `min_release_age` (docs/configuration.md): each site's tags without the ones
/// too young to propose, walking down from the best
/// (`core::upgrade::release_age::walk`); each (image, tag) asked once per tick. A
/// registry that fails skips the recipe, as a failed tag list does.
pub fn ages(recipes: &mut [Recipe], reg: &dyn Registry, rule: &AgeRule) {
    use crate::core::upgrade::release_age::walk;
    let mut asked: std::collections::HashMap<
        (String, String),
        Result<Option<String>, crate::types::Invalid>,
    > = Default::default();
    for r in recipes.iter_mut().filter(|r| r.scan.asks()) {
        let (Ok(up), Ok(tags)) = (&r.upstream, &mut r.tags) else {
            continue;
        };
        let mut notes = vec![];
        let mut failed = None;
        for (site, list) in up.sites.iter().zip(tags.iter_mut()) {
            let Some(image) = registry::ImageRef::parse(&site.image.written) else {
                continue;
            };
            let key = image.to_string();
            let walked = walk(
                site.tag(),
                list,
                rule.allow_major,
                rule.now,
                rule.min,
                |t| {
                    asked
                        .entry((key.clone(), t.to_string()))
                        .or_insert_with(|| {
                            reg.created(&image, t)
                                .map_err(|e| crate::types::Invalid(person_line(e)))
                        })
                        .clone()
                },
            );
            match walked {
                Ok((kept, n)) => {
                    *list = kept;
                    notes.extend(n.into_iter().map(|note| AgeNote {
                        image: site.image.image.repository.clone(),
                        note,
                    }));
                }
                Err(e) => failed = Some(e),
            }
        }
        // the same image in two places is noted once
        notes.dedup_by(|a, b| a.image == b.image && a.note == b.note);
        r.ages = notes;
        if let Some(e) = failed {
            r.tags = Err(Fault::from(e.0));
        }
    }
}
