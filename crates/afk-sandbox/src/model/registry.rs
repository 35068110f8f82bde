//! The sandbox registry's state: images, tags, their configs' `created`,
//! and how it asks for a token (`crate::registry` serves it at `/v2/`).

use std::collections::BTreeMap;

#[derive(Default)]
pub(crate) struct Registry {
    /// repository (`library/nginx`) -> tags
    pub(crate) images: BTreeMap<String, Vec<String>>,
    /// answer `/v2/…` with a bearer challenge unless the request carries the token
    pub(crate) auth: bool,
    /// `user:password` the token endpoint requires, when set
    pub(crate) credentials: Option<String>,
    /// tags per page when the client names no `n`; 0: all of them
    pub(crate) page_size: usize,
    /// repository -> tag -> its image config's `created` (none: the config has
    /// no `created`); every listed tag has a manifest and a config
    pub(crate) created: BTreeMap<String, BTreeMap<String, Option<String>>>,
    /// repositories whose tags are indexes (`linux/arm64` and `linux/amd64`)
    pub(crate) indexes: Vec<String>,
}
