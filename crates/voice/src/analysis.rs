//! What a stretch of audio sounds like: RMS level and dominant frequency. The native engine's
//! fake speaker and the simulator's far end measure with this one code, so both report the same
//! figures for the same audio.

use std::f32::consts::TAU;

/// The level reported for no audio at all, in dBFS (JSON has no `-inf`).
pub const FLOOR_DBFS: f32 = -120.0;
/// Below this level there is no dominant frequency worth reporting, in dBFS.
pub const TONE_THRESHOLD_DBFS: f32 = -60.0;

const SCAN_LOW_HZ: f32 = 50.0;
const SCAN_HIGH_HZ: f32 = 3_900.0;
const COARSE_STEP_HZ: f32 = 5.0;
const FINE_STEP_HZ: f32 = 0.25;

/// RMS level in dBFS, where a full-scale square wave (all samples ±1.0) is 0 dBFS and a
/// full-scale sine is -3 dBFS. [`FLOOR_DBFS`] for silence or no samples.
pub fn level_dbfs(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return FLOOR_DBFS;
    }
    let mean_square = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>() / samples.len() as f64;
    if mean_square <= 0.0 {
        return FLOOR_DBFS;
    }
    ((10.0 * mean_square.log10()) as f32).max(FLOOR_DBFS)
}

/// The strongest frequency between 50 Hz and 3.9 kHz in `samples` (taken at `rate` Hz), found with
/// a Goertzel scan over a Hann-windowed signal: 5 Hz steps, then 0.25 Hz steps around the peak.
/// `None` below [`TONE_THRESHOLD_DBFS`] or for fewer than 50 ms of audio.
pub fn dominant_hz(samples: &[f32], rate: u32) -> Option<f32> {
    if samples.len() < rate as usize / 20 || level_dbfs(samples) < TONE_THRESHOLD_DBFS {
        return None;
    }
    let n = samples.len();
    let windowed: Vec<f32> =
        samples.iter().enumerate().map(|(i, &s)| s * (0.5 - 0.5 * (TAU * i as f32 / (n - 1) as f32).cos())).collect();
    let strongest = |from: f32, to: f32, step: f32| {
        let mut best = (from, f32::MIN);
        let mut hz = from;
        while hz <= to {
            let power = goertzel_power(&windowed, rate, hz);
            if power > best.1 {
                best = (hz, power);
            }
            hz += step;
        }
        best.0
    };
    let coarse = strongest(SCAN_LOW_HZ, SCAN_HIGH_HZ, COARSE_STEP_HZ);
    Some(strongest(coarse - COARSE_STEP_HZ, coarse + COARSE_STEP_HZ, FINE_STEP_HZ))
}

/// The tones in `samples` (taken at `rate` Hz), strongest first, at most `max`: the peaks of a
/// Goertzel scan (5 Hz steps, refined to 0.25 Hz) within 12 dB of the strongest, at least 40 Hz
/// apart. Empty when [`dominant_hz`] finds nothing. Two callers speaking at once are two tones.
pub fn tones_hz(samples: &[f32], rate: u32, max: usize) -> Vec<f32> {
    if samples.len() < rate as usize / 20 || level_dbfs(samples) < TONE_THRESHOLD_DBFS {
        return Vec::new();
    }
    let n = samples.len();
    let windowed: Vec<f32> =
        samples.iter().enumerate().map(|(i, &s)| s * (0.5 - 0.5 * (TAU * i as f32 / (n - 1) as f32).cos())).collect();
    let mut scan = Vec::new();
    let mut hz = SCAN_LOW_HZ;
    while hz <= SCAN_HIGH_HZ {
        scan.push((hz, goertzel_power(&windowed, rate, hz)));
        hz += COARSE_STEP_HZ;
    }
    let strongest = scan.iter().map(|(_, power)| *power).fold(0.0f32, f32::max);
    let mut peaks: Vec<(f32, f32)> = scan
        .windows(3)
        .filter(|w| w[1].1 >= w[0].1 && w[1].1 > w[2].1 && w[1].1 >= strongest / 16.0)
        .map(|w| w[1])
        .collect();
    peaks.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut tones: Vec<f32> = Vec::new();
    for (coarse, _) in peaks {
        let mut best = (coarse, f32::MIN);
        let mut hz = coarse - COARSE_STEP_HZ;
        while hz <= coarse + COARSE_STEP_HZ {
            let power = goertzel_power(&windowed, rate, hz);
            if power > best.1 {
                best = (hz, power);
            }
            hz += FINE_STEP_HZ;
        }
        if tones.iter().all(|tone| (tone - best.0).abs() >= 40.0) {
            tones.push(best.0);
        }
        if tones.len() == max {
            break;
        }
    }
    tones
}

