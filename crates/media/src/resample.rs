//! Sample-rate conversion for prompts: a polyphase windowed-sinc (Kaiser) low-pass resampler.
//!
//! It runs once per prompt at load time, so it favours quality over speed: about 80 dB of
//! stop-band attenuation, a pass band flat to 0.85 × the lower Nyquist frequency and a stop band
//! from the lower Nyquist frequency on (for 8 kHz output: flat to 3.4 kHz, silent above 4 kHz).
//! The ratio is exact: with g = gcd(from, to), output sample n sits at input position
//! n·(from/g)/(to/g), and each of the to/g fractional positions has its own precomputed filter.

/// Stop-band attenuation the filter length is chosen for, in dB.
const ATTENUATION_DB: f64 = 80.0;

/// The pass band ends at this fraction of the lower Nyquist frequency; the stop band starts at it.
const PASS_FRACTION: f64 = 0.85;

/// Converts mono samples from `from` Hz to `to` Hz. Both rates must be non-zero.
pub fn resample(input: &[i16], from: u32, to: u32) -> Vec<i16> {
    if from == to || input.is_empty() || from == 0 || to == 0 {
        return input.to_vec();
    }
    let g = gcd(from, to);
    let up = (to / g) as usize; // number of phases
    let down = (from / g) as usize; // input step per `up` outputs
    let filter = Filter::new(from, to, up);
    let out_len = (input.len() as u64 * u64::from(to) / u64::from(from)) as usize;
    let mut out = Vec::with_capacity(out_len);
    let taps = filter.taps;
    let half = (taps / 2) as isize;
    for n in 0..out_len {
        let pos = n * down;
        let base = (pos / up) as isize;
        let phase = pos % up;
        let coeffs = &filter.table[phase * taps..(phase + 1) * taps];
        let first = base - half + 1;
        let mut acc = 0.0f32;
        if first >= 0 && (first as usize + taps) <= input.len() {
            let window = &input[first as usize..first as usize + taps];
            for (c, s) in coeffs.iter().zip(window) {
                acc += c * f32::from(*s);
            }
        } else {
            for (k, c) in coeffs.iter().enumerate() {
                let idx = first + k as isize;
                if idx >= 0
                    && let Some(s) = input.get(idx as usize)
                {
                    acc += c * f32::from(*s);
                }
            }
        }
        out.push(acc.round().clamp(-32768.0, 32767.0) as i16);
    }
    out
}

struct Filter {
    taps: usize,
    table: Vec<f32>,
}

