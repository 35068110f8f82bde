//! A list read page by page in the client's [`Paging`] style (`page` and a
//! size, or `Link` + the size), a next page never outside the API root,
//! and never more than [`MAX_PAGES`]: a list that does not end is an error.

use crate::http::{Http, Paging, Response};
use crate::link::next_link;
use anyhow::Result;
use serde::de::DeserializeOwned;

/// The most pages one list may take (5,000 items at Gitea's 50, 10,000 at GitHub's 100).
pub const MAX_PAGES: usize = 100;

impl Http {
    /// The items of one page: the body itself, or its `field` (a list wrapped
    /// in an object, like GitHub's check runs).
    fn items<T: DeserializeOwned>(
        &self,
        path: &str,
        r: &Response,
        field: Option<&str>,
    ) -> Result<Vec<T>> {
        match field {
            // Gitea answers `null` for a page with nothing on it where its
            // handler encodes a nil slice (an issue's timeline, a page past
            // its end: `var apiComments []*api.TimelineComment` …
            // `ctx.JSON(http.StatusOK, &apiComments)`): an empty page, as
            // `[]` is; any other shape is still refused
            None => Ok(self
                .parse::<Option<Vec<T>>>("GET", path, r.status, &r.body)?
                .unwrap_or_default()),
            Some(f) => {
                let mut v: serde_json::Value = self.parse("GET", path, r.status, &r.body)?;
                // a list answered bare where a wrapper was expected (Azure
                // DevOps' 7.1 files describe each list so) is the list
                let items = match v.is_array() {
                    true => v.take(),
                    false => v.get_mut(f).map(|x| x.take()).unwrap_or_default(),
                };
                serde_json::from_value(items).map_err(|e| {
                    self.error(
                        "GET",
                        path,
                        Some(r.status),
                        format!("malformed JSON in the answer ({f}): {e}"),
                    )
                })
            }
        }
    }

    /// A `Link` URL as a path under the API root, always sent to the
    /// configured root (a link naming another spelling of the host, a proxy's
    /// say, is read by its path): the token never goes to another host. A
    /// path outside the root's is refused.
    fn under_root(&self, path: &str, url: &str) -> Result<String> {
        afk_wire::secrets::link_under_root(&self.root, url).ok_or_else(|| {
            self.error(
                "GET",
                path,
                None,
                format!("the next page's link {url} is outside the API root; not followed"),
            )
        })
    }

    /// A list that never ends (a forge that always sends `rel="next"`) is an
    /// error, never partial data used as if it were all of it.
    fn too_many_pages(&self, path: &str) -> anyhow::Error {
        self.error(
            "GET",
            path,
            None,
            format!("the list did not end after {MAX_PAGES} pages; nothing of it was used"),
        )
    }

    /// GET every page of a list, in this client's paging style.
    pub fn get_all<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>> {
        self.pages(path, None, true)
    }

    /// GET every page of a list whose pages may come back short before its
    /// end: without a `Link` header, only an empty page ends it. Gitea's
    /// issue timeline is one: it drops, after paging, what the account may
    /// not see (`isXRefCommentAccessible` in
    /// routers/api/v1/repo/issue_comment.go), and sends no `Link`.
    pub fn get_all_to_empty<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>> {
        self.pages(path, None, false)
    }

    /// GET every page of a list wrapped in an object under `field`.
    pub fn get_all_in<T: DeserializeOwned>(&self, path: &str, field: &str) -> Result<Vec<T>> {
        self.pages(path, Some(field), true)
    }

    fn pages<T: DeserializeOwned>(
        &self,
        path: &str,
        field: Option<&str>,
        short_ends: bool,
    ) -> Result<Vec<T>> {
        let mut out = vec![];
        self.walk_in(path, field, short_ends, |items: Vec<T>| {
            out.extend(items);
            true
        })?;
        Ok(out)
    }

    /// GET a list page by page, in this client's paging style, handing each
    /// page's items to `more`, which says whether to fetch the next.
    pub fn walk<T: DeserializeOwned>(
        &self,
        path: &str,
        more: impl FnMut(Vec<T>) -> bool,
    ) -> Result<()> {
        self.walk_in(path, None, true, more)
    }

