//! What the simulator noticed about its clients: frames and SDP that the real SDK would not send,
//! or that Telnyx would act on in a way the client did not mean.
//!
//! Every client frame's shape is recorded ([`Audit::observed`]; the conformance suite turns what
//! the real SDK sends into the fixture). Findings are kept (the last [`FINDINGS_KEPT`]) and counted:
//! - always: what Telnyx's FreeSWITCH would act on (a `0.0.0.0` connection address holds the
//!   call, no common codec fails it, an attach that forgets a hold);
//! - in strict mode only: every client frame checked against the SDK's recorded shapes
//!   ([`FrameShapes::check`]).
//!
//! Each finding is logged at `warn`.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use serde::Serialize;
use serde_json::Value;

use super::frame_shapes::{Finding, FrameShapes};

/// How many findings are kept (the count goes on).
pub const FINDINGS_KEPT: usize = 500;

/// The recorded SDK shapes, parsed once.
fn sdk_shapes() -> &'static FrameShapes {
    static SHAPES: OnceLock<FrameShapes> = OnceLock::new();
    SHAPES.get_or_init(FrameShapes::sdk)
}

#[derive(Debug, Default)]
struct State {
    strict: bool,
    observed: FrameShapes,
    findings: VecDeque<Finding>,
    total: u64,
}

/// What `GET /control/findings` answers.
#[derive(Debug, Clone, Serialize)]
pub struct FindingsView {
    /// Whether frames are checked against the SDK's shapes.
    pub strict: bool,
    /// Findings since the start (or the last clear), including those no longer kept.
    pub total: u64,
    /// The last [`FINDINGS_KEPT`], oldest first.
    pub findings: Vec<Finding>,
}

/// The simulator's notes on its clients. Shared by every connection.
#[derive(Debug, Default)]
pub struct Audit {
    state: Mutex<State>,
}

impl Audit {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether client frames are checked against the SDK's shapes.
    pub fn strict(&self) -> bool {
        self.state().strict
    }

    /// Turns the frame-shape checks on or off.
    pub fn set_strict(&self, strict: bool) {
        self.state().strict = strict;
        tracing::info!(strict, "strict mode");
    }

    /// One client frame, as received: its shape is recorded and, in strict mode, checked.
    pub fn client_frame(&self, frame: &Value) {
        let mut state = self.state();
        state.observed.observe(frame);
        if state.strict {
            for finding in sdk_shapes().check(frame) {
                Self::keep(&mut state, finding);
            }
        }
    }

    /// Something Telnyx would act on that the client likely did not mean.
    pub fn report(&self, kind: &str, path: &str, what: String) {
        Self::keep(&mut self.state(), Finding { kind: kind.to_owned(), path: path.to_owned(), what });
    }

    fn keep(state: &mut State, finding: Finding) {
        tracing::warn!(kind = %finding.kind, path = %finding.path, what = %finding.what, "client finding");
        state.total += 1;
        if state.findings.len() == FINDINGS_KEPT {
            state.findings.pop_front();
        }
        state.findings.push_back(finding);
    }

    /// The findings so far.
    pub fn findings(&self) -> FindingsView {
        let state = self.state();
        FindingsView { strict: state.strict, total: state.total, findings: state.findings.iter().cloned().collect() }
    }

    /// Forgets the findings (not the recorded shapes).
    pub fn clear_findings(&self) {
        let mut state = self.state();
        state.findings.clear();
        state.total = 0;
    }

    /// The shapes of every client frame received so far.
    pub fn observed(&self) -> FrameShapes {
        self.state().observed.clone()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn strict_mode_checks_frames_and_reports_are_always_kept() {
        let audit = Audit::default();
        let odd = json!({"jsonrpc": "2.0", "id": "1", "method": "telnyx_rtc.nonsense", "params": {}});
        audit.client_frame(&odd);
        assert_eq!(audit.findings().total, 0, "not strict: shapes are only recorded");
        assert_eq!(audit.observed().kinds["telnyx_rtc.nonsense"].frames, 1);

        audit.set_strict(true);
        audit.client_frame(&odd);
        let view = audit.findings();
        assert_eq!(view.total, 1);
        assert!(view.findings[0].what.contains("never sends"), "{:?}", view.findings);

        audit.set_strict(false);
        audit.report("telnyx_rtc.invite", "params.sdp", "0.0.0.0".to_owned());
        assert_eq!(audit.findings().total, 2, "behaviour findings are kept whatever the mode");
        audit.clear_findings();
        assert_eq!(audit.findings().total, 0);
    }

    #[test]
    fn only_the_last_findings_are_kept_but_all_are_counted() {
        let audit = Audit::default();
        for n in 0..FINDINGS_KEPT + 3 {
            audit.report("k", "", format!("{n}"));
        }
        let view = audit.findings();
        assert_eq!(view.total as usize, FINDINGS_KEPT + 3);
        assert_eq!(view.findings.len(), FINDINGS_KEPT);
        assert_eq!(view.findings[0].what, "3");
    }
}
