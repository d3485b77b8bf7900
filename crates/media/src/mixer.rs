//! The conference mixer: a pure function over one 20 ms frame.
//!
//! Every participant hears the sum of all others (N−1 mixing) plus any announcement. Sums are
//! accumulated in `i32` and saturated to `i16` once, at the end. A participant who joins fades
//! in over its first frame and one who leaves fades out over its last, so neither clicks.

use crate::codec::FRAME_SAMPLES;

/// One 20 ms frame of 8 kHz audio.
pub type Frame = [i16; FRAME_SAMPLES];

/// How a participant's audio enters the mix in this frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fade {
    /// At full level.
    Full,
    /// Rising linearly from silence (first frame after joining or unmuting).
    In,
    /// Falling linearly to silence (last frame before leaving or muting).
    Out,
}

/// One participant's contribution to a frame.
#[derive(Debug, Clone, Copy)]
pub struct Contribution<'a> {
    /// What the participant said in this frame; `None` when muted or silent.
    pub audio: Option<&'a Frame>,
    /// The level envelope for this frame.
    pub fade: Fade,
}

/// Mixes one frame: `out[i]` becomes everything in the room except participant `i`'s own
/// contribution. `out` is resized to `participants.len()`.
pub fn mix_minus_one(
    participants: &[Contribution<'_>],
    announcement: Option<&Frame>,
    out: &mut Vec<Frame>,
) {
    let mut total = [0i32; FRAME_SAMPLES];
    if let Some(a) = announcement {
        for (t, s) in total.iter_mut().zip(a) {
            *t += i32::from(*s);
        }
    }
    let mut scaled: Vec<Option<[i32; FRAME_SAMPLES]>> = Vec::with_capacity(participants.len());
    for p in participants {
        let Some(audio) = p.audio else {
            scaled.push(None);
            continue;
        };
        let mut own = [0i32; FRAME_SAMPLES];
        for (k, (o, s)) in own.iter_mut().zip(audio).enumerate() {
            *o = apply_fade(i32::from(*s), p.fade, k);
        }
        for (t, o) in total.iter_mut().zip(&own) {
            *t += *o;
        }
        scaled.push(Some(own));
    }
    out.clear();
    for own in &scaled {
        let mut frame = [0i16; FRAME_SAMPLES];
        for (k, f) in frame.iter_mut().enumerate() {
            let v = total[k] - own.as_ref().map_or(0, |o| o[k]);
            *f = v.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
        }
        out.push(frame);
    }
}

fn apply_fade(sample: i32, fade: Fade, k: usize) -> i32 {
    let n = FRAME_SAMPLES as i32;
    match fade {
        Fade::Full => sample,
        Fade::In => sample * (k as i32 + 1) / n,
        Fade::Out => sample * (n - k as i32 - 1) / n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f64, amp: f64, phase_frames: usize) -> Frame {
        let mut f = [0i16; FRAME_SAMPLES];
        for (i, s) in f.iter_mut().enumerate() {
            let t = (phase_frames * FRAME_SAMPLES + i) as f64 / 8000.0;
            *s = (amp * (2.0 * std::f64::consts::PI * freq * t).sin()) as i16;
        }
        f
    }

    fn full(f: &Frame) -> Contribution<'_> {
        Contribution {
            audio: Some(f),
            fade: Fade::Full,
        }
    }

    #[test]
    fn each_of_three_hears_the_sum_of_the_other_two() {
        let a = sine(440.0, 8000.0, 0);
        let b = sine(700.0, 8000.0, 0);
        let c = sine(1100.0, 8000.0, 0);
        let mut out = Vec::new();
        mix_minus_one(&[full(&a), full(&b), full(&c)], None, &mut out);
        assert_eq!(out.len(), 3);
        for k in 0..FRAME_SAMPLES {
            assert_eq!(out[0][k], b[k] + c[k]);
            assert_eq!(out[1][k], a[k] + c[k]);
            assert_eq!(out[2][k], a[k] + b[k]);
        }
    }

    #[test]
    fn sums_saturate_instead_of_wrapping() {
        let loud = [30000i16; FRAME_SAMPLES];
        let quiet = [-30000i16; FRAME_SAMPLES];
        let mut out = Vec::new();
        mix_minus_one(&[full(&loud), full(&loud), full(&loud)], None, &mut out);
        assert!(out[0].iter().all(|s| *s == i16::MAX));
        mix_minus_one(&[full(&quiet), full(&quiet), full(&quiet)], None, &mut out);
        assert!(out[0].iter().all(|s| *s == i16::MIN));
    }

    #[test]
    fn muted_participants_hear_but_are_not_heard() {
        let a = sine(440.0, 8000.0, 0);
        let b = sine(700.0, 8000.0, 0);
        let mut out = Vec::new();
        let muted = Contribution {
            audio: None,
            fade: Fade::Full,
        };
        mix_minus_one(&[full(&a), muted, full(&b)], None, &mut out);
        assert_eq!(out[0], b);
        assert_eq!(out[2], a);
        for k in 0..FRAME_SAMPLES {
            assert_eq!(out[1][k], a[k] + b[k]);
        }
    }

    #[test]
    fn the_announcement_reaches_everyone() {
        let a = sine(440.0, 8000.0, 0);
        let ann = sine(300.0, 5000.0, 0);
        let mut out = Vec::new();
        mix_minus_one(&[full(&a), full(&a)], Some(&ann), &mut out);
        for k in 0..FRAME_SAMPLES {
            assert_eq!(out[0][k], a[k] + ann[k]);
        }
    }

    #[test]
    fn joining_and_leaving_do_not_click() {
        let loud = [20000i16; FRAME_SAMPLES];
        let mut out = Vec::new();
        let listener = Contribution {
            audio: None,
            fade: Fade::Full,
        };
        for fade in [Fade::In, Fade::Out] {
            mix_minus_one(
                &[
                    listener,
                    Contribution {
                        audio: Some(&loud),
                        fade,
                    },
                ],
                None,
                &mut out,
            );
            let heard = &out[0];
            let max_step = heard
                .windows(2)
                .map(|w| (i32::from(w[1]) - i32::from(w[0])).abs())
                .max()
                .unwrap();
            assert!(
                max_step <= 20000 / FRAME_SAMPLES as i32 + 1,
                "{fade:?}: step {max_step}"
            );
            let edge = if fade == Fade::In {
                heard[0]
            } else {
                heard[FRAME_SAMPLES - 1]
            };
            assert!(
                edge.abs() <= 125,
                "{fade:?} starts/ends near silence: {edge}"
            );
        }
    }

    proptest::proptest! {
        /// For any frames, each output is the saturated sum of everyone else's frame.
        #[test]
        fn output_is_the_saturated_sum_of_the_others(
            frames in proptest::collection::vec(
                proptest::collection::vec(proptest::prelude::any::<i16>(), FRAME_SAMPLES),
                1..6,
            )
        ) {
            let frames: Vec<Frame> = frames.iter().map(|f| f.as_slice().try_into().unwrap()).collect();
            let contributions: Vec<Contribution<'_>> = frames.iter().map(full).collect();
            let mut out = Vec::new();
            mix_minus_one(&contributions, None, &mut out);
            for (i, o) in out.iter().enumerate() {
                for k in 0..FRAME_SAMPLES {
                    let sum: i32 = frames
                        .iter()
                        .enumerate()
                        .filter(|(j, _)| *j != i)
                        .map(|(_, f)| i32::from(f[k]))
                        .sum();
                    proptest::prop_assert_eq!(i32::from(o[k]), sum.clamp(-32768, 32767));
                }
            }
        }
    }
}
