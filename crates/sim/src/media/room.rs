//! A room where parties talk: what Telnyx's media servers do when they bridge legs or hold a
//! conference. Each member has a voice and ears; every 20 ms each member hears the others'
//! voices mixed, as a telephone line carries them (8 kHz µ-law), and [`Room::heard`] measures
//! what one member heard as [`super::MediaSession::heard`] does.
//!
//! A member is a simulated telephone (it says a [`Playback`]) or a softphone whose media peer
//! relays through the room ([`Voice::Client`]: what the softphone says comes out of one pipe,
//! what it hears goes into the other). A member on hold neither speaks into the room nor hears
//! it (it hears its hold audio, if any); a muted member hears but is not heard. A thread paces the
//! frames in real time; dropping the room stops it.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::audio::{self, Source};
use super::{AudioPipe, Heard, MediaError, Playback, Shared};

/// How a member speaks and hears.
#[derive(Debug, Clone, PartialEq)]
pub enum Voice {
    /// A telephone saying this.
    Says(Playback),
    /// A softphone: its media peer puts what the softphone says into `from_client` and plays
    /// `to_client` to it.
    Client {
        /// What the softphone says.
        from_client: AudioPipe,
        /// What it hears.
        to_client: AudioPipe,
    },
}

struct Member {
    voice: MemberVoice,
    ears: Arc<Mutex<Shared>>,
    echo: VecDeque<f32>,
    muted: bool,
    /// On hold, with what it hears meanwhile.
    held: Option<Source>,
}

enum MemberVoice {
    Says(Source),
    Client { from_client: AudioPipe, to_client: AudioPipe },
}

type Members = Arc<Mutex<BTreeMap<String, Member>>>;

/// A running room.
pub struct Room {
    members: Members,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Room {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Room").field("members", &self.members()).finish_non_exhaustive()
    }
}

