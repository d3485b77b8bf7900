//! A new call: who the caller is (an operator, an extension, its old number, or an
//! outside caller) and the language they hear, then what the number dialled runs, in
//! order: a hotline's target, a feature code, the operator's do-not-disturb override, the
//! operator position, an entry number, a paging group, an extension (or its changed or
//! retired number), or the outside callers' program.

use super::refusal::number_changed;
use super::{Phase, Run};
use crate::call::FailReason;
use crate::directory::{Extension, ExtensionKind};
use crate::program::{CallTarget, Instr};
use crate::schedule::Mode;

impl Run<'_> {
    pub(super) fn offered(
        &mut self,
        wall: jiff::Timestamp,
        from: String,
        to: String,
        auth: Option<String>,
        caller_language: Option<String>,
    ) {
        let plan = self.plan;
        let mode = plan.mode_at(wall, self.call.mode_override);
        self.call.mode = Some(mode);
        let operators = plan.operators();
        let is_operator = auth.as_deref().is_some_and(|a| {
            a == operators.position || plan.account(a).is_some_and(|acc| acc.operator)
        });
        // The caller's extension; an old number of a renumbered extension stands for it.
        let caller: Option<&Extension> = auth
            .as_deref()
            .filter(|_| !is_operator)
            .and_then(|a| plan.extension(a).or_else(|| plan.renumbered(a)));
        let guest_language = caller_language
            .as_deref()
            .filter(|l| plan.languages.iter().any(|(code, _)| code == l));
        let language = guest_language
            .or(caller.map(|e| e.language.as_str()))
            .unwrap_or(plan.settings.default_language.as_str());
        self.call.set_language(language);
        self.call.variables.insert("caller".into(), from);
        self.call.variables.insert("dialled".into(), to.clone());
        self.call
            .variables
            .insert("mode".into(), mode.name().into());
        self.call.phase = Phase::Running;

        // A hotline phone reaches its target whatever was dialled.
        if let Some(instr) = caller
            .and_then(|e| e.hotline.as_deref())
            .and_then(|target| self.direct_target(target))
        {
            self.call.pending = vec![instr].into();
            return self.run();
        }
        if self.code_dialled(&to, auth.is_some(), is_operator, caller) {
            return;
        }
        let program = if auth.is_some() {
            match self.phone_program(&to, is_operator, caller) {
                Ok(program) => program,
                Err(refused) => return refused,
            }
        } else if mode == Mode::Manual {
            Some(plan.attendant.manual.clone())
        } else {
            plan.entry_numbers
                .get(&to)
                .or(plan.outside_callers.as_ref())
                .cloned()
        };
        match program {
            Some(program) => {
                self.call.pending = program.into();
                self.run();
            }
            None => self.reject(FailReason::NotFound),
        }
    }

    /// A feature code or the operator's override dialled (true: the call is handled).
    /// Outside callers get not-found; a code that is not theirs to dial is `invalid` or
    /// `feature_refused`; a prefix code without its number is `invalid`.
    fn code_dialled(
        &mut self,
        to: &str,
        authenticated: bool,
        is_operator: bool,
        caller: Option<&Extension>,
    ) -> bool {
        let plan = self.plan;
        let feature = plan.features.lookup(to);
        let override_target = plan.features.override_target(to);
        if feature.is_none() && override_target.is_none() && !plan.features.is_incomplete(to) {
            return false;
        }
        if !authenticated {
            self.reject(FailReason::NotFound);
            return true;
        }
        match (feature, override_target) {
            (Some(feature), _) if feature.is_operator_feature() && !is_operator => {
                self.finish_with("invalid")
            }
            (Some(feature), _) if feature.is_operator_feature() || caller.is_some() => {
                self.call.feature = Some(feature);
                self.run();
            }
            (Some(_), _) => self.finish_with("feature_refused"),
            (None, Some(target)) if is_operator && plan.extension(target).is_some() => {
                self.call.pending = vec![Instr::Override(target.to_string())].into();
                self.run();
            }
            // An override by a non-operator, of an unknown extension, or a code without
            // its number.
            _ => self.finish_with("invalid"),
        }
        true
    }

    /// What a registered phone's dialled number runs: the operator, an entry number, a
    /// paging group, an extension (directly, or after the changed-number announcement);
    /// `Err` when the call was refused with an explanation already.
    fn phone_program(
        &mut self,
        to: &str,
        is_operator: bool,
        caller: Option<&Extension>,
    ) -> Result<Option<Vec<Instr>>, ()> {
        let plan = self.plan;
        if to == plan.operators().position {
            return Ok(Some(vec![Instr::Queue(self.operator_queue())]));
        }
        if let Some(actions) = plan.entry_numbers.get(to) {
            return Ok(Some(actions.clone()));
        }
        if let Some(group) = plan.paging.iter().position(|p| p.number == to) {
            let may_page = is_operator || caller.is_some_and(|e| e.kind != ExtensionKind::Room);
            if !may_page {
                self.refuse(FailReason::Restricted);
                return Err(());
            }
            return Ok(Some(vec![Instr::Page(group)]));
        }
        if !plan.extensions_dial_directly {
            return Ok(None);
        }
        if let Some(instr) = self.direct_target(to) {
            return Ok(Some(vec![instr]));
        }
        if let Some(ext) = plan.renumbered(to) {
            let call = Instr::Call {
                target: CallTarget::Extension(ext.number.clone()),
                ring_timeout: None,
                if_failed: None,
            };
            self.early_media(number_changed(&ext.number), vec![call]);
            return Err(());
        }
        if plan.is_retired(to) {
            self.refuse(FailReason::Gone);
            return Err(());
        }
        Ok(None)
    }
}
