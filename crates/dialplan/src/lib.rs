//! The dialplan: what callers meet, written by admins in YAML and run by a pure interpreter.
//!
//! Loading turns a YAML file into a validated [`Plan`] and reports every problem at
//! once, each with file, line and column ([`Diagnostics`]). The plan answers directory
//! questions for the registrar ([`Plan::extension`], [`Plan::account`]) and settings.
//!
//! ```no_run
//! use std::path::Path;
//! let plan = match dialplan::load(Path::new("dialplan/default.yaml"), &dialplan::FileExists) {
//!     Ok(plan) => plan,
//!     Err(problems) => {
//!         eprintln!("{problems}");
//!         std::process::exit(1);
//!     }
//! };
//! assert_eq!(plan.settings().realm, "switchboard");
//! for user in plan.weak_credentials() {
//!     eprintln!("warning: account {user} still uses a demo password");
//! }
//! ```
//!
//! The crate knows nothing about SIP, reads no clock and does no I/O outside `load`.

mod call;
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

pub use call::{Action, Event, FailReason, FeatureResult, QueueExit, Target};
pub use diagnostic::{Diagnostic, Diagnostics};
pub use directory::{Account, Credential, Extension, ExtensionKind, Operator, Operators};
pub use interpreter::{CallState, step};
/// The date and time library of [`step`] and [`Plan::mode_at`], re-exported so callers use the same version.
pub use jiff;
pub use load::{FileExists, PromptChecker, load, load_str};
pub use plan::Plan;
pub use routing::{Feature, Features, Group, Queue, Ringing};
pub use schedule::Mode;
pub use schema::json_schema;
pub use settings::Settings;
