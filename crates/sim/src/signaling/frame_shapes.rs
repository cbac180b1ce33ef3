//! The shapes of the frames a client sends: key paths and value types, per kind of frame.
//!
//! Recorded from the real `@telnyx/webrtc` SDK in the conformance suite, the shapes are the
//! specification of what a client says on the wire ([`SDK_FIXTURE`], in
//! `crates/sim/fixtures/sdk-frame-shapes.json`). In strict mode the simulator checks every client
//! frame against them ([`FrameShapes::check`]): a key path the SDK never sends, a value of a type it
//! never sends there, or a key it always sends that is missing, is a [`Finding`].
//!
//! A path names nested keys with dots and array elements with `[]`:
//! `params.dialogParams.custom_headers[].name`. A path is required when every occurrence of its
//! parent seen in the recording had it; so `custom_headers[].name` is required of each header,
//! and nothing of an empty array.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The shapes recorded from `@telnyx/webrtc` (the version in `sdk`), embedded at compile time.
pub const SDK_FIXTURE: &str = include_str!("../../fixtures/sdk-frame-shapes.json");

/// The JSON type of a value, as the fixture names it.
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// What kind of client frame this is: its method, `result` for an acknowledgement of a server
/// request (`result:<method acked>`), or its `type` (`debug_report_*`). `None` for a frame that is
/// none of these (it is refused as malformed anyway).
pub fn frame_kind(frame: &Value) -> Option<String> {
    if let Some(method) = frame.get("method").and_then(Value::as_str) {
        return Some(method.to_owned());
    }
    if let Some(result) = frame.get("result") {
        let acked = result.get("method").and_then(Value::as_str).unwrap_or("");
        return Some(format!("result:{acked}"));
    }
    frame.get("type").and_then(Value::as_str).map(str::to_owned)
}

/// One key path's record: the types seen there and how often it was seen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathShape {
    /// JSON types seen at this path, sorted.
    pub types: Vec<String>,
    /// Occurrences (an array element path counts each element).
    pub seen: u64,
    /// Every occurrence of the parent had this key.
    pub required: bool,
}

/// The shapes of one kind of frame.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindShape {
    /// Frames of this kind recorded.
    pub frames: u64,
    /// Key path → its shape. The frame itself is the path `""`.
    pub paths: BTreeMap<String, PathShape>,
}

/// Shapes per kind of frame: recorded from frames ([`FrameShapes::observe`]) or read from a
/// fixture, and checked against ([`FrameShapes::check`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameShapes {
    /// What the frames were recorded from, e.g. `@telnyx/webrtc 2.27.10`.
    pub sdk: String,
    /// How the fixture is made again.
    #[serde(default)]
    pub regenerate: String,
    /// Kind → shapes.
    pub kinds: BTreeMap<String, KindShape>,
}

/// Something a client frame did that the recorded SDK never does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The kind of frame (its method).
    pub kind: String,
    /// The key path concerned (empty for the frame as a whole).
    pub path: String,
    /// What is wrong, in a sentence.
    pub what: String,
}

fn child(parent: &str, key: &str) -> String {
    if parent.is_empty() { key.to_owned() } else { format!("{parent}.{key}") }
}

/// Every (path, type) in `value`, parents before children, `""` for the value itself.
fn walk<'a>(path: String, value: &'a Value, out: &mut Vec<(String, &'a Value)>) {
    out.push((path.clone(), value));
    match value {
        Value::Object(object) => {
            for (key, inner) in object {
                walk(child(&path, key), inner, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                walk(format!("{path}[]"), item, out);
            }
        }
        _ => {}
    }
}

/// The parent path of `path` (`a.b[]` → `a.b`, `a.b` → `a`, `a` → ``).
fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    if let Some(array) = path.strip_suffix("[]") {
        return Some(array);
    }
    // The last dot outside brackets; keys never contain dots in these frames.
    Some(path.rfind('.').map_or("", |dot| &path[..dot]))
}

impl FrameShapes {
    /// The embedded fixture of the real SDK. Panics only if the committed file is not valid,
    /// which the simulator's unit tests rule out.
    pub fn sdk() -> FrameShapes {
        serde_json::from_str(SDK_FIXTURE).expect("crates/sim/fixtures/sdk-frame-shapes.json is valid")
    }

    /// Records one client frame.
    pub fn observe(&mut self, frame: &Value) {
        let Some(kind) = frame_kind(frame) else { return };
        let shape = self.kinds.entry(kind).or_default();
        shape.frames += 1;
        let mut nodes = Vec::new();
        walk(String::new(), frame, &mut nodes);
        for (path, value) in nodes {
            let record = shape.paths.entry(path).or_default();
            record.seen += 1;
            let kind = json_type(value).to_owned();
            if !record.types.contains(&kind) {
                record.types.push(kind);
                record.types.sort();
            }
        }
        // A path is required when it was seen as often as its parent.
        let seen: BTreeMap<String, u64> =
            shape.paths.iter().map(|(path, record)| (path.clone(), record.seen)).collect();
        for (path, record) in &mut shape.paths {
            record.required = match parent(path) {
                None => true,
                Some(parent) => seen.get(parent).is_some_and(|&count| count == record.seen),
            };
        }
    }