impl Room {
    /// An empty room, its clock running.
    pub fn open() -> Result<Room, MediaError> {
        let members: Members = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (members, stop) = (Arc::clone(&members), Arc::clone(&stop));
            std::thread::Builder::new().name("media-room".to_owned()).spawn(move || {
                let started = Instant::now();
                let mut frames: u32 = 0;
                while !stop.load(Ordering::Relaxed) {
                    tick(&mut members.lock().unwrap_or_else(PoisonError::into_inner), Instant::now());
                    frames += 1;
                    let next = started + Duration::from_millis(20) * frames;
                    std::thread::sleep(next.saturating_duration_since(Instant::now()));
                }
            })?
        };
        Ok(Room { members, stop, thread: Some(thread) })
    }

    /// `key` joins (or rejoins, replacing its voice).
    pub fn join(&self, key: &str, voice: Voice) -> Result<(), MediaError> {
        let voice = match voice {
            Voice::Says(playback) => MemberVoice::Says(Source::new(&playback)?),
            Voice::Client { from_client, to_client } => MemberVoice::Client { from_client, to_client },
        };
        let member = Member { voice, ears: Arc::default(), echo: VecDeque::new(), muted: false, held: None };
        self.lock().insert(key.to_owned(), member);
        Ok(())
    }

    /// `key` leaves; false if it was not in the room.
    pub fn leave(&self, key: &str) -> bool {
        self.lock().remove(key).is_some()
    }

    /// Whether `key` is in the room.
    pub fn has(&self, key: &str) -> bool {
        self.lock().contains_key(key)
    }

    /// Who is in the room.
    pub fn members(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// Mutes (`true`) or unmutes `key`; false if it is not in the room.
    pub fn mute(&self, key: &str, muted: bool) -> bool {
        self.lock().get_mut(key).map(|member| member.muted = muted).is_some()
    }

    /// Holds `key` (it hears `audio`, or silence) or takes it off hold (`None`).
    pub fn hold(&self, key: &str, audio: Option<Option<Playback>>) -> Result<bool, MediaError> {
        let held = match audio {
            Some(Some(playback)) => Some(Source::new(&playback)?),
            Some(None) => Some(Source::Silence),
            None => None,
        };
        Ok(self.lock().get_mut(key).map(|member| member.held = held).is_some())
    }

    /// What `key` heard over the last [`super::HEARD_WINDOW`].
    pub fn heard(&self, key: &str) -> Option<Heard> {
        let ears = self.lock().get(key).map(|member| Arc::clone(&member.ears))?;
        Some(super::measure(&ears))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Member>> {
        self.members.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// 20 ms of the room: every member's voice, then every member hears the others.
fn tick(members: &mut BTreeMap<String, Member>, now: Instant) {
    let voices: Vec<(String, Vec<f32>)> = members
        .iter_mut()
        .map(|(key, member)| {
            let said = match &mut member.voice {
                MemberVoice::Says(source) => source.next_frame(&mut member.echo),
                MemberVoice::Client { from_client, .. } => {
                    from_client.take(audio::FRAME).unwrap_or_else(|| vec![0.0; audio::FRAME])
                }
            };
            let silent = member.muted || member.held.is_some();
            (key.clone(), if silent { vec![0.0; audio::FRAME] } else { said })
        })
        .collect();
    for (key, member) in members.iter_mut() {
        let heard: Vec<f32> = match member.held.as_mut() {
            Some(hold_audio) => hold_audio.next_frame(&mut VecDeque::new()),
            None => {
                let mut mix = vec![0.0; audio::FRAME];
                for (_, said) in voices.iter().filter(|(other, _)| other != key) {
                    mix.iter_mut().zip(said).for_each(|(sample, voice)| *sample += voice);
                }
                mix
            }
        };
        let narrow: Vec<f32> = audio::decimate(&heard)
            .into_iter()
            .map(|sample| audio::from_i16(audio::ulaw_decode(audio::ulaw_encode(audio::to_i16(sample)))))
            .collect();
        match &member.voice {
            MemberVoice::Client { to_client, .. } => to_client.push(&heard),
            MemberVoice::Says(_) => {
                // An echoing telephone sends back what it hears.
                member.echo.extend(audio::interpolate(&narrow, &mut 0.0));
                let excess = member.echo.len().saturating_sub(audio::ECHO_MAX);
                member.echo.drain(..excess);
            }
        }
        let mut ears = member.ears.lock().unwrap_or_else(PoisonError::into_inner);
        ears.packets_received += 1;
        ears.bytes_received += narrow.len() as u64;
        ears.push_recent(now, narrow);
    }
}

impl Drop for Room {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hears(room: &Room, key: &str, hz: f32) -> bool {
        room.heard(key).and_then(|heard| heard.dominant_hz).is_some_and(|got| (got - hz).abs() < 8.0)
    }

    #[test]
    fn two_telephones_hear_each_other_and_not_themselves() {
        let room = Room::open().unwrap();
        room.join("a", Voice::Says(Playback::Tone { hz: 440.0 })).unwrap();
        room.join("b", Voice::Says(Playback::Tone { hz: 660.0 })).unwrap();
        std::thread::sleep(Duration::from_millis(700));
        assert!(hears(&room, "a", 660.0) && hears(&room, "b", 440.0), "{:?} {:?}", room.heard("a"), room.heard("b"));
    }

    #[test]
    fn in_a_three_way_call_each_hears_the_other_two_and_a_muted_or_held_one_is_not_heard() {
        let room = Room::open().unwrap();
        for (key, hz) in [("a", 440.0), ("b", 660.0), ("c", 880.0)] {
            room.join(key, Voice::Says(Playback::Tone { hz })).unwrap();
        }
        // Each hears two tones at once; muting one leaves the other to be measured.
        room.mute("b", true);
        std::thread::sleep(Duration::from_millis(700));
        assert!(hears(&room, "a", 880.0) && hears(&room, "c", 440.0), "b muted is not heard");
        room.mute("b", false);
        room.hold("c", Some(Some(Playback::Tone { hz: 392.0 }))).unwrap();
        std::thread::sleep(Duration::from_millis(700));
        assert!(hears(&room, "a", 660.0) && hears(&room, "b", 440.0), "c on hold is not heard");
        assert!(hears(&room, "c", 392.0), "c hears its hold music");
        assert!(room.leave("c") && !room.has("c"));
    }

    #[test]
    fn a_softphone_in_the_room_hears_through_its_pipe() {
        let room = Room::open().unwrap();
        let (from_client, to_client) = (AudioPipe::default(), AudioPipe::default());
        room.join("agent", Voice::Client { from_client: from_client.clone(), to_client: to_client.clone() }).unwrap();
        room.join("caller", Voice::Says(Playback::Tone { hz: 523.0 })).unwrap();
        let mut source = Source::new(&Playback::Tone { hz: 880.0 }).unwrap();
        for _ in 0..35 {
            from_client.push(&source.next_frame(&mut VecDeque::new()));
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(hears(&room, "caller", 880.0), "{:?}", room.heard("caller"));
        let played = to_client.take(audio::FRAME * 10).expect("the agent's pipe has audio");
        let heard = softphone_voice::analysis::dominant_hz(&audio::decimate(&played), 8_000).unwrap();
        assert!((heard - 523.0).abs() < 8.0, "{heard}");
    }
}
