//! The webview engine's voicemail drop: a greeting (WAV bytes) decoded with Web Audio and sent
//! into an SDK call in place of the microphone, by replacing the audio track its
//! `RTCPeerConnection` sends (`RTCRtpSender.replaceTrack`, no renegotiation).
//!
//! Written against the browser APIs only (`AudioContext`, `RTCPeerConnection`) and the SDK's
//! `call.peer.instance`. Not run on this project's Linux machines: Debian's WebKitGTK has no
//! WebRTC, so there the native engine drops greetings (README, platform table).

use js_sys::{Array, Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::sdk::SdkCall;

/// After the greeting's last sample, before the caller hangs up: the far end plays it out.
const TAIL_MS: u32 = 300;

/// Plays `wav` into `call` instead of the microphone and returns when it has played. The
/// microphone is not sent again: the replacing track stays, silent, until the call is hung up.
pub async fn play_into_call(call: &SdkCall, wav: &[u8]) -> Result<(), String> {
    let context = construct("AudioContext")?;
    let bytes = Uint8Array::from(wav);
    let decoded = await_promise(method(&context, "decodeAudioData", &[bytes.buffer().into()])?)
        .await
        .map_err(|error| format!("the greeting could not be decoded: {}", text(&error)))?;
    let source = method(&context, "createBufferSource", &[])?;
    set(&source, "buffer", &decoded)?;
    let destination = method(&context, "createMediaStreamDestination", &[])?;
    method(&source, "connect", std::slice::from_ref(&destination))?;
    let stream = get(&destination, "stream")?;
    let track = Array::from(&method(&stream, "getAudioTracks", &[])?).get(0);
    let connection = get(&get(call, "peer")?, "instance")?;
    let senders = Array::from(&method(&connection, "getSenders", &[])?);
    let sender = senders
        .iter()
        .find(|sender| {
            get(sender, "track").and_then(|track| get(&track, "kind")).ok().and_then(|kind| kind.as_string()).as_deref()
                == Some("audio")
        })
        .ok_or("the call sends no audio track to replace")?;
    await_promise(method(&sender, "replaceTrack", &[track])?)
        .await
        .map_err(|error| format!("the call's audio could not be replaced: {}", text(&error)))?;
    let ended = Promise::new(&mut |resolve: Function, _reject: Function| {
        let _ = Reflect::set(&source, &"onended".into(), &resolve);
    });
    method(&source, "start", &[])?;
    let _ = JsFuture::from(ended).await;
    let tail = Promise::new(&mut |resolve: Function, _reject: Function| {
        let _ = gloo::timers::callback::Timeout::new(TAIL_MS, move || {
            let _ = resolve.call0(&JsValue::NULL);
        })
        .forget();
    });
    let _ = JsFuture::from(tail).await;
    let _ = method(&context, "close", &[]);
    Ok(())
}

fn construct(name: &str) -> Result<JsValue, String> {
    let constructor = Reflect::get(&js_sys::global(), &name.into()).map_err(|error| text(&error))?;
    let constructor: Function = constructor.dyn_into().map_err(|_| format!("this webview has no {name}"))?;
    Reflect::construct(&constructor, &Array::new()).map_err(|error| text(&error))
}

fn get(object: &JsValue, key: &str) -> Result<JsValue, String> {
    Reflect::get(object, &key.into())
        .ok()
        .filter(|value| !value.is_undefined() && !value.is_null())
        .ok_or_else(|| format!("no {key}"))
}

fn set(object: &JsValue, key: &str, value: &JsValue) -> Result<(), String> {
    Reflect::set(object, &key.into(), value).map(|_| ()).map_err(|error| text(&error))
}

fn method(object: &JsValue, name: &str, args: &[JsValue]) -> Result<JsValue, String> {
    let function: Function = get(object, name)?.dyn_into().map_err(|_| format!("{name} is not a function"))?;
    function.apply(object, &args.iter().collect::<Array>()).map_err(|error| text(&error))
}

fn await_promise(value: JsValue) -> JsFuture {
    JsFuture::from(Promise::resolve(&value))
}

fn text(error: &JsValue) -> String {
    error
        .as_string()
        .or_else(|| Reflect::get(error, &"message".into()).ok()?.as_string())
        .unwrap_or_else(|| format!("{error:?}"))
}
