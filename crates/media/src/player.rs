//! The prompt player: a sequence of prompts cut into 20 ms frames, optionally looped.
//!
//! Prompts follow each other without a gap (a frame may span two prompts); the last frame is
//! padded with silence. Playing shares the prompts' samples; a player is three counters.

use std::sync::Arc;

use crate::codec::FRAME_SAMPLES;
use crate::prompt::Prompt;

/// Plays a sequence of prompts frame by frame.
#[derive(Debug, Clone)]
pub struct Player {
    prompts: Vec<Arc<Prompt>>,
    looping: bool,
    index: usize,
    offset: usize,
    frames: u64,
}

impl Player {
    /// Creates a player for `prompts`; with `looping` it starts over after the last one forever
    /// (unless every prompt is empty).
    pub fn new(prompts: Vec<Arc<Prompt>>, looping: bool) -> Self {
        Player {
            prompts,
            looping,
            index: 0,
            offset: 0,
            frames: 0,
        }
    }

    /// Whether the sequence has been played to its end.
    pub fn is_finished(&self) -> bool {
        self.index >= self.prompts.len()
    }

    /// The number of frames produced so far (the shared position for music on hold).
    pub fn frames_played(&self) -> u64 {
        self.frames
    }

    /// Fills `out` with the next 20 ms. Returns `false` (and fills silence) once finished.
    pub fn next_frame(&mut self, out: &mut [i16; FRAME_SAMPLES]) -> bool {
        if self.is_finished() {
            out.fill(0);
            return false;
        }
        if self.prompts.iter().all(|p| p.samples().is_empty()) {
            // Nothing to play; also keeps a loop of empty prompts from spinning forever.
            self.index = self.prompts.len();
            out.fill(0);
            return false;
        }
        let mut filled = 0;
        while filled < FRAME_SAMPLES {
            let Some(prompt) = self.prompts.get(self.index) else {
                if self.looping {
                    self.index = 0;
                    self.offset = 0;
                    continue;
                }
                break;
            };
            let samples = prompt.samples();
            let take = (samples.len() - self.offset.min(samples.len())).min(FRAME_SAMPLES - filled);
            out[filled..filled + take].copy_from_slice(&samples[self.offset..self.offset + take]);
            filled += take;
            self.offset += take;
            if self.offset >= samples.len() {
                self.index += 1;
                self.offset = 0;
                if self.looping && self.index == self.prompts.len() {
                    self.index = 0;
                }
            }
        }
        out[filled..].fill(0);
        if filled == 0 {
            return false;
        }
        self.frames += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt(value: i16, len: usize) -> Arc<Prompt> {
        Arc::new(Prompt::from_samples(
            format!("p{value}"),
            &vec![value; len],
            8000,
        ))
    }

    #[test]
    fn plays_a_sequence_gaplessly_and_pads_the_end() {
        let mut p = Player::new(vec![prompt(1, 200), prompt(2, 100)], false);
        let mut f = [0i16; FRAME_SAMPLES];
        assert!(p.next_frame(&mut f));
        assert!(f.iter().all(|s| *s == 1));
        assert!(p.next_frame(&mut f));
        assert!(f[..40].iter().all(|s| *s == 1));
        assert!(f[40..140].iter().all(|s| *s == 2));
        assert!(f[140..].iter().all(|s| *s == 0));
        assert!(p.is_finished());
        assert!(!p.next_frame(&mut f));
        assert_eq!(p.frames_played(), 2);
    }

    #[test]
    fn loops_forever() {
        let mut p = Player::new(vec![prompt(3, 100)], true);
        let mut f = [0i16; FRAME_SAMPLES];
        for _ in 0..100 {
            assert!(p.next_frame(&mut f));
            assert!(f.iter().all(|s| *s == 3));
        }
        assert!(!p.is_finished());
    }

    #[test]
    fn empty_sequences_finish_at_once() {
        let mut f = [0i16; FRAME_SAMPLES];
        let mut p = Player::new(vec![], true);
        assert!(!p.next_frame(&mut f));
        let mut p = Player::new(vec![prompt(1, 0)], true);
        assert!(!p.next_frame(&mut f));
        assert!(p.is_finished());
    }
}
