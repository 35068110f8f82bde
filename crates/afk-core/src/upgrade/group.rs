//! `group_by = "recipe"` (docs/configuration.md): a recipe is released as one
//! version, so one PR carries every bump a scan found for it, with the
//! version label bumped once by the largest kind among them. Two PRs that
//! both bump the label would conflict by construction. The PR's branch is
//! `afk/upgrade-<recipe>-<new recipe version>`; a later scan's PR for the same
//! recipe supersedes it (`upgrade::supersedes`).

use crate::types::Invalid;
use crate::upgrade::compose;
use crate::upgrade::tags::UpdateType;
use crate::upgrade::{Bump, ImageBump, Site};

/// A version label of a recipe: its file, service and value `X.Y.Z+APP`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub file: String,
    pub service: String,
    pub value: String,
}

/// The version labels of a recipe's compose files (those `sites` come from),
/// in file order. A file that does not parse has none.
pub fn labels(sites: &[Site], text_of: impl Fn(&str) -> Option<String>) -> Vec<Label> {
    let mut files: Vec<&str> = vec![];
    for s in sites {
        if !files.contains(&s.file.as_str()) {
            files.push(&s.file);
        }
    }
    files
        .into_iter()
        .flat_map(|f| {
            let found = text_of(f)
                .and_then(|t| compose::version_labels(&t).ok())
                .unwrap_or_default();
            found.into_iter().map(move |(service, value)| Label {
                file: f.to_string(),
                service,
                value,
            })
        })
        .collect()
}

/// The app version a label gets: the new tag of the image its service runs
/// when the PR moves it, else the tag it has, else the label's own `APP`.
fn app_of(images: &[ImageBump], sites: &[Site], l: &Label) -> String {
    let moved = images.iter().find(|i| {
        i.sites
            .iter()
            .any(|s| s.file == l.file && s.service == l.service)
    });
    if let Some(i) = moved {
        return i.to.clone();
    }
    let now = sites
        .iter()
        .find(|s| s.file == l.file && s.image.service == l.service);
    match now {
        Some(s) => s.tag().to_string(),
        None => l.value.split_once('+').map_or("", |(_, a)| a).to_string(),
    }
}

/// The largest kind among the images a PR moves.
fn largest(images: &[ImageBump]) -> UpdateType {
    images
        .iter()
        .map(|i| i.update_type)
        .max()
        .unwrap_or(UpdateType::Patch)
}

/// The one PR of a recipe's bumps: the image of the labelled service first
/// (the app the version names), the others after, in plan order; named by
/// the recipe's new version, or by its images' tags when it has no label
/// afk can read. `None` when there is nothing to move.
pub fn group(recipe: &str, bumps: Vec<Bump>, labels: &[Label], sites: &[Site]) -> Option<Bump> {
    let mut images: Vec<ImageBump> = bumps.iter().flat_map(Bump::images).collect();
    if images.is_empty() {
        return None;
    }
    if let Some(l) = labels.first()
        && let Some(i) = images.iter().position(|i| {
            i.sites
                .iter()
                .any(|s| s.file == l.file && s.service == l.service)
        })
    {
        let main = images.remove(i);
        images.insert(0, main);
    }
    let version = labels
        .first()
        .and_then(|l| {
            compose::next_version(&l.value, largest(&images), &app_of(&images, sites, l)).ok()
        })
        .unwrap_or_else(|| {
            let tags: Vec<String> = images
                .iter()
                .map(|i| format!("{}-{}", i.path.replace('/', "-"), i.to))
                .collect();
            tags.join("-")
        });
    let more = images.split_off(1);
    let main = images.remove(0);
    Some(Bump {
        recipe: recipe.to_string(),
        host: main.host,
        path: main.path,
        image: main.image,
        to: main.to,
        update_type: main.update_type,
        sites: main.sites,
        more,
        group: Some(version),
    })
}

/// A recipe PR whose branch an open PR of other content already has (a later
/// scan found one more patch: the same new version) gets the first free
/// `-2`, `-3`, … after its version, so the two PRs never share a branch and
/// the later one supersedes the earlier (`taken`: the open PRs' branches).
pub fn distinct(mut bump: Bump, taken: &[String]) -> Bump {
    let Some(v) = bump.group.clone() else {
        return bump;
    };
    let mut k = 1;
    while taken.contains(&bump.branch()) && k < 100 {
        k += 1;
        bump.group = Some(format!("{v}-{k}"));
    }
    bump
}

