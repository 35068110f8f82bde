//! The forge adapter: HTTP plumbing (`http`) and the Gitea/Forgejo v1 endpoints (`gitea`).

pub mod gitea;
pub mod http;

pub use gitea::Gitea;
pub use http::{ForgeError, fan_out};
