//! Sample-rate conversion for prompts (once, [`resample`]) and for G.722 legs (20 ms at a time,
//! [`StreamResampler`]): a polyphase windowed-sinc (Kaiser) low-pass resampler.
//!
//! Prompts are converted once at load time ([`resample`]), so that filter favours quality: 80 dB of
//! stop-band attenuation, a pass band flat to 0.85 × the lower Nyquist frequency and a stop band
//! from the lower Nyquist frequency on (for 8 kHz output: flat to 3.4 kHz, silent above 4 kHz).
//! The ratio is exact: with g = gcd(from, to), output sample n sits at input position
//! n·(from/g)/(to/g), and each of the to/g fractional positions has its own precomputed filter.
//! The stream filter is shorter (see [`StreamResampler`]) because it runs for every frame of a
//! G.722 call.

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

/// Stop-band attenuation of the [`StreamResampler`]'s filter, in dB: far below the noise of
/// the codecs it sits between (G.722 ≈ 27 dB SNR, G.711 ≈ 38 dB).
const STREAM_ATTENUATION_DB: f64 = 60.0;

/// The [`StreamResampler`]'s pass band ends here (Hz, for 8 kHz on one side: the telephone band).
const STREAM_PASS_HZ: f64 = 3400.0;

/// The [`StreamResampler`]'s stop band starts here (Hz). Above 4 kHz, so 4.0–4.3 kHz folds into
/// 3.7–4.0 kHz, above the pass band; this halves the filter against a stop band at 4 kHz.
const STREAM_STOP_HZ: f64 = 4300.0;

/// A resampler for a continuous stream fed in chunks (a call's audio, 20 ms at a time). It
/// keeps the last input samples between calls, so chunk boundaries are inaudible. Its filter is
/// shorter than [`resample`]'s because it runs for every frame of a call: flat to 3.4 kHz,
/// 60 dB down from 4.3 kHz (for 8 ↔ 16 kHz: 66 taps down, 34 per phase up, about 2 ms of
/// delay each way). Every chunk of `n` input samples gives exactly `n·to/from` output samples
/// when `n` is a multiple of `from/gcd(from, to)` (any 20 ms chunk at telephony rates).
#[derive(Debug, Clone)]
pub struct StreamResampler {
    up: usize,
    down: usize,
    filter: std::sync::Arc<Filter>,
    /// The last `taps - 1` input samples before the next chunk (zeros at the start), followed
    /// during [`StreamResampler::process`] by the chunk itself.
    buf: Vec<f32>,
    /// Total input samples consumed so far.
    consumed: u64,
    /// Total output samples produced so far.
    produced: u64,
}

impl StreamResampler {
    /// A resampler from `from` Hz to `to` Hz (both non-zero, the lower one at most 8 kHz so
    /// that the telephone band fits). Filters for the same pair of rates are computed once per
    /// process and shared.
    pub fn new(from: u32, to: u32) -> Self {
        assert!(from > 0 && to > 0, "sample rates must be non-zero");
        let g = gcd(from, to);
        let up = (to / g) as usize;
        let down = (from / g) as usize;
        let filter = shared_filter(from, to, up);
        StreamResampler {
            up,
            down,
            buf: vec![0.0; filter.taps - 1],
            filter,
            consumed: 0,
            produced: 0,
        }
    }

    /// Resamples the next chunk of the stream, appending the output to `out`.
    pub fn process(&mut self, input: &[i16], out: &mut Vec<i16>) {
        let taps = self.filter.taps;
        self.buf.extend(input.iter().map(|s| f32::from(*s)));
        let end = self.consumed + input.len() as u64;
        // The window of output n ends at input index base = n·down/up (so the output lags by
        // the filter's length); buf[0] holds input index `consumed - (taps - 1)`.
        let first_index = self.consumed as i64 - (taps as i64 - 1);
        loop {
            let pos = self.produced * self.down as u64;
            let base = pos / self.up as u64;
            if base >= end {
                break;
            }
            let phase = (pos % self.up as u64) as usize;
            let coeffs = &self.filter.table[phase * taps..(phase + 1) * taps];
            let start = (base as i64 - (taps as i64 - 1) - first_index) as usize;
            let acc = dot(coeffs, &self.buf[start..start + taps]);
            out.push(acc.round().clamp(-32768.0, 32767.0) as i16);
            self.produced += 1;
        }
        self.consumed = end;
        let keep = self.buf.len() - (taps - 1);
        self.buf.drain(..keep);
    }
}

/// A dot product in eight independent lanes, which the compiler turns into SIMD (the lengths
/// are multiples of eight: the stream filters are padded).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// Filters shared by every [`StreamResampler`] with the same rates.
fn shared_filter(from: u32, to: u32, phases: usize) -> std::sync::Arc<Filter> {
    use std::sync::{Arc, Mutex, OnceLock};
    type Cache = Mutex<Vec<((u32, u32), Arc<Filter>)>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(Vec::new()));
    let mut cache = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, f)) = cache.iter().find(|(k, _)| *k == (from, to)) {
        return Arc::clone(f);
    }
    let f = Arc::new(
        Filter::design(
            from,
            to,
            phases,
            STREAM_ATTENUATION_DB,
            STREAM_PASS_HZ,
            STREAM_STOP_HZ,
        )
        .padded_to_eight(),
    );
    cache.push(((from, to), Arc::clone(&f)));
    f
}