    /// What in `frame` the recorded client never does. Empty when the frame could have come from
    /// it.
    pub fn check(&self, frame: &Value) -> Vec<Finding> {
        let Some(kind) = frame_kind(frame) else {
            return vec![Finding {
                kind: String::new(),
                path: String::new(),
                what: "a frame with no method, result or type".to_owned(),
            }];
        };
        let finding = |path: &str, what: String| Finding { kind: kind.clone(), path: path.to_owned(), what };
        let Some(shape) = self.kinds.get(&kind) else {
            return vec![finding("", format!("the SDK never sends a {kind:?} frame"))];
        };
        let mut findings = Vec::new();
        let mut nodes = Vec::new();
        walk(String::new(), frame, &mut nodes);
        for (path, value) in &nodes {
            match shape.paths.get(path) {
                None => findings.push(finding(path, "the SDK never sends this key".to_owned())),
                Some(record) if !record.types.iter().any(|t| t == json_type(value)) => findings.push(finding(
                    path,
                    format!("the SDK sends {} here, not {}", record.types.join(" or "), json_type(value)),
                )),
                Some(_) => {}
            }
        }
        // Required keys: for each object in the frame, each key the SDK always sends in it.
        for (path, value) in &nodes {
            let Value::Object(object) = value else { continue };
            for (required, record) in &shape.paths {
                if !record.required || parent(required) != Some(path.as_str()) || required.ends_with("[]") {
                    continue;
                }
                let key = if path.is_empty() { required.as_str() } else { &required[path.len() + 1..] };
                if !object.contains_key(key) {
                    findings.push(finding(required, "the SDK always sends this key".to_owned()));
                }
            }
        }
        findings
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn recorded() -> FrameShapes {
        let mut shapes = FrameShapes::default();
        shapes.observe(&json!({"jsonrpc": "2.0", "id": "a", "method": "telnyx_rtc.invite", "params": {
            "sessid": "s", "sdp": "v=0", "dialogParams": {"callID": "c", "attach": false,
            "custom_headers": [{"name": "X-A", "value": "1"}], "caller_id_name": ""}}}));
        shapes.observe(&json!({"jsonrpc": "2.0", "id": "b", "method": "telnyx_rtc.invite", "params": {
            "sessid": "s", "sdp": "v=0", "dialogParams": {"callID": "d", "attach": false, "custom_headers": []}}}));
        shapes.observe(&json!({"jsonrpc": "2.0", "id": 7, "result": {"method": "telnyx_rtc.ringing"}}));
        shapes
    }

    #[test]
    fn recording_counts_paths_types_and_what_is_always_there() {
        let shapes = recorded();
        let invite = &shapes.kinds["telnyx_rtc.invite"];
        assert_eq!(invite.frames, 2);
        assert!(invite.paths["params.dialogParams.callID"].required);
        assert!(!invite.paths["params.dialogParams.caller_id_name"].required, "seen in one invite of two");
        assert!(invite.paths["params.dialogParams.custom_headers[].name"].required, "every header had one");
        assert_eq!(invite.paths["params.dialogParams.attach"].types, ["boolean"]);
        assert!(shapes.kinds.contains_key("result:telnyx_rtc.ringing"));
    }

    #[test]
    fn a_frame_is_checked_for_unknown_keys_wrong_types_and_missing_keys() {
        let shapes = recorded();
        let like_the_sdk = json!({"jsonrpc": "2.0", "id": "z", "method": "telnyx_rtc.invite", "params": {
            "sessid": "s", "sdp": "v=0", "dialogParams": {"callID": "e", "attach": false, "custom_headers": []}}});
        assert_eq!(shapes.check(&like_the_sdk), []);

        let table: &[(Value, &str, &str)] = &[
            (
                json!({"jsonrpc": "2.0", "id": "z", "method": "telnyx_rtc.invite", "params": {"sessid": "s",
                    "sdp": "v=0", "dialogParams": {"callID": "e", "attach": false, "custom_headers": [], "extra": 1}}}),
                "params.dialogParams.extra",
                "never sends this key",
            ),
            (
                json!({"jsonrpc": "2.0", "id": "z", "method": "telnyx_rtc.invite", "params": {"sessid": "s",
                    "sdp": "v=0", "dialogParams": {"callID": "e", "attach": "no", "custom_headers": []}}}),
                "params.dialogParams.attach",
                "sends boolean here, not string",
            ),
            (
                json!({"jsonrpc": "2.0", "id": "z", "method": "telnyx_rtc.invite", "params": {"sessid": "s",
                    "sdp": "v=0", "dialogParams": {"callID": "e", "custom_headers": []}}}),
                "params.dialogParams.attach",
                "always sends this key",
            ),
            (
                json!({"jsonrpc": "2.0", "id": "z", "method": "telnyx_rtc.invite", "params": {"sessid": "s",
                    "sdp": "v=0", "dialogParams": {"callID": "e", "attach": false,
                    "custom_headers": [{"value": "1"}]}}}),
                "params.dialogParams.custom_headers[].name",
                "always sends this key",
            ),
            (json!({"jsonrpc": "2.0", "id": "z", "method": "telnyx_rtc.nope", "params": {}}), "", "never sends"),
        ];
        for (frame, path, what) in table {
            let findings = shapes.check(frame);
            assert!(
                findings.iter().any(|f| f.path == *path && f.what.contains(what)),
                "{frame}: expected {path:?} {what:?}, got {findings:?}"
            );
        }
    }

    #[test]
    fn the_embedded_sdk_fixture_parses_and_names_its_sdk() {
        let shapes = FrameShapes::sdk();
        assert!(shapes.sdk.starts_with("@telnyx/webrtc "), "{}", shapes.sdk);
        for method in ["login", "telnyx_rtc.invite", "telnyx_rtc.answer", "telnyx_rtc.attach", "telnyx_rtc.bye"] {
            assert!(shapes.kinds.contains_key(method), "the fixture has {method}");
        }
    }
}
