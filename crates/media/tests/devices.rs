//! Device handling: the fake devices (choice, ringer, ringback, hot-unplug, meters) and the real
//! cpal backend on whatever this machine has (on the CI machine: no sound card at all).

mod common;

use std::time::Duration;

use common::{Offerer, connect, fake_audio, sim_hears, wait_for};
use softphone_media::{AudioDeviceEvent, AudioSystem, CodecChoice, DeviceChoice, DeviceRole, MediaState};
use softphone_sim::media::Playback;

const HEADSET: &str = "Fake headset";

#[test]
fn fake_devices_are_listed_with_their_defaults() {
    let audio = fake_audio(440.0);
    let devices = audio.devices().unwrap();
    assert!(devices.fake);
    let defaults: Vec<_> = devices.outputs.iter().filter(|d| d.is_default).map(|d| d.name.as_str()).collect();
    assert_eq!(defaults, ["Fake speaker"]);
    assert!(devices.outputs.iter().any(|d| d.name == HEADSET));
    assert_eq!(devices.inputs.len(), 2);
    let error = audio.select(DeviceChoice { speaker: Some("Nope".to_owned()), ..DeviceChoice::default() }).unwrap_err();
    assert_eq!(error.code(), "DeviceNotFound");
}

#[test]
fn the_ringtone_plays_on_the_ringer_device_only() {
    let audio = fake_audio(440.0);
    audio.select(DeviceChoice { ringer: Some(HEADSET.to_owned()), ..DeviceChoice::default() }).unwrap();
    audio.start_ringtone();
    let ringer = wait_for(
        "the ringtone on the headset",
        || audio.ringer_analysis().filter(|heard| heard.level_dbfs > -30.0),
        || format!("{:?}", audio.ringer_analysis()),
    );
    assert_eq!(ringer.device, HEADSET);
    assert!(audio.speaker_analysis().unwrap().level_dbfs < -60.0, "the speaker stays quiet");
    audio.stop_ringtone();
    wait_for(
        "the ringtone to stop",
        || audio.ringer_analysis().filter(|heard| heard.level_dbfs < -60.0),
        || format!("{:?}", audio.ringer_analysis()),
    );
}

#[test]
fn ringback_plays_on_the_speaker_and_stops() {
    let audio = fake_audio(440.0);
    audio.start_ringback();
    let heard = wait_for(
        "ringback",
        || audio.speaker_analysis().filter(|heard| heard.level_dbfs > -30.0 && heard.dominant_hz.is_some()),
        || format!("{:?}", audio.speaker_analysis()),
    );
    let hz = heard.dominant_hz.unwrap();
    assert!((hz - 440.0).abs() < 5.0 || (hz - 480.0).abs() < 5.0, "{hz}");
    assert!(audio.levels().output_dbfs > -30.0);
    audio.stop_ringback();
    wait_for(
        "silence",
        || audio.speaker_analysis().filter(|heard| heard.level_dbfs < -60.0),
        || format!("{:?}", audio.speaker_analysis()),
    );
}

#[test]
fn unplugging_the_chosen_headset_mid_call_falls_back_to_the_speaker_and_says_so() {
    let audio = fake_audio(440.0);
    let events = audio.subscribe();
    audio.select(DeviceChoice { speaker: Some(HEADSET.to_owned()), ..DeviceChoice::default() }).unwrap();
    let (_call, far_end) = connect(&audio, Offerer::Us, CodecChoice::OpusAndG711, Playback::Tone { hz: 880.0 });
    common::we_hear(&audio, 880.0);
    assert_eq!(audio.speaker_analysis().unwrap().device, HEADSET);

    audio.unplug_fake_device(HEADSET).unwrap();
    let event = events.recv_timeout(Duration::from_secs(2)).unwrap();
    assert_eq!(
        event,
        AudioDeviceEvent::DeviceLost {
            role: DeviceRole::Speaker,
            device: HEADSET.to_owned(),
            fell_back_to: "Fake speaker".to_owned()
        }
    );
    assert_eq!(audio.choice().speaker, None);
    assert!(!audio.devices().unwrap().outputs.iter().any(|d| d.name == HEADSET));
    // The call carries on, now on the speaker.
    let heard = common::we_hear(&audio, 880.0);
    assert_eq!(audio.speaker_analysis().unwrap().device, "Fake speaker", "{heard}");
    sim_hears(&far_end, 440.0);
}

#[test]
fn meters_show_the_microphone_during_a_call() {
    let audio = fake_audio(440.0);
    let idle = audio.levels();
    assert!(idle.input_dbfs < -100.0, "nothing is open before a call: {idle:?}");
    let (_call, _far_end) = connect(&audio, Offerer::Us, CodecChoice::OpusAndG711, Playback::Tone { hz: 880.0 });
    let levels = wait_for(
        "the meters",
        || Some(audio.levels()).filter(|l| (l.input_dbfs + 20.0).abs() < 1.0 && (l.output_dbfs + 20.0).abs() < 3.0),
        || format!("{:?}", audio.levels()),
    );
    eprintln!("{levels:?}");
}

/// True when ALSA reports no sound card (the CI machine).
fn no_sound_card() -> bool {
    std::fs::read_to_string("/proc/asound/cards").map_or(true, |cards| cards.contains("no soundcards"))
}

#[test]
fn real_devices_list_and_fail_to_open_with_coded_errors_without_a_sound_card() {
    let audio = AudioSystem::cpal().expect("the ALSA host itself is available");
    assert!(!audio.is_fake());
    let devices = audio.devices().expect("listing works without a sound card");
    eprintln!("{devices:?}");
    assert!(audio.speaker_analysis().is_none());
    match audio.probe() {
        Ok(()) => assert!(!no_sound_card(), "opened a device although there is no sound card"),
        Err(error) => {
            assert_eq!(error.code(), "DeviceUnavailable", "{error}");
            eprintln!("{error}");
        }
    }
    if no_sound_card() {
        assert!(audio.probe().is_err());
    }
}

#[test]
fn a_call_still_connects_without_a_sound_card_and_the_failure_is_reported() {
    if !no_sound_card() {
        eprintln!("skipped: this machine has a sound card");
        return;
    }
    let audio = AudioSystem::cpal().unwrap();
    let events = audio.subscribe();
    let (call, far_end) = connect(&audio, Offerer::Simulator, CodecChoice::OpusAndG711, Playback::Tone { hz: 880.0 });
    assert_eq!(call.state(), MediaState::Connected);
    let event = events.recv_timeout(Duration::from_secs(5)).unwrap();
    let AudioDeviceEvent::DeviceFailed { code, .. } = &event else { panic!("unexpected {event:?}") };
    assert_eq!(code, "DeviceUnavailable");
    // No microphone: the far end gets silence, but RTP keeps flowing.
    common::sim_hears_silence(&far_end);
    assert!(call.stats().packets_received > 0);
}
