//! Doctor's `telemetry` check (docs/telemetry.md#doctor): where traces go
//! and from which key or variable, how many headers and from where (never
//! their values), then one empty export within the bound and what the
//! collector answered. Never a FAIL: telemetry never fails a tick. The
//! lines are `core::telemetry::doctor`'s; the empty export is the
//! exporter's (`spans::probe`: within the process's one bound).

use super::Doctor;
use crate::core::telemetry::doctor as rules;
use crate::session::Session;

pub(super) fn telemetry(ctx: &Session, d: &mut Doctor) {
    let cfg = ctx.config();
    let settings = cfg.telemetry.as_ref();
    let (level, text) = rules::setup(cfg.telemetry_keys.enabled, settings);
    d.add("telemetry", level, text);
    let Some(s) = settings else {
        return;
    };
    if let Some((level, text)) = rules::cleartext(s) {
        d.add("telemetry", level, text);
    }
    let answer = crate::spans::probe(s);
    let (level, text) = rules::probe(&s.traces_url, &answer);
    d.add("telemetry", level, text);
}
