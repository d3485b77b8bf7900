//! G.711 µ-law (PCMU) and A-law (PCMA), written by hand.
//!
//! Encoding looks up tables of 16 K (µ-law) and 8 K (A-law) entries, and decoding tables of
//! 256 entries, all computed at compile time by bit arithmetic (the segment is the position of
//! the highest set bit). Both are tested exhaustively
//! against a literal transcription of the classic Sun / ITU-T G.191 reference (`g711.c`),
//! which searches a table of segment end points.

/// Encodes one 16-bit linear sample as a µ-law byte (one table lookup).
#[inline]
pub fn ulaw_encode(sample: i16) -> u8 {
    ULAW_ENCODE[((sample >> 2) as u16 & 0x3FFF) as usize]
}

/// Encodes one sample as µ-law by bit arithmetic; builds the encoder table.
const fn ulaw_encode_calc(sample: i16) -> u8 {
    let mut v = (sample as i32) >> 2;
    let mask: u8 = if v < 0 {
        v = -v;
        0x7F
    } else {
        0xFF
    };
    // Clip the magnitude and add the bias (0x84 >> 2); the result is in 33..=8192.
    if v > 8159 {
        v = 8159;
    }
    v += 33;
    let seg = 26 - (v as u32).leading_zeros() as i32; // highest set bit - 5
    if seg >= 8 {
        0x7F ^ mask
    } else {
        (((seg << 4) | ((v >> (seg + 1)) & 0x0F)) as u8) ^ mask
    }
}

/// Decodes one µ-law byte to a 16-bit linear sample.
#[inline]
pub fn ulaw_decode(code: u8) -> i16 {
    ULAW_TABLE[code as usize]
}

/// Encodes one 16-bit linear sample as an A-law byte (even bits inverted, as transmitted;
/// one table lookup).
#[inline]
pub fn alaw_encode(sample: i16) -> u8 {
    ALAW_ENCODE[((sample >> 3) as u16 & 0x1FFF) as usize]
}

/// Encodes one sample as A-law by bit arithmetic; builds the encoder table.
const fn alaw_encode_calc(sample: i16) -> u8 {
    let mut v = (sample as i32) >> 3;
    let mask: u8 = if v >= 0 {
        0xD5
    } else {
        v = -v - 1;
        0x55
    };
    // v is in 0..=4095, so the segment is at most 7.
    let seg = if v < 32 {
        0
    } else {
        27 - (v as u32).leading_zeros() as i32 // highest set bit - 4
    };
    let quant = (if seg < 2 { v >> 1 } else { v >> seg }) & 0x0F;
    (((seg << 4) | quant) as u8) ^ mask
}

/// Decodes one A-law byte to a 16-bit linear sample.
#[inline]
pub fn alaw_decode(code: u8) -> i16 {
    ALAW_TABLE[code as usize]
}

/// Encodes a block of samples as µ-law, appending to `out`.
pub fn ulaw_encode_into(samples: &[i16], out: &mut Vec<u8>) {
    out.extend(samples.iter().map(|s| ulaw_encode(*s)));
}

/// Decodes a block of µ-law bytes, appending to `out`.
pub fn ulaw_decode_into(codes: &[u8], out: &mut Vec<i16>) {
    out.extend(codes.iter().map(|c| ulaw_decode(*c)));
}

/// Encodes a block of samples as A-law, appending to `out`.
pub fn alaw_encode_into(samples: &[i16], out: &mut Vec<u8>) {
    out.extend(samples.iter().map(|s| alaw_encode(*s)));
}

/// Decodes a block of A-law bytes, appending to `out`.
pub fn alaw_decode_into(codes: &[u8], out: &mut Vec<i16>) {
    out.extend(codes.iter().map(|c| alaw_decode(*c)));
}

/// Converts a µ-law byte straight to the A-law byte of the same decoded value.
#[inline]
pub fn ulaw_to_alaw(code: u8) -> u8 {
    ULAW_TO_ALAW[code as usize]
}

/// Converts an A-law byte straight to the µ-law byte of the same decoded value.
#[inline]
pub fn alaw_to_ulaw(code: u8) -> u8 {
    ALAW_TO_ULAW[code as usize]
}

