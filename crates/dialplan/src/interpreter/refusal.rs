//! Refusals explained to the caller and failed bridges: early media before a refusal
//! (`restricted`, `not_in_service`) or a changed number, the next member or the fallback
//! after a failed bridge, and the operator offered to a caller of a line on
//! do-not-disturb.

use super::{OPERATOR_OFFER_TIMEOUT, Phase, Run};
use crate::call::{Action, FailReason, Screening, Target};
use crate::program::{Instr, PromptRef};
use std::collections::VecDeque;

impl Run<'_> {
    /// Plays `prompts` to the caller, then runs `then`: as early media
    /// ([`Action::Progress`]) while the call is unanswered.
    pub(super) fn early_media(&mut self, prompts: Vec<PromptRef>, then: Vec<Instr>) {
        self.call.pending = then.into();
        if self.call.answered {
            self.call.pending.push_front(Instr::Play(prompts));
            self.call.phase = Phase::Running;
            return self.run();
        }
        if !self.call.early_media {
            self.call.early_media = true;
            self.out.push(Action::Progress);
        }
        self.play(&prompts, false);
        self.call.phase = Phase::Playing;
    }

    /// Refuses an unanswered call with its explanation (`restricted` or `not_in_service`)
    /// as early media, then [`Action::Reject`].
    pub(super) fn refuse(&mut self, reason: FailReason) {
        let prompt = refusal_prompt(reason);
        self.early_media(
            vec![PromptRef::Named(prompt.into())],
            vec![Instr::Reject(reason)],
        );
    }

    pub(super) fn bridge_failed(&mut self, reason: FailReason) {
        let Phase::Bridging {
            next,
            ring_timeout,
            fallback,
        } = &mut self.call.phase
        else {
            return;
        };
        if let Some(member) = next.pop_front() {
            let ring_timeout = *ring_timeout;
            self.out.push(Action::Bridge {
                target: Target::Extension(member),
                ring_timeout,
                screening: Screening::Normal,
            });
            return;
        }
        let fallback = fallback.take();
        self.call
            .variables
            .insert("call_result".into(), reason.name().into());
        self.call.phase = Phase::Running;
        match (fallback, reason) {
            (Some(actions), _) => self.call.pending = actions.into(),
            (None, FailReason::DoNotDisturb) => {
                self.call.pending = vec![Instr::OfferOperator].into()
            }
            (None, FailReason::Restricted | FailReason::Gone) if !self.call.answered => {
                return self.refuse(reason);
            }
            (None, _) if !self.call.answered && self.call.menu.is_none() => {
                return self.reject(reason);
            }
            (None, _) => {
                let prompt = match reason {
                    FailReason::Busy | FailReason::DoNotDisturb => "busy",
                    FailReason::NoAnswer => "no_answer",
                    FailReason::Unavailable | FailReason::NotFound => "unavailable",
                    FailReason::Restricted | FailReason::Gone => refusal_prompt(reason),
                };
                self.call.pending = vec![Instr::Play(vec![PromptRef::Named(prompt.into())])].into();
            }
        }
        self.run();
    }

    /// The do-not-disturb prompts ended: one key is collected for the operator offer.
    pub(super) fn await_offer_key(&mut self) {
        let timeout = self
            .call
            .menu
            .map_or(OPERATOR_OFFER_TIMEOUT, |m| self.plan.menus[m].input_timeout);
        let until = self.now + timeout;
        self.out.push(Action::CollectDigits {
            max_digits: 1,
            until,
        });
        self.call.deadline = Some(until);
        self.call.phase = Phase::OperatorOffer { playing: false };
    }

    /// `0` during the operator offer reaches the operator; anything else (or silence)
    /// returns to the menu, or says goodbye and hangs up outside one.
    pub(super) fn operator_offer_answered(&mut self, operator: bool) {
        self.call.deadline = None;
        self.call.phase = Phase::Running;
        self.call.pending = if operator {
            vec![Instr::Queue(self.operator_queue())].into()
        } else if self.call.menu.is_some() {
            VecDeque::new()
        } else {
            vec![
                Instr::Play(vec![PromptRef::Named("goodbye".into())]),
                Instr::Hangup,
            ]
            .into()
        };
        self.run();
    }
}

/// The prompt that explains a refusal: `restricted` or `not_in_service`.
pub(super) fn refusal_prompt(reason: FailReason) -> &'static str {
    match reason {
        FailReason::Restricted => "restricted",
        _ => "not_in_service",
    }
}

/// `number_changed` followed by the new number's digits (`digit_2 digit_0 digit_4`).
pub(super) fn number_changed(new: &str) -> Vec<PromptRef> {
    std::iter::once(PromptRef::Named("number_changed".into()))
        .chain(
            new.chars()
                .filter(char::is_ascii_digit)
                .map(|d| PromptRef::Named(format!("digit_{d}"))),
        )
        .collect()
}