impl Filter {
    fn new(from: u32, to: u32, phases: usize) -> Self {
        let from_f = f64::from(from);
        let nyquist = f64::from(from.min(to)) / 2.0;
        let stop = nyquist;
        let pass = nyquist * PASS_FRACTION;
        let cutoff = (pass + stop) / 2.0 / from_f; // cycles per input sample
        let transition = (stop - pass) / from_f;
        // Kaiser's estimate of the length and shape for the wanted attenuation.
        let length = ((ATTENUATION_DB - 7.95) / (14.36 * transition)).ceil() as usize;
        let half = length.div_ceil(2).max(2);
        let taps = 2 * half;
        let beta = 0.1102 * (ATTENUATION_DB - 8.7);
        let i0_beta = bessel_i0(beta);
        let mut table = Vec::with_capacity(phases * taps);
        for phase in 0..phases {
            let frac = phase as f64 / phases as f64;
            let start = table.len();
            let mut sum = 0.0;
            for k in 0..taps {
                // Distance from the output position to input sample `base - half + 1 + k`.
                let x = (k as f64 - half as f64 + 1.0) - frac;
                let arg = 2.0 * cutoff * x;
                let sinc = if arg.abs() < 1e-12 {
                    1.0
                } else {
                    (std::f64::consts::PI * arg).sin() / (std::f64::consts::PI * arg)
                };
                let r = x / half as f64;
                let w = if r.abs() >= 1.0 {
                    0.0
                } else {
                    bessel_i0(beta * (1.0 - r * r).sqrt()) / i0_beta
                };
                let h = 2.0 * cutoff * sinc * w;
                sum += h;
                table.push(h as f32);
            }
            // Unity gain at DC for every phase, so a constant stays constant.
            if sum.abs() > 1e-12 {
                for c in &mut table[start..] {
                    *c = (f64::from(*c) / sum) as f32;
                }
            }
        }
        Filter { taps, table }
    }
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The modified Bessel function of the first kind, order zero (power series).
fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    let half = x / 2.0;
    for k in 1..64 {
        term *= (half / k as f64) * (half / k as f64);
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sine(freq: f64, rate: u32, seconds: f64, amplitude: f64) -> Vec<i16> {
        let n = (f64::from(rate) * seconds) as usize;
        (0..n)
            .map(|i| {
                (amplitude * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin())
                    as i16
            })
            .collect()
    }

    /// Power of `freq` in `x` (sampled at `rate`) relative to the total power, in dB, found by
    /// least-squares fitting a sine and cosine at that frequency.
    pub(crate) fn tone_to_residual_db(x: &[i16], rate: u32, freq: f64) -> f64 {
        let w = 2.0 * std::f64::consts::PI * freq / f64::from(rate);
        let (mut ss, mut sc) = (0.0, 0.0);
        for (i, v) in x.iter().enumerate() {
            ss += f64::from(*v) * (w * i as f64).sin();
            sc += f64::from(*v) * (w * i as f64).cos();
        }
        let n = x.len() as f64;
        let (a, b) = (2.0 * ss / n, 2.0 * sc / n);
        let mut residual = 0.0;
        let mut tone = 0.0;
        for (i, v) in x.iter().enumerate() {
            let fit = a * (w * i as f64).sin() + b * (w * i as f64).cos();
            tone += fit * fit;
            residual += (f64::from(*v) - fit).powi(2);
        }
        10.0 * (tone / residual.max(1e-9)).log10()
    }

    pub(crate) fn rms(x: &[i16]) -> f64 {
        (x.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / x.len().max(1) as f64).sqrt()
    }

    #[test]
    fn a_1khz_tone_stays_1khz_with_low_distortion() {
        for rate in [16000, 22050, 44100, 48000] {
            let input = sine(1000.0, rate, 1.0, 16000.0);
            let out = resample(&input, rate, 8000);
            assert_eq!(out.len(), 8000, "rate {rate}");
            // Skip the filter's start-up at both ends.
            let body = &out[200..7800];
            let snr = tone_to_residual_db(body, 8000, 1000.0);
            assert!(snr > 60.0, "rate {rate}: tone/residual {snr:.1} dB");
            let level = rms(body) / (16000.0 / 2f64.sqrt());
            assert!((level - 1.0).abs() < 0.01, "rate {rate}: gain {level}");
        }
    }

    #[test]
    fn content_above_4khz_is_filtered() {
        for rate in [16000, 22050, 44100, 48000] {
            for freq in [4500.0, 6000.0, 7000.0] {
                let input = sine(freq, rate, 0.5, 16000.0);
                let out = resample(&input, rate, 8000);
                let ratio = rms(&out[200..out.len() - 200]) / (16000.0 / 2f64.sqrt());
                let db = 20.0 * ratio.max(1e-9).log10();
                assert!(db < -60.0, "rate {rate}, {freq} Hz leaks at {db:.1} dB");
            }
        }
    }

    #[test]
    fn the_pass_band_is_flat() {
        let input = sine(3000.0, 48000, 0.5, 16000.0);
        let out = resample(&input, 48000, 8000);
        let ratio = rms(&out[200..3800]) / (16000.0 / 2f64.sqrt());
        assert!((ratio - 1.0).abs() < 0.02, "3 kHz gain {ratio}");
    }

    #[test]
    fn a_constant_stays_constant_and_same_rate_is_a_copy() {
        let out = resample(&[1000; 4410], 44100, 8000);
        assert!(out[100..700].iter().all(|v| (*v - 1000).abs() <= 1));
        assert_eq!(resample(&[1, 2, 3], 8000, 8000), vec![1, 2, 3]);
    }

    #[test]
    fn upsampling_works_too() {
        let input = sine(1000.0, 8000, 0.5, 12000.0);
        let out = resample(&input, 8000, 16000);
        assert_eq!(out.len(), 8000);
        assert!(tone_to_residual_db(&out[200..7800], 16000, 1000.0) > 60.0);
    }
}