#[derive(Debug)]
struct Filter {
    taps: usize,
    table: Vec<f32>,
}

impl Filter {
    /// The prompt filter: 80 dB, flat to 0.85 × and stopping at the lower Nyquist frequency.
    fn new(from: u32, to: u32, phases: usize) -> Self {
        let nyquist = f64::from(from.min(to)) / 2.0;
        Filter::design(
            from,
            to,
            phases,
            ATTENUATION_DB,
            nyquist * PASS_FRACTION,
            nyquist,
        )
    }

    /// A Kaiser-windowed sinc with `phases` phases, flat to `pass` Hz and `attenuation` dB
    /// down from `stop` Hz.
    fn design(from: u32, _to: u32, phases: usize, attenuation: f64, pass: f64, stop: f64) -> Self {
        let from_f = f64::from(from);
        let cutoff = (pass + stop) / 2.0 / from_f; // cycles per input sample
        let transition = (stop - pass) / from_f;
        // Kaiser's estimate of the length and shape for the wanted attenuation.
        let length = ((attenuation - 7.95) / (14.36 * transition)).ceil() as usize;
        let half = length.div_ceil(2).max(2);
        let taps = 2 * half;
        let beta = 0.1102 * (attenuation - 8.7);
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

    /// The same filter with zero coefficients in front of each phase (the oldest samples), so
    /// that the length is a multiple of eight for [`dot`]; this adds no delay.
    fn padded_to_eight(self) -> Self {
        let taps = self.taps.div_ceil(8) * 8;
        let pad = taps - self.taps;
        let mut table = Vec::with_capacity(taps * self.table.len() / self.taps);
        for phase in self.table.chunks_exact(self.taps) {
            table.extend(std::iter::repeat_n(0.0, pad));
            table.extend_from_slice(phase);
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

    /// Feeds `input` to a stream resampler in chunks of `chunk` samples.
    fn stream(input: &[i16], from: u32, to: u32, chunk: usize) -> Vec<i16> {
        let mut r = StreamResampler::new(from, to);
        let mut out = Vec::new();
        for c in input.chunks(chunk) {
            let before = out.len();
            r.process(c, &mut out);
            if c.len() == chunk && chunk * 50 == from as usize {
                assert_eq!(
                    out.len() - before,
                    chunk * to as usize / from as usize,
                    "every 20 ms chunk gives one 20 ms chunk"
                );
            }
        }
        out
    }

    #[test]
    fn streaming_8k_16k_keeps_a_1khz_tone_and_its_level() {
        // 16 kHz → 8 kHz in 20 ms chunks (320 samples), and back up in 160-sample chunks.
        let input = sine(1000.0, 16000, 1.0, 16000.0);
        let down = stream(&input, 16000, 8000, 320);
        assert_eq!(down.len(), 8000);
        let body = &down[400..7600];
        let snr = tone_to_residual_db(body, 8000, 1000.0);
        assert!(
            snr > 60.0,
            "16k→8k: tone/residual {snr:.1} dB, expected > 60"
        );
        let level = rms(body) / (16000.0 / 2f64.sqrt());
        assert!(
            (level - 1.0).abs() < 0.01,
            "16k→8k: gain {level}, expected 1"
        );
        let up = stream(&down, 8000, 16000, 160);
        assert_eq!(up.len(), 16000);
        let body = &up[800..15200];
        let snr = tone_to_residual_db(body, 16000, 1000.0);
        assert!(
            snr > 60.0,
            "8k→16k: tone/residual {snr:.1} dB, expected > 60"
        );
        let level = rms(body) / (16000.0 / 2f64.sqrt());
        assert!(
            (level - 1.0).abs() < 0.01,
            "8k→16k: gain {level}, expected 1"
        );
    }

    #[test]
    fn streaming_does_not_depend_on_the_chunk_size() {
        let input = sine(700.0, 16000, 0.2, 12000.0);
        let a = stream(&input, 16000, 8000, 320);
        for chunk in [1, 2, 64, 100, 3200] {
            assert_eq!(a, stream(&input, 16000, 8000, chunk), "chunks of {chunk}");
        }
        let narrow = sine(700.0, 8000, 0.2, 12000.0);
        let b = stream(&narrow, 8000, 16000, 160);
        for chunk in [1, 7, 1600] {
            assert_eq!(b, stream(&narrow, 8000, 16000, chunk), "chunks of {chunk}");
        }
    }

    #[test]
    fn streaming_filters_above_4300hz() {
        for freq in [4300.0, 5000.0, 6000.0, 7500.0] {
            let input = sine(freq, 16000, 0.5, 16000.0);
            let out = stream(&input, 16000, 8000, 320);
            let ratio = rms(&out[400..]) / (16000.0 / 2f64.sqrt());
            let db = 20.0 * ratio.max(1e-9).log10();
            assert!(db < -57.0, "{freq} Hz leaks through 16k→8k at {db:.1} dB");
        }
    }

    #[test]
    fn upsampling_works_too() {
        let input = sine(1000.0, 8000, 0.5, 12000.0);
        let out = resample(&input, 8000, 16000);
        assert_eq!(out.len(), 8000);
        assert!(tone_to_residual_db(&out[200..7800], 16000, 1000.0) > 60.0);
    }
}
