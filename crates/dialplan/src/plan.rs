//! The validated plan and the questions the server and pbx ask it.

use crate::conference::Conference;
use crate::diagnostic::Diagnostic;
use crate::directory::{Account, Directory, Extension, Operators};
use crate::menu::Menu;
use crate::program::{Instr, PromptRef};
use crate::routing::{Features, Group, PagingGroup, Queue};
use crate::schedule::{Mode, Schedule};
use crate::settings::Settings;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// A loaded and validated dialplan. Every name in it is resolved, so calls never meet a dangling reference.
///
/// A plan is immutable; a reload builds a new one and live calls keep the one they started with.
#[derive(Clone, Debug)]
pub struct Plan {
    pub(crate) id: u64,
    pub(crate) settings: Settings,
    pub(crate) directory: Directory,
    pub(crate) accounts: BTreeMap<String, Account>,
    pub(crate) groups: Vec<Group>,
    pub(crate) group_index: BTreeMap<String, usize>,
    pub(crate) queues: Vec<Queue>,
    pub(crate) menus: Vec<Menu>,
    pub(crate) entry_numbers: BTreeMap<String, Vec<Instr>>,
    pub(crate) outside_callers: Option<Vec<Instr>>,
    pub(crate) extensions_dial_directly: bool,
    pub(crate) attendant: Attendant,
    pub(crate) features: Features,
    pub(crate) conferences: Vec<Conference>,
    pub(crate) prompt_dir: PathBuf,
    pub(crate) languages: Vec<(String, String)>,
    pub(crate) weak: Vec<String>,
    /// Old numbers of renumbered extensions → the new numbers.
    pub(crate) renumbered: BTreeMap<String, String>,
    pub(crate) retired: BTreeSet<String>,
    pub(crate) paging: Vec<PagingGroup>,
    pub(crate) warnings: Vec<Diagnostic>,
}

/// Which mode applies when, and what outside calls do in manual mode.
#[derive(Clone, Debug)]
pub(crate) struct Attendant {
    pub default_mode: Mode,
    pub schedule: Option<Schedule<Mode>>,
    pub manual: Vec<Instr>,
}

impl Plan {
    /// Returns the extension with this number (explicit entries and numbers from ranges).
    pub fn extension(&self, number: &str) -> Option<&Extension> {
        self.directory.extensions.get(number)
    }

    /// Iterates over all extensions in number order (ranges included).
    pub fn extensions(&self) -> impl Iterator<Item = &Extension> {
        self.directory.extensions.values()
    }

    /// Returns the account of a digest authentication user name: an extension's number, an
    /// operator's name, or a previous number of a renumbered extension (an alias with the
    /// extension's password that may register both numbers, until its `login_until`).
    /// Retired numbers have no account.
    pub fn account(&self, auth_user: &str) -> Option<&Account> {
        self.accounts.get(auth_user)
    }

    /// Returns the extension that now has the previous number `old` (`previous_numbers:`).
    pub fn renumbered(&self, old: &str) -> Option<&Extension> {
        self.renumbered.get(old).and_then(|new| self.extension(new))
    }

    /// Returns true when `number` is retired (`retired:`): no extension, no account, and
    /// callers who dial it hear `not_in_service`.
    pub fn is_retired(&self, number: &str) -> bool {
        self.retired.contains(number)
    }

    /// Every retired number, in order.
    pub fn retired_numbers(&self) -> impl Iterator<Item = &str> {
        self.retired.iter().map(String::as_str)
    }

    /// Returns the paging group reached by this number.
    pub fn paging_group(&self, number: &str) -> Option<&PagingGroup> {
        self.paging.iter().find(|p| p.number == number)
    }

    /// Returns every paging group, in file order.
    pub fn paging_groups(&self) -> &[PagingGroup] {
        &self.paging
    }