const fn ulaw_decode_calc(code: u8) -> i16 {
    let u = !code;
    let exponent = (u >> 4) & 0x07;
    let magnitude = ((((u & 0x0F) as i32) << 3) + 0x84) << exponent;
    if u & 0x80 != 0 {
        (0x84 - magnitude) as i16
    } else {
        (magnitude - 0x84) as i16
    }
}

const fn alaw_decode_calc(code: u8) -> i16 {
    let a = code ^ 0x55;
    let seg = (a >> 4) & 0x07;
    let mut t = ((a & 0x0F) as i32) << 4;
    if seg == 0 {
        t += 8;
    } else {
        t = (t + 0x108) << (seg - 1);
    }
    if a & 0x80 != 0 { t as i16 } else { -t as i16 }
}

const ULAW_TABLE: [i16; 256] = {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = ulaw_decode_calc(i as u8);
        i += 1;
    }
    t
};

const ALAW_TABLE: [i16; 256] = {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = alaw_decode_calc(i as u8);
        i += 1;
    }
    t
};

/// µ-law codes indexed by the 14 significant bits of the sample (`sample >> 2`).
static ULAW_ENCODE: [u8; 16384] = {
    let mut t = [0u8; 16384];
    let mut i = 0;
    while i < 16384 {
        // Rebuild a sample whose top 14 bits are `i` (two's complement).
        t[i] = ulaw_encode_calc(((i as u16) << 2) as i16);
        i += 1;
    }
    t
};

/// A-law codes indexed by the 13 significant bits of the sample (`sample >> 3`).
static ALAW_ENCODE: [u8; 8192] = {
    let mut t = [0u8; 8192];
    let mut i = 0;
    while i < 8192 {
        t[i] = alaw_encode_calc(((i as u16) << 3) as i16);
        i += 1;
    }
    t
};

static ULAW_TO_ALAW: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = alaw_encode_calc(ULAW_TABLE[i]);
        i += 1;
    }
    t
};

static ALAW_TO_ULAW: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = ulaw_encode_calc(ALAW_TABLE[i]);
        i += 1;
    }
    t
};

#[cfg(test)]
mod tests {
    use super::*;

