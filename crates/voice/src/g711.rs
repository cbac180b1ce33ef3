//! G.711 µ-law (PCMU) and A-law (PCMA), the fallback codecs (a carrier leg may offer only one).

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

/// The top of each A-law segment, in 13-bit magnitude (G.711 table 1).
const ALAW_SEGMENT_END: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];

/// G.711 A-law encoding of one 16-bit linear sample (even bits inverted, as on the wire).
pub fn alaw_encode(sample: i16) -> u8 {
    let mut magnitude = i32::from(sample) >> 3;
    let mask: i32 = if magnitude >= 0 {
        0xD5
    } else {
        magnitude = -magnitude - 1;
        0x55
    };
    let Some(segment) = ALAW_SEGMENT_END.iter().position(|&end| magnitude <= end) else {
        return (0x7F ^ mask) as u8;
    };
    let quantized = if segment < 2 { (magnitude >> 1) & 0x0F } else { (magnitude >> segment) & 0x0F };
    (((segment as i32) << 4 | quantized) ^ mask) as u8
}

/// G.711 A-law decoding of one byte to a 16-bit linear sample.
pub fn alaw_decode(byte: u8) -> i16 {
    let byte = byte ^ 0x55;
    let mut value = i32::from(byte & 0x0F) << 4;
    let segment = i32::from((byte & 0x70) >> 4);
    match segment {
        0 => value += 8,
        1 => value += 0x108,
        _ => {
            value += 0x108;
            value <<= segment - 1;
        }
    }
    (if byte & 0x80 != 0 { value } else { -value }) as i16
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

    #[test]
    fn alaw_matches_reference_points_and_every_code_round_trips() {
        // G.711: the smallest positive step is 0xD5 (8), the largest 0xAA (32256).
        assert_eq!(alaw_encode(0), 0xD5);
        assert_eq!(alaw_decode(0xD5), 8);
        assert_eq!(alaw_decode(0x55), -8);
        assert_eq!(alaw_encode(i16::MAX), 0xAA);
        assert_eq!(alaw_decode(0xAA), 32_256);
        assert_eq!(alaw_encode(i16::MIN), 0x2A);
        for byte in 0..=255u8 {
            assert_eq!(alaw_encode(alaw_decode(byte)), byte, "code {byte:#04x}");
        }
        // Quantization error stays within a step of the segment.
        for sample in (-32_000i16..32_000).step_by(97) {
            let back = i32::from(alaw_decode(alaw_encode(sample)));
            let error = (back - i32::from(sample)).abs();
            assert!(error <= (i32::from(sample).abs() / 16).max(16), "{sample} -> {back}");
        }
    }
}
