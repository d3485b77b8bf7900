//! The dialplan: what callers meet, written by admins in YAML and run by a pure interpreter.
//!
//! **Loading** turns a YAML file into a validated [`Plan`] and reports every problem at
//! once, each with file, line and column ([`Diagnostics`], printed by `switchboard check`).
//! Names are resolved while loading, so a running call never meets a dangling `goto`.
//! The plan answers the registrar ([`Plan::account`], [`Plan::extension`]) and carries the
//! system [`Settings`]; [`json_schema`] describes the format for editors.
//!
//! **Running a call**: the pbx owns one [`CallState`] per call and feeds every [`Event`]
//! to [`step`], which returns the [`Action`]s to carry out in order. Whenever
//! [`CallState::next_deadline`] is `Some`, the pbx delivers [`Event::Timeout`] at that
//! instant. The interpreter reads no clock and does no I/O: `now` (for key timeouts) and
//! the wall-clock time (for the attendant schedule) come in as values.
//!
//! ```
//! use dialplan::{Action, CallState, Event, PromptChecker};
//! use std::path::Path;
//!
//! struct AnyPrompt;
//! impl PromptChecker for AnyPrompt {
//!     fn check(&self, _: &Path) -> Result<(), String> { Ok(()) }
//!     fn check_directory(&self, _: &Path) -> Result<(), String> { Ok(()) }
//! }
//!
//! let yaml = "
//! extensions:
//!   - { number: 201, name: Front Desk, password: change-me }
//! menus:
//!   main:
//!     greeting: welcome
//!     direct_dial: true
//! entry:
//!   numbers: { 1000: { menu: main } }
//! ";
//! let plan = dialplan::load_str(yaml, "hotel.yaml", Path::new("/srv"), &AnyPrompt)
//!     .unwrap_or_else(|problems| panic!("{problems}"));
//! assert_eq!(plan.account("201").map(|a| a.aors.clone()), Some(vec!["201".to_string()]));
//!
//! let mut call = CallState::new(None); // no operator override of the schedule
//! # #[allow(clippy::disallowed_methods)]
//! let now = std::time::Instant::now(); // in the pbx: the time the event arrived
//! let wall = dialplan::jiff::Timestamp::UNIX_EPOCH;
//! let offered = Event::Offered {
//!     from: "5551234".into(),
//!     to: "1000".into(),
//!     authenticated_extension: None,
//!     caller_language: None,
//! };
//! assert_eq!(dialplan::step(&plan, &mut call, now, wall, offered), [Action::Answer]);
//! let actions = dialplan::step(&plan, &mut call, now, wall, Event::Answered);
//! assert!(matches!(&actions[..], [Action::Play { interruptible: true, .. }]));
//! dialplan::step(&plan, &mut call, now, wall, Event::PlayFinished);
//! for key in ['2', '0', '1'] {
//!     let actions = dialplan::step(&plan, &mut call, now, wall, Event::Dtmf(key));
//!     if key == '1' {
//!         assert!(matches!(&actions[..], [Action::Bridge { .. }]));
//!     }
//! }
//! ```
//!
//! The crate knows nothing about SIP; only [`load`] touches the file system.

#![warn(missing_docs)]

mod call;
mod conference;
mod decode;
mod decode_directory;
mod decode_routing;
mod diagnostic;
mod directory;
mod interpreter;
mod load;
mod menu;
mod node;
mod plan;
mod program;
mod routing;
mod schedule;
mod schema;
mod settings;
mod validate;

pub use call::{Action, Event, FailReason, FeatureResult, QueueExit, Refusal, Screening, Target};
pub use conference::Conference;
pub use diagnostic::{Diagnostic, Diagnostics};
pub use directory::{Account, Credential, Extension, ExtensionKind, Operator, Operators};
pub use interpreter::{CallState, step};
/// The date and time library of [`step`] and [`Plan::mode_at`], re-exported so callers use the same version.
pub use jiff;
pub use load::{FileExists, PromptChecker, load, load_str};
pub use plan::Plan;
pub use routing::{
    BackgroundMusic, DndSwitch, Feature, Features, ForwardKind, Group, PagingGroup, Queue, Ringing,
};
pub use schedule::Mode;
pub use schema::json_schema;
pub use settings::Settings;