    /// Returns what loading found questionable without refusing the plan (for example an
    /// old number that cannot log in), with positions; `switchboard check` prints them.
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }

    /// Returns true when `caller` goes ahead of ordinary callers in the operator queue: an
    /// extension with `vip: true`, or a number under `operators.vip_callers`.
    pub fn is_vip(&self, caller: &str) -> bool {
        self.extension(caller).is_some_and(|e| e.vip)
            || self.operators().vip_callers.iter().any(|v| v == caller)
    }

    /// Returns the operator position, its queue and the operator accounts.
    pub fn operators(&self) -> &Operators {
        self.directory
            .operators
            .as_ref()
            .unwrap_or(&crate::load::NO_OPERATORS)
    }

    /// Returns the system settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Lists accounts (user names) whose password is still one shipped with the demo dialplan.
    pub fn weak_credentials(&self) -> Vec<String> {
        self.weak.clone()
    }

    /// Returns the ring group with this name or number.
    pub fn group(&self, name_or_number: &str) -> Option<&Group> {
        self.group_index
            .get(name_or_number)
            .map(|i| &self.groups[*i])
    }

    /// Returns the queue with this name.
    pub fn queue(&self, name: &str) -> Option<&Queue> {
        self.queues.iter().find(|q| q.name == name)
    }

    /// Returns true when registered extensions may dial each other without going through a menu.
    pub fn extensions_dial_directly(&self) -> bool {
        self.extensions_dial_directly
    }

    /// Returns true when a menu with this name exists (a target for [`crate::Event::GotoMenu`]).
    pub fn has_menu(&self, name: &str) -> bool {
        self.menus.iter().any(|m| m.name == name)
    }

    /// Returns the conference room reached by this number.
    pub fn conference(&self, number: &str) -> Option<&Conference> {
        self.conferences.iter().find(|c| c.number == number)
    }

    /// Returns every conference room, in file order.
    pub fn conferences(&self) -> &[Conference] {
        &self.conferences
    }

    /// Returns true when calls to or from `number` are recorded: `settings.record_calls`
    /// records every bridged call, an extension's `record: true` the calls it takes part in.
    pub fn records_calls_of(&self, number: &str) -> bool {
        self.settings.record_calls || self.extension(number).is_some_and(|e| e.record)
    }

    /// Returns the feature codes.
    pub fn features(&self) -> &Features {
        &self.features
    }

    /// Returns the language codes with their display names, in file order (the default first).
    pub fn languages(&self) -> &[(String, String)] {
        &self.languages
    }

    /// Returns the WAV file of a named prompt in a language, for example
    /// `prompt("zh", "you_are_caller_number")` or `prompt("en", "digit_3")`.
    pub fn prompt(&self, language: &str, name: &str) -> PathBuf {
        self.prompt_path(language, &PromptRef::parse(name))
    }

    /// Returns the directory prompt names are resolved under.
    pub fn prompt_dir(&self) -> &std::path::Path {
        &self.prompt_dir
    }

    /// Returns the directory holding the WAV files of a music-on-hold class.
    pub fn music_on_hold_dir(&self, class: &str) -> PathBuf {
        self.prompt_dir.join("moh").join(class)
    }

    /// Returns the attendant mode at a wall-clock moment: the override when one is set,
    /// otherwise the schedule in its time zone, otherwise the configured default.
    pub fn mode_at(&self, wall: jiff::Timestamp, mode_override: Option<Mode>) -> Mode {
        if let Some(mode) = mode_override {
            return mode;
        }
        match &self.attendant.schedule {
            Some(schedule) => schedule.at(wall),
            None => self.attendant.default_mode,
        }
    }

    pub(crate) fn prompt_path(&self, language: &str, prompt: &PromptRef) -> PathBuf {
        match prompt {
            PromptRef::Named(name) => self.prompt_dir.join(language).join(format!("{name}.wav")),
            PromptRef::File(file) => self.prompt_dir.join(file),
        }
    }
}
