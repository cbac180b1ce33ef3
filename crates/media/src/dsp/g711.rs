//! G.711 µ-law (PCMU), the fallback codec.

const ULAW_BIAS: i32 = 0x84;
const ULAW_CLIP: i32 = 32_635;

/// G.711 µ-law encoding of one 16-bit linear sample.
pub fn ulaw_encode(sample: i16) -> u8 {
    let mut magnitude = i32::from(sample);
    let sign = if magnitude < 0 {
        magnitude = -magnitude;
        0x80
    } else {
        0
    };
    let biased = magnitude.min(ULAW_CLIP) + ULAW_BIAS;
    // `biased >> 7` is in 1..=255: the exponent is the position of its highest set bit.
    let segment = (biased >> 7) as u8;
    let exponent = 7 - segment.leading_zeros() as i32;
    let mantissa = (biased >> (exponent + 3)) & 0x0F;
    !((sign | (exponent << 4) | mantissa) as u8)
}

/// G.711 µ-law decoding of one byte to a 16-bit linear sample.
pub fn ulaw_decode(byte: u8) -> i16 {
    let byte = !byte;
    let exponent = i32::from((byte >> 4) & 0x07);
    let mantissa = i32::from(byte & 0x0F);
    let magnitude = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
    let value = if byte & 0x80 != 0 { -magnitude } else { magnitude };
    value as i16
}

/// A float sample (full scale ±1.0) to 16 bits, clipping.
pub fn to_i16(sample: f32) -> i16 {
    (sample.clamp(-1.0, 1.0) * 32_767.0).round() as i16
}

/// A 16-bit sample to float (full scale ±1.0).
pub fn from_i16(sample: i16) -> f32 {
    f32::from(sample) / 32_768.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_matches_reference_points_and_every_code_round_trips() {
        assert_eq!(ulaw_encode(0), 0xFF);
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_decode(0x80), 32_124);
        for byte in 0..=255u8 {
            let back = ulaw_encode(ulaw_decode(byte));
            assert_eq!(back, if byte == 0x7F { 0xFF } else { byte }, "code {byte:#04x}");
        }
    }
}