/// The RMS level of the `hz` component of `samples` (taken at `rate` Hz) alone, in dBFS: a tone
/// under a louder one is still measured (a full-scale sine is -3 dBFS).
pub fn level_at_hz_dbfs(samples: &[f32], rate: u32, hz: f32) -> f32 {
    if samples.len() < 2 {
        return FLOOR_DBFS;
    }
    let n = samples.len();
    let windowed: Vec<f32> =
        samples.iter().enumerate().map(|(i, &s)| s * (0.5 - 0.5 * (TAU * i as f32 / (n - 1) as f32).cos())).collect();
    // The Hann window halves a tone's amplitude on average.
    let amplitude = 2.0 * goertzel_power(&windowed, rate, hz).max(0.0).sqrt() / (n as f32 * 0.5);
    let rms = amplitude / std::f32::consts::SQRT_2;
    if rms <= 0.0 { FLOOR_DBFS } else { (20.0 * rms.log10()).max(FLOOR_DBFS) }
}

/// Power of the `hz` component of `samples` (Goertzel algorithm).
fn goertzel_power(samples: &[f32], rate: u32, hz: f32) -> f32 {
    let coefficient = 2.0 * (TAU * hz / rate as f32).cos();
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for &x in samples {
        let s0 = x + coefficient * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    s1 * s1 + s2 * s2 - coefficient * s1 * s2
}

/// 48 kHz → 8 kHz by averaging each group of six samples: a crude low-pass that is plenty for
/// measuring voice-band tones (a 4 kHz component is attenuated, 300-3400 Hz passes).
pub fn decimate_by_6(samples: &[f32]) -> Vec<f32> {
    samples.chunks(6).map(|c| c.iter().sum::<f32>() / c.len() as f32).collect()
}

/// A sine of `hz` at `amplitude` (full scale 1.0), `seconds` long at `rate`: test audio.
pub fn sine(hz: f32, amplitude: f32, rate: u32, seconds: f32) -> Vec<f32> {
    (0..(rate as f32 * seconds) as usize).map(|i| amplitude * (TAU * hz * i as f32 / rate as f32).sin()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_close_tones_at_8_khz_over_half_a_second() {
        for hz in [400.0, 440.0, 1000.0, 880.0, 1477.0] {
            let found = dominant_hz(&sine(hz, 0.1, 8_000, 0.5), 8_000).unwrap();
            assert!((found - hz).abs() < 2.0, "{hz} Hz found as {found} Hz");
        }
    }

    #[test]
    fn levels_in_dbfs() {
        assert_eq!(level_dbfs(&[]), FLOOR_DBFS);
        assert_eq!(level_dbfs(&[0.0; 100]), FLOOR_DBFS);
        assert!((level_dbfs(&sine(440.0, 1.0, 8_000, 0.5)) + 3.01).abs() < 0.05);
        assert_eq!(dominant_hz(&[0.0; 4_000], 8_000), None);
        let decimated = decimate_by_6(&sine(880.0, 0.1, 48_000, 0.5));
        assert!((dominant_hz(&decimated, 8_000).unwrap() - 880.0).abs() < 2.0);
    }

    #[test]
    fn two_tones_at_once_are_both_found_strongest_first() {
        let a = sine(660.0, 0.3, 8_000, 0.5);
        let b = sine(880.0, 0.2, 8_000, 0.5);
        let mixed: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
        let tones = tones_hz(&mixed, 8_000, 3);
        assert_eq!(tones.len(), 2, "{tones:?}");
        assert!((tones[0] - 660.0).abs() < 2.0 && (tones[1] - 880.0).abs() < 2.0, "{tones:?}");
        assert_eq!(tones_hz(&sine(440.0, 0.3, 8_000, 0.5), 8_000, 3).len(), 1);
        assert!(tones_hz(&vec![0.0; 4_000], 8_000, 3).is_empty());
    }

    #[test]
    fn the_level_of_one_tone_is_measured_under_a_louder_one() {
        let quiet = sine(587.0, 0.1, 8_000, 0.5);
        let loud = sine(880.0, 0.5, 8_000, 0.5);
        let mixed: Vec<f32> = quiet.iter().zip(&loud).map(|(x, y)| x + y).collect();
        let at_587 = level_at_hz_dbfs(&mixed, 8_000, 587.0);
        assert!((at_587 - level_dbfs(&quiet)).abs() < 1.0, "{at_587} vs {}", level_dbfs(&quiet));
        assert!(level_at_hz_dbfs(&loud, 8_000, 587.0) < -50.0);
    }
}
