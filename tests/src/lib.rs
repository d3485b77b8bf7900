//! End-to-end test harness for Switchboard: the real `switchboard` binary on 127.0.0.1, driven by
//! real SIP clients (sipp and baresip), with random free ports and bounded waits everywhere.
//!
//! A typical test starts a [`Server`], registers phones, places a call and checks what arrived:
//!
//! ```no_run
//! use std::time::Duration;
//! use switchboard_e2e::{Server, ServerOptions, Sipp};
//!
//! let server = Server::start(ServerOptions::new()).unwrap();
//! // Register extension 201 with its demo password, expecting 401 then 200.
//! Sipp::new("register")
//!     .unwrap()
//!     .remote(server.sip_addr())
//!     .auth("201", "secret201")
//!     .key("user", "201")
//!     .timeout(Duration::from_secs(15))
//!     .run()
//!     .unwrap()
//!     .expect_success()
//!     .unwrap();
//! ```
//!
//! Layout:
//! - [`ports`]: free ports and port ranges, unique across parallel test processes.
//! - [`process`]: child processes stopped by SIGTERM (then SIGKILL) on drop.
//! - [`server`]: `switchboard serve` with its own data directory, dialplan and log.
//! - [`pbx`]: registering extensions, answering as one, calling one (sipp presets).
//! - [`sipp`]: sipp scenarios from `tests/sipp/`, foreground or background.
//! - [`baresip`] and [`ctrl`]: headless softphones controlled through `ctrl_tcp`.
//! - [`linphone`]: headless linphonec driven through its stdin (attended transfer, codec offers).
//! - [`audio`] and [`correlate`]: test signals, WAV files, and "does this recording contain that".
//! - [`capture`]: dumpcap/tshark packet counts on `lo`.
//! - [`sip_probe`]: raw SIP over UDP/TCP (OPTIONS, RFC 4475 fixtures).
//! - [`digest`]: checking digest credentials that sipp sent.
//!
//! The harness reads the clock (timeouts are its job), so it opts out of the workspace's
//! `disallowed_methods` rule for `Instant::now`/`SystemTime::now` below.
#![allow(clippy::disallowed_methods)]

pub mod admin;
pub mod audio;
pub mod baresip;
pub mod binary;
pub mod capture;
pub mod correlate;
pub mod ctrl;
pub mod digest;
pub mod error;
pub mod linphone;
pub mod pbx;
pub mod ports;
pub mod process;
pub mod server;
pub mod sip_probe;
pub mod sipp;

pub use admin::{http_get, http_post, http_post_json};
pub use audio::{Audio, party_signal, read_wav, write_wav};
pub use baresip::{Account, AnswerMode, Baresip, BaresipOptions, Recordings};
pub use binary::{repo_root, switchboard_binary};
pub use capture::{Capture, Datagram, count_from_port, count_to_port};
pub use correlate::{Similarity, similarity};
pub use error::{Error, Result};
pub use linphone::{Linphone, LinphoneAccount, LinphoneCall, LinphoneOptions};
pub use ports::{free_port, free_range};
pub use server::{Dialplan, Server, ServerOptions};
pub use sip_probe::{SipResponse, UdpProbe, options_tcp, options_udp};
pub use sipp::{RunningSipp, Sipp, SippRun, Transport};