    fn walk_in<T: DeserializeOwned>(
        &self,
        path: &str,
        field: Option<&str>,
        short_ends: bool,
        mut more: impl FnMut(Vec<T>) -> bool,
    ) -> Result<()> {
        let sep = if path.contains('?') { '&' } else { '?' };
        match self.paging {
            Paging::PageLimit { size, limit } => {
                let mut read = 0;
                for page in 1.. {
                    if page > MAX_PAGES {
                        return Err(self.too_many_pages(path));
                    }
                    let p = format!("{path}{sep}page={page}&{size}={limit}");
                    let r = self.send("GET", &p, None)?;
                    let items: Vec<T> = self.items(path, &r, field)?;
                    // a full page is full with the items skipped as too big
                    let n = items.len() + r.skipped;
                    read += n;
                    let go_on = more(items);
                    let next = match (&r.link, r.total) {
                        (Some(l), _) => l.contains("rel=\"next\""),
                        // a page may be short of `limit` and not the last
                        // (the forge's own cap on a page), or short of the
                        // count (items dropped after paging): the count
                        // decides, and an empty page still ends the list
                        (None, Some(total)) if short_ends => read < total,
                        (None, _) => n >= limit || !short_ends,
                    };
                    if !go_on || !next || n == 0 {
                        break;
                    }
                }
            }
            Paging::Link { size, per_page } => {
                let mut next = Some(format!("{path}{sep}{size}={per_page}"));
                let mut pages = 0;
                while let Some(p) = next.take() {
                    let r = self.send("GET", &p, None)?;
                    let items: Vec<T> = self.items(&p, &r, field)?;
                    let n = items.len() + r.skipped;
                    pages += 1;
                    if !more(items) || n == 0 {
                        break;
                    }
                    if pages >= MAX_PAGES && r.link.as_deref().and_then(next_link).is_some() {
                        return Err(self.too_many_pages(path));
                    }
                    next = match r.link.as_deref().and_then(next_link) {
                        Some(u) => Some(self.under_root(&p, &u)?),
                        None => None,
                    };
                }
            }
            Paging::TopSkip { top } => {
                for page in 0..=MAX_PAGES {
                    if page == MAX_PAGES {
                        return Err(self.too_many_pages(path));
                    }
                    let p = format!("{path}{sep}$top={top}&$skip={}", page * top);
                    let r = self.send("GET", &p, None)?;
                    let items: Vec<T> = self.items(path, &r, field)?;
                    let n = items.len() + r.skipped;
                    if !more(items) || n < top {
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// GET every page of a list wrapped in an object under `field` that pages
    /// by the `x-ms-continuationtoken` answer header (Azure DevOps' builds
    /// and refs): its value goes back as `continuationToken` until it is
    /// absent; never more than [`MAX_PAGES`].
    pub fn get_all_continued<T: DeserializeOwned>(
        &self,
        path: &str,
        field: &str,
    ) -> Result<Vec<T>> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut out = vec![];
        let mut next = path.to_string();
        for _ in 0..MAX_PAGES {
            let r = self.send("GET", &next, None)?;
            out.extend(self.items::<T>(path, &r, Some(field))?);
            match r.continuation {
                Some(token) => {
                    next = format!("{path}{sep}continuationToken={}", crate::path::enc(&token))
                }
                None => return Ok(out),
            }
        }
        Err(self.too_many_pages(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// The rule is core's (`core::secrets::link_under_root`, with its table);
    /// this pins that the client applies it and refuses with one clear line.
    #[test]
    fn next_pages_stay_under_the_api_root_and_on_its_host() {
        let h = Http::new(
            "https://ghe.example/api/v3",
            "t",
            "T",
            Duration::from_secs(1),
            0,
        );
        let ok = h.under_root("/x", "http://proxy.internal/api/v3/repos/a/b/issues?page=2");
        assert_eq!(ok.unwrap(), "/repos/a/b/issues?page=2");
        let e = h
            .under_root("/x", "https://ghe.example/api/v3/repos/a/%2e%2e/x")
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("is outside the API root; not followed"),
            "{e}"
        );
    }
}