    /// A literal transcription of the Sun Microsystems `g711.c` reference (also in ITU-T G.191).
    mod reference {
        const SEG_AEND: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];
        const SEG_UEND: [i32; 8] = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF];
        const BIAS: i32 = 0x84;
        const CLIP: i32 = 8159;

        fn search(val: i32, table: &[i32; 8]) -> i32 {
            for (i, end) in table.iter().enumerate() {
                if val <= *end {
                    return i as i32;
                }
            }
            8
        }

        pub fn linear2alaw(pcm: i16) -> u8 {
            let mut pcm_val = i32::from(pcm) >> 3;
            let mask;
            if pcm_val >= 0 {
                mask = 0xD5;
            } else {
                mask = 0x55;
                pcm_val = -pcm_val - 1;
            }
            let seg = search(pcm_val, &SEG_AEND);
            if seg >= 8 {
                (0x7F ^ mask) as u8
            } else {
                let mut aval = seg << 4;
                if seg < 2 {
                    aval |= (pcm_val >> 1) & 0x0F;
                } else {
                    aval |= (pcm_val >> seg) & 0x0F;
                }
                (aval ^ mask) as u8
            }
        }

        pub fn alaw2linear(a_val: u8) -> i16 {
            let a_val = i32::from(a_val ^ 0x55);
            let mut t = (a_val & 0x0F) << 4;
            let seg = (a_val & 0x70) >> 4;
            match seg {
                0 => t += 8,
                1 => t += 0x108,
                _ => {
                    t += 0x108;
                    t <<= seg - 1;
                }
            }
            (if a_val & 0x80 != 0 { t } else { -t }) as i16
        }

        pub fn linear2ulaw(pcm: i16) -> u8 {
            let mut pcm_val = i32::from(pcm) >> 2;
            let mask;
            if pcm_val < 0 {
                pcm_val = -pcm_val;
                mask = 0x7F;
            } else {
                mask = 0xFF;
            }
            if pcm_val > CLIP {
                pcm_val = CLIP;
            }
            pcm_val += BIAS >> 2;
            let seg = search(pcm_val, &SEG_UEND);
            if seg >= 8 {
                (0x7F ^ mask) as u8
            } else {
                let uval = (seg << 4) | ((pcm_val >> (seg + 1)) & 0x0F);
                (uval ^ mask) as u8
            }
        }

        pub fn ulaw2linear(u_val: u8) -> i16 {
            let u_val = i32::from(!u_val);
            let mut t = ((u_val & 0x0F) << 3) + BIAS;
            t <<= (u_val & 0x70) >> 4;
            (if u_val & 0x80 != 0 {
                BIAS - t
            } else {
                t - BIAS
            }) as i16
        }
    }

    #[test]
    fn ulaw_encoder_matches_reference_for_all_65536_inputs() {
        for s in i16::MIN..=i16::MAX {
            assert_eq!(ulaw_encode(s), reference::linear2ulaw(s), "sample {s}");
            assert_eq!(ulaw_encode_calc(s), reference::linear2ulaw(s), "sample {s}");
        }
    }

    #[test]
    fn alaw_encoder_matches_reference_for_all_65536_inputs() {
        for s in i16::MIN..=i16::MAX {
            assert_eq!(alaw_encode(s), reference::linear2alaw(s), "sample {s}");
            assert_eq!(alaw_encode_calc(s), reference::linear2alaw(s), "sample {s}");
        }
    }

    #[test]
    fn decoders_match_reference_for_all_256_codes() {
        for c in 0..=255u8 {
            assert_eq!(
                ulaw_decode(c),
                reference::ulaw2linear(c),
                "µ-law code {c:#04x}"
            );
            assert_eq!(
                alaw_decode(c),
                reference::alaw2linear(c),
                "A-law code {c:#04x}"
            );
        }
    }

    #[test]
    fn known_table_values() {
        // Values from the G.711 tables: µ-law 0x00/0x80 are the extremes, 0xFF/0x7F are ±0.
        assert_eq!(ulaw_decode(0x00), -32124);
        assert_eq!(ulaw_decode(0x80), 32124);
        assert_eq!(ulaw_decode(0xFF), 0);
        assert_eq!(ulaw_decode(0x7F), 0);
        assert_eq!(ulaw_encode(0), 0xFF);
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
        // A-law: 0xD5 / 0x55 are the smallest magnitudes, 0xAA / 0x2A the largest.
        assert_eq!(alaw_decode(0xD5), 8);
        assert_eq!(alaw_decode(0x55), -8);
        assert_eq!(alaw_decode(0xAA), 32256);
        assert_eq!(alaw_decode(0x2A), -32256);
        assert_eq!(alaw_encode(0), 0xD5);
        assert_eq!(alaw_encode(-1), 0x55);
    }

    #[test]
    fn encode_of_decode_is_identity_except_negative_zero() {
        for c in 0..=255u8 {
            let back = ulaw_encode(ulaw_decode(c));
            if c == 0x7F {
                assert_eq!(back, 0xFF, "µ-law negative zero encodes as positive zero");
            } else {
                assert_eq!(back, c, "µ-law code {c:#04x}");
            }
            assert_eq!(alaw_encode(alaw_decode(c)), c, "A-law code {c:#04x}");
        }
    }

    #[test]
    fn transcoding_tables_agree_with_decode_then_encode() {
        for c in 0..=255u8 {
            assert_eq!(ulaw_to_alaw(c), alaw_encode(ulaw_decode(c)));
            assert_eq!(alaw_to_ulaw(c), ulaw_encode(alaw_decode(c)));
        }
    }

    #[test]
    fn quantisation_error_is_bounded_by_the_segment_step() {
        for s in (i16::MIN..=i16::MAX).step_by(7) {
            let u = i32::from(ulaw_decode(ulaw_encode(s)));
            let a = i32::from(alaw_decode(alaw_encode(s)));
            let s = i32::from(s);
            // The largest step is 1024 (µ-law) and 1024 (A-law) in the top segment, plus clipping.
            assert!((u - s).abs() <= 1024 || s.abs() > 32124, "µ-law {s} -> {u}");
            assert!((a - s).abs() <= 1024 || s.abs() > 32256, "A-law {s} -> {a}");
        }
    }
}
