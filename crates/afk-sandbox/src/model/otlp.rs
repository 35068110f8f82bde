//! The sandbox's OTLP receiver's state (`crate::otlp` serves it): kept
//! with the forge's model so one lock holds both, defined here so the
//! model names nothing of the receiver's code.

use serde::Deserialize;
use serde_json::Value;
use std::sync::mpsc;

/// A receiver fault, `POST /_admin/otlp_fault` (`{}` clears it): answer
/// `status` (with `retry_after` seconds), or `hang` (take the request and
/// never answer), for the next `times` requests (absent: all).
#[derive(Deserialize, Clone, Default, Debug)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct OtlpFault {
    pub(crate) status: Option<u16>,
    pub(crate) retry_after: Option<u64>,
    pub(crate) hang: bool,
    pub(crate) times: Option<u32>,
}

/// What the receiver holds.
#[derive(Default)]
pub(crate) struct Receiver {
    /// every request received, as `GET /_admin/otlp` shows it, oldest first
    pub(crate) requests: std::collections::VecDeque<Value>,
    pub(crate) fault: Option<OtlpFault>,
    /// one sender per hung request: dropping them (a fault cleared, the
    /// requests cleared) lets those requests go, their connections closed
    pub(crate) hung: Vec<mpsc::Sender<()>>,
    /// the last request's number
    pub(crate) next: u64,
}
