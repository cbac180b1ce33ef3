//! Call quality figures: a MOS estimate from the ITU-T G.107 E-model, simplified the way VoIP
//! monitors do it (delay, jitter and loss; codec impairment per codec).

/// The estimated mean opinion score (1.0 bad to 4.5 excellent) of a call with this round-trip
/// time, jitter and packet loss, for `codec` (`"opus"`, `"PCMU"` or `"PCMA"`).
pub fn mos_estimate(codec: &str, rtt_ms: f32, jitter_ms: f32, loss_pct: f32) -> f32 {
    // Effective one-way delay: half the RTT, twice the jitter (the buffer), 10 ms of codec.
    let delay = rtt_ms / 2.0 + 2.0 * jitter_ms + 10.0;
    let delay_impairment = if delay < 160.0 { delay / 40.0 } else { (delay - 120.0) / 10.0 };
    // Equipment impairment and loss robustness (G.113 values; Opus close to wideband codecs).
    let g711 = codec.eq_ignore_ascii_case("pcmu") || codec.eq_ignore_ascii_case("pcma");
    let (ie, bpl) = if g711 { (0.0, 4.3) } else { (0.0, 20.0) };
    let loss = loss_pct.clamp(0.0, 100.0);
    let ie_eff = ie + (95.0 - ie) * loss / (loss + bpl);
    let r = (93.2 - delay_impairment - ie_eff).clamp(0.0, 100.0);
    (1.0 + 0.035 * r + 7.0e-6 * r * (r - 60.0) * (100.0 - r)).clamp(1.0, 4.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_line_scores_high_and_loss_and_delay_lower_it() {
        let clean = mos_estimate("opus", 20.0, 2.0, 0.0);
        assert!(clean > 4.3, "{clean}");
        let lossy = mos_estimate("PCMU", 20.0, 2.0, 5.0);
        assert!(lossy < 3.6, "{lossy}");
        let slow = mos_estimate("opus", 600.0, 30.0, 0.0);
        assert!(slow < clean - 0.5, "{slow}");
        assert!(mos_estimate("opus", 5_000.0, 500.0, 100.0) >= 1.0);
    }
}
