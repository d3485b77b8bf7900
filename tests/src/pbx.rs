//! Phone-like building blocks for tests against the PBX: registering extensions with sipp,
//! answering as a registered extension, and calling one.

use crate::error::{Error, Result};
use crate::server::Server;
use crate::sipp::{RunningSipp, Sipp, SippRun, Transport};
use std::time::Duration;

/// The bound on every sipp run in a PBX test.
pub const SIPP_TIMEOUT: Duration = Duration::from_secs(30);

/// The demo dialplan's password of extension `ext` (`secret201` for 201).
pub fn demo_password(ext: &str) -> String {
    format!("secret{ext}")
}

/// A REGISTER of `ext` with `password` from `local_port` over `transport`, expiring after `expires`
/// seconds (0 removes the binding). The Contact is `127.0.0.1:local_port`.
pub fn registration(
    server: &Server,
    ext: &str,
    password: &str,
    local_port: u16,
    transport: Transport,
    expires: u32,
) -> Result<Sipp> {
    Ok(Sipp::new("register")?
        .remote(server.sip_addr())
        .transport(transport)
        .local_port(local_port)
        .key("user", ext)
        .key("expires", expires)
        .auth(ext, password)
        .timeout(SIPP_TIMEOUT))
}

/// Registers `ext` with its demo password at `127.0.0.1:local_port` and fails unless the server says 200.
pub fn register(
    server: &Server,
    ext: &str,
    local_port: u16,
    transport: Transport,
) -> Result<SippRun> {
    let run = registration(server, ext, &demo_password(ext), local_port, transport, 300)?.run()?;
    run.expect_success()
        .map_err(|e| Error::new(format!("registering {ext} from port {local_port}: {e}")))?;
    Ok(run)
}

/// Registers `ext` from a fresh sipp, then starts `scenario` (a `uas_*` scenario) on the same port,
/// so the PBX's INVITE for `ext` reaches it whichever address it routes by (Contact or source).
pub fn answer_as(
    server: &Server,
    ext: &str,
    scenario: &str,
    transport: Transport,
    rtp_echo: bool,
) -> Result<RunningSipp> {
    let mut uas = Sipp::new(scenario)?
        .transport(transport)
        .timeout(SIPP_TIMEOUT);
    if rtp_echo {
        uas = uas.rtp_echo();
    }
    register(server, ext, uas.sip_port(), transport)?;
    uas.spawn()
}

/// A caller: `scenario` (a `uac_*` scenario) run as `ext` with its demo credentials, dialling `number`.
///
/// The caller first registers from the port it will call from, as a desk phone would: the PBX
/// challenges INVITEs that come from a registered phone's address and treats others as guests. The
/// registration always goes over UDP: sipp binds its TCP connections to its own port, and a second
/// connection from the same port right after the first closed would hit TIME_WAIT.
pub fn caller(
    server: &Server,
    ext: &str,
    scenario: &str,
    number: &str,
    transport: Transport,
) -> Result<Sipp> {
    let uac = Sipp::new(scenario)?
        .remote(server.sip_addr())
        .transport(transport)
        .key("caller", ext)
        .auth(ext, &demo_password(ext))
        .service(number)
        .timeout(SIPP_TIMEOUT);
    register(server, ext, uac.sip_port(), Transport::Udp)?;
    Ok(uac)
}