/// The files a bump's PR changes: a recipe's PR (`group_by = "recipe"`)
/// by [`edit`], one image's by `upgrade::edit`.
pub fn files(
    bump: &Bump,
    sites: &[Site],
    text_of: impl Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, Invalid> {
    match bump.group {
        Some(_) => edit(bump, sites, text_of),
        None => crate::upgrade::edit(bump, text_of),
    }
}

/// The files a recipe's PR changes, from upstream `main`'s texts: every
/// place's tag, then each version label once, by the largest kind, its app
/// the new tag of its service's image. Everything else stays byte for byte.
pub fn edit(
    bump: &Bump,
    sites: &[Site],
    text_of: impl Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, Invalid> {
    let mut out: Vec<(String, String)> = vec![];
    let current = |out: &[(String, String)], file: &str| match out.iter().find(|(f, _)| f == file) {
        Some((_, t)) => Ok(t.clone()),
        None => text_of(file).ok_or_else(|| Invalid(format!("{file} is missing"))),
    };
    let put = |out: &mut Vec<(String, String)>, file: &str, t: String| match out
        .iter_mut()
        .find(|(f, _)| f == file)
    {
        Some((_, old)) => *old = t,
        None => out.push((file.to_string(), t)),
    };
    for (site, to) in bump.all_sites() {
        let t = compose::set_image_tag(&current(&out, &site.file)?, &site.service, &to)
            .map_err(|e| Invalid(format!("{}: {e}", site.file)))?;
        put(&mut out, &site.file, t);
    }
    let images = bump.images();
    let kind = largest(&images);
    for l in labels(sites, |f| current(&out, f).ok()) {
        let before = current(&out, &l.file)?;
        let t = compose::bump_version_label(&before, &l.service, kind, &app_of(&images, sites, &l))
            .map_err(|e| Invalid(format!("{}: {e}", l.file)))?;
        if t != before {
            put(&mut out, &l.file, t);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upgrade::compose::find_images;

    const APP: &str = "services:\n  app:\n    image: nginx:1.25.0\n    deploy:\n      labels:\n        - \"coop-cloud.${STACK_NAME}.version=1.2.3+1.25.0\"\n  db:\n    image: postgres:15.4\n";
    const SMTP: &str = "services:\n  smtp:\n    image: mwader/postfix-relay:1.1.0\n";

    fn text_of(f: &str) -> Option<String> {
        match f {
            "compose.yml" => Some(APP.into()),
            "compose.smtp.yml" => Some(SMTP.into()),
            _ => None,
        }
    }

    fn sites() -> Vec<Site> {
        ["compose.yml", "compose.smtp.yml"]
            .iter()
            .flat_map(|f| {
                find_images(&text_of(f).unwrap())
                    .unwrap()
                    .into_iter()
                    .map(|image| Site {
                        file: f.to_string(),
                        image,
                    })
            })
            .collect()
    }

    fn one(path: &str, file: &str, service: &str, from: &str, to: &str, t: UpdateType) -> Bump {
        Bump {
            recipe: "web".into(),
            host: None,
            path: path.into(),
            image: format!("library/{path}"),
            to: to.into(),
            update_type: t,
            sites: vec![crate::upgrade::BumpSite {
                file: file.into(),
                service: service.into(),
                from: from.into(),
            }],
            more: vec![],
            group: None,
        }
    }

    #[test]
    fn a_recipes_bumps_are_one_pr_named_by_its_version_bumped_once_by_the_largest_kind() {
        use UpdateType::*;
        let db = one("postgres", "compose.yml", "db", "15.4", "15.5", Patch);
        let app = one("nginx", "compose.yml", "app", "1.25.0", "1.26.0", Minor);
        let smtp = one(
            "mwader/postfix-relay",
            "compose.smtp.yml",
            "smtp",
            "1.1.0",
            "1.1.1",
            Patch,
        );
        let labels = labels(&sites(), text_of);
        // (bumps, branch, title, the label written)
        let cases: Vec<(Vec<Bump>, &str, &str, &str)> = vec![
            (
                vec![db.clone(), app.clone()],
                "afk/upgrade-web-1.3.0+1.26.0",
                "Upgrade web: nginx 1.25.0 → 1.26.0, postgres 15.4 → 15.5",
                "version=1.3.0+1.26.0",
            ),
            (
                vec![db.clone()],
                "afk/upgrade-web-1.2.4+1.25.0",
                "Upgrade web: postgres 15.4 → 15.5",
                "version=1.2.4+1.25.0",
            ),
            (
                vec![smtp.clone(), db.clone()],
                "afk/upgrade-web-1.2.4+1.25.0",
                "Upgrade web: mwader/postfix-relay 1.1.0 → 1.1.1, postgres 15.4 → 15.5",
                "version=1.2.4+1.25.0",
            ),
        ];
        for (bumps, branch, title, label) in cases {
            let g = group("web", bumps, &labels, &sites()).unwrap();
            assert_eq!((g.branch().as_str(), g.title().as_str()), (branch, title));
            let out = edit(&g, &sites(), text_of).unwrap();
            let compose = &out.iter().find(|(f, _)| f == "compose.yml").unwrap().1;
            assert!(compose.contains(label), "{compose}");
            assert_eq!(compose.matches("version=").count(), 1);
            for (site, to) in g.all_sites() {
                let t = &out.iter().find(|(f, _)| *f == site.file).unwrap().1;
                let imgs = find_images(t).unwrap();
                let now = imgs.iter().find(|i| i.service == site.service).unwrap();
                assert_eq!(now.image.tag.as_deref(), Some(to.as_str()));
            }
        }
        assert_eq!(group("web", vec![], &labels, &sites()), None);
    }

    #[test]
    fn a_recipe_without_a_version_label_is_named_by_its_tags() {
        let smtp = one(
            "mwader/postfix-relay",
            "compose.smtp.yml",
            "smtp",
            "1.1.0",
            "1.1.1",
            UpdateType::Patch,
        );
        let g = group("web", vec![smtp], &[], &sites()).unwrap();
        assert_eq!(g.branch(), "afk/upgrade-web-mwader-postfix-relay-1.1.1");
        let out = edit(&g, &sites()[2..], text_of).unwrap();
        assert_eq!(out.len(), 1, "only the smtp file changes");
    }

    #[test]
    fn a_later_scans_recipe_pr_supersedes_and_one_it_covers_opens_nothing() {
        use crate::upgrade::{covered_by, supersedes};
        use UpdateType::*;
        let labels = labels(&sites(), text_of);
        let g = |b: Vec<Bump>| group("web", b, &labels, &sites()).unwrap();
        let app = |to: &str| one("nginx", "compose.yml", "app", "1.25.0", to, Minor);
        let db = |to: &str| one("postgres", "compose.yml", "db", "15.4", to, Patch);
        // (new, open, new supersedes open, new is covered by open)
        let cases = [
            (
                g(vec![app("1.26.0"), db("15.5")]),
                g(vec![app("1.26.0"), db("15.5")]),
                false,
                true,
            ),
            (
                g(vec![app("1.26.1"), db("15.5")]),
                g(vec![app("1.26.0"), db("15.5")]),
                true,
                false,
            ),
            // the same new version, more in it: its own branch, `-2`
            (
                g(vec![app("1.26.0"), db("15.5")]),
                g(vec![app("1.26.0")]),
                true,
                false,
            ),
            (
                g(vec![app("1.26.0")]),
                g(vec![app("1.26.0"), db("15.5")]),
                false,
                true,
            ),
            // a per-image PR of the same image (group_by changed) is superseded too
            (
                g(vec![app("1.26.0"), db("15.5")]),
                app("1.25.9"),
                true,
                false,
            ),
            (g(vec![db("15.5")]), app("1.26.0"), false, false),
        ];
        let one = g(vec![app("1.26.0")]);
        let more = distinct(g(vec![app("1.26.0"), db("15.5")]), &[one.branch()]);
        assert_eq!(more.branch(), "afk/upgrade-web-1.3.0+1.26.0-2");
        for (i, (new, open, sup, cov)) in cases.iter().enumerate() {
            // as `afk upgrade` does: a covered bump opens nothing
            let new = &match covered_by(new, open) {
                true => new.clone(),
                false => distinct(new.clone(), &[open.branch()]),
            };
            assert_eq!(
                (supersedes(new, open), covered_by(new, open)),
                (*sup, *cov),
                "case {i}"
            );
        }
    }
}
