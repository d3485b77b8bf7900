//! Command-line interface: `switchboard serve | check | schema | cdr | queue | originate |
//! guest | room | dnd | forward | logbook`.
//! Every `serve` flag can also be given as an environment variable
//! `SWITCHBOARD_<FLAG>`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

/// Switchboard: a SIP automated attendant and PBX.
#[derive(Debug, Parser)]
#[command(name = "switchboard", about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the PBX: SIP on UDP and TCP, RTP relay, HTTP admin API.
    Serve(ServeArgs),
    /// Validate a dialplan and print every problem with file, line and column (exit 1 if any).
    Check {
        /// The dialplan file.
        #[arg(default_value = "dialplan/default.yaml")]
        path: PathBuf,
    },
    /// Print the JSON Schema of the dialplan format (for editor completion).
    Schema,
    /// List recent call records from the database (or export them as CSV); with `--queue`, the
    /// operator-queue call records instead.
    Cdr {
        /// The database.
        #[arg(
            long,
            env = "SWITCHBOARD_DATABASE_URL",
            default_value = "sqlite:data/switchboard.db"
        )]
        database_url: String,
        /// How many records, newest first.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print CSV instead of a table.
        #[arg(long)]
        csv: bool,
        /// List operator-queue call records (entered, caller, VIP, position, wait, answered by,
        /// talk time, transfers, outcome) instead of call records.
        #[arg(long)]
        queue: bool,
    },
    /// Show the operator queue of the running server: waiting callers in answering order and
    /// every operator's state (read from its HTTP admin API).
    Queue {
        /// The running server's HTTP admin API address (its `--http-listen`).
        #[arg(
            long,
            env = "SWITCHBOARD_HTTP_LISTEN",
            default_value = DEFAULT_HTTP_LISTEN
        )]
        http: String,
        /// Print the API's JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Have the running server call an extension: every registered phone of TARGET rings, the
    /// first to answer hears the prompts and may type digits (stored in the call record), then
    /// the PBX hangs up. Prints the new call's number (through its HTTP admin API).
    Originate(OriginateArgs),
    /// The front desk: check guests in and out, book expected arrivals, move guests between
    /// rooms, list and find guests (on the running server, through its HTTP admin API).
    Guest {
        /// What to do.
        #[command(subcommand)]
        action: GuestAction,
        /// The running server's HTTP admin API address (its `--http-listen`).
        #[arg(long, global = true, env = "SWITCHBOARD_HTTP_LISTEN", default_value = DEFAULT_HTTP_LISTEN)]
        http: String,
        /// Print the API's JSON instead of text.
        #[arg(long, global = true)]
        json: bool,
    },
    /// A room's state: its guest (with do-not-disturb and forwarding), expected arrivals,
    /// how staff phones show its calls, the guest's moves.
    Room {
        /// The room number.
        room: String,
        /// The running server's HTTP admin API address (its `--http-listen`).
        #[arg(long, env = "SWITCHBOARD_HTTP_LISTEN", default_value = DEFAULT_HTTP_LISTEN)]
        http: String,
        /// Print the API's JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Switch an extension's (or an occupied room's) do-not-disturb on or off.
    Dnd {
        /// The extension or room number.
        ext: String,
        /// `on` or `off`.
        state: OnOff,
        /// The running server's HTTP admin API address (its `--http-listen`).
        #[arg(long, env = "SWITCHBOARD_HTTP_LISTEN", default_value = DEFAULT_HTTP_LISTEN)]
        http: String,
    },
    /// Set or clear an extension's (or an occupied room's) call forwarding.
    Forward {
        /// The extension or room number.
        ext: String,
        /// Which calls: `always`, `busy` or `no-answer`.
        kind: ForwardWhen,
        /// The number to forward to, or `off`.
        target: String,
        /// The running server's HTTP admin API address (its `--http-listen`).
        #[arg(long, env = "SWITCHBOARD_HTTP_LISTEN", default_value = DEFAULT_HTTP_LISTEN)]
        http: String,
    },
    /// Paging groups' background music: without arguments, list the groups and what their
    /// music does; with a group and a mode, force it on or off, or back to its schedule.
    Music {
        /// The paging group's number.
        group: Option<String>,
        /// `on`, `off` or `schedule`.
        mode: Option<MusicMode>,
        /// The running server's HTTP admin API address (its `--http-listen`).
        #[arg(long, env = "SWITCHBOARD_HTTP_LISTEN", default_value = DEFAULT_HTTP_LISTEN)]
        http: String,
        /// Print the API's JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Today's log book: every front-desk change (check-ins, moves, do-not-disturb,
    /// forwarding, number changes) with who made it and when.
    Logbook {
        /// Show the entries of the last this many hours.
        #[arg(long, default_value_t = 24)]
        hours: u32,
        /// The running server's HTTP admin API address (its `--http-listen`).
        #[arg(long, env = "SWITCHBOARD_HTTP_LISTEN", default_value = DEFAULT_HTTP_LISTEN)]
        http: String,
        /// Print the API's JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// `on` or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    /// Switch it on.
    On,
    /// Switch it off.
    Off,
}

/// A paging group's background music override.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MusicMode {
    /// Play now, whatever the schedule says.
    On,
    /// Stay silent, whatever the schedule says.
    Off,
    /// Follow the schedule again.
    Schedule,
}

/// Which calls a forwarding applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ForwardWhen {
    /// Every call, without ringing.
    Always,
    /// Calls that find the line busy.
    Busy,
    /// Calls not answered within the ring timeout.
    NoAnswer,
}

/// What `switchboard guest` does.
#[derive(Debug, Clone, Subcommand)]
pub enum GuestAction {
    /// Check a guest into a vacant room (an expected arrival of the same name becomes the stay).
    /// Prints the room's voicemail PIN (generated unless given).
    CheckIn(GuestArgs),
    /// Book an expected arrival (listed on its day until checked in; the room stays as it is).
    Expect(GuestArgs),
    /// Move the guest of FROM, with do-not-disturb, forwarding and VIP, to the vacant room TO.
    Move {
        /// The guest's room now.
        from: String,
        /// The vacant room the guest moves to.
        to: String,
    },
    /// Check the guest of ROOM out: do-not-disturb and forwarding end, the room is vacant.
    CheckOut {
        /// The room.
        room: String,
    },
    /// Guests in house, and the expected arrivals of a day (today unless `--date`).
    List {
        /// The day of the expected arrivals, YYYY-MM-DD.
        #[arg(long)]
        date: Option<String>,
    },
    /// Find in-house and expected guests by name, title, room or companion.
    Find {
        /// The text to look for (any case).
        text: String,
    },
}

/// A guest as the front desk enters it.
#[derive(Debug, Clone, Args)]
pub struct GuestArgs {
    /// The room number.
    pub room: String,
    /// The guest's name.
    #[arg(long)]
    pub name: String,
    /// Title or salutation (`Dr`, `Ms`).
    #[arg(long)]
    pub title: Option<String>,
    /// The guest's language: prompts to and from the room (one of the dialplan's languages).
    #[arg(long)]
    pub language: Option<String>,
    /// Makes the guest a VIP, with a note (may be empty).
    #[arg(long, value_name = "NOTE")]
    pub vip: Option<String>,
    /// Someone staying with the guest; repeat for several.
    #[arg(long = "companion", value_name = "NAME")]
    pub companions: Vec<String>,
    /// Arrival day, YYYY-MM-DD (required for `expect`).
    #[arg(long)]
    pub arrival: Option<String>,
    /// Departure day, YYYY-MM-DD.
    #[arg(long)]
    pub departure: Option<String>,
    /// The room's voicemail PIN (4 to 8 digits); generated at check-in when not given.
    #[arg(long)]
    pub pin: Option<String>,
}

/// Options of `switchboard originate`.
#[derive(Debug, Clone, Args)]
pub struct OriginateArgs {
    /// The extension number to call.
    pub target: String,
    /// A prompt of the dialplan to play (such as `welcome`); repeat to play several in order.
    #[arg(long = "prompt", value_name = "NAME", required = true)]
    pub prompts: Vec<String>,
    /// How many digits to collect after the prompts (0: just play them).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub digits: usize,
    /// Seconds to wait for digits after the prompts ended (1 to 120).
    #[arg(long, value_name = "SECONDS", default_value_t = crate::http::DEFAULT_DIGIT_TIMEOUT_S)]
    pub timeout: u64,
    /// The prompts' language (default: the dialplan's default language).
    #[arg(long, value_name = "L")]
    pub language: Option<String>,
    /// The name the called phone shows (default: Switchboard).
    #[arg(long, value_name = "TEXT")]
    pub display: Option<String>,
    /// The running server's HTTP admin API address (its `--http-listen`).
    #[arg(
        long,
        env = "SWITCHBOARD_HTTP_LISTEN",
        default_value = DEFAULT_HTTP_LISTEN
    )]
    pub http: String,
}

/// Where the HTTP admin API listens unless told otherwise (and where `switchboard queue` looks).
pub const DEFAULT_HTTP_LISTEN: &str = "127.0.0.1:8080";

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Options of `switchboard serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The dialplan to serve (reloaded on change, on SIGHUP and on POST /api/reload).
    #[arg(
        long,
        env = "SWITCHBOARD_DIALPLAN",
        default_value = "dialplan/default.yaml"
    )]
    pub dialplan: PathBuf,
    /// SIP listening address, UDP and TCP on the same port; repeat for several.
    #[arg(
        long = "sip-listen",
        env = "SWITCHBOARD_SIP_LISTEN",
        value_delimiter = ',',
        default_value = "0.0.0.0:5060"
    )]
    pub sip_listen: Vec<SocketAddr>,
    /// The address written into Contact headers and SDP (set it behind NAT).
    /// Default: the listening address, or the primary interface's address when listening on all.
    #[arg(long, env = "SWITCHBOARD_PUBLIC_ADDRESS")]
    pub public_address: Option<IpAddr>,
    /// UDP port range for RTP, as LOW-HIGH.
    #[arg(long, env = "SWITCHBOARD_RTP_PORTS", default_value = "10000-20000", value_parser = parse_port_range)]
    pub rtp_ports: (u16, u16),
    /// Database URL: `sqlite:PATH` (created on first start) or `postgres://…`.
    #[arg(
        long,
        env = "SWITCHBOARD_DATABASE_URL",
        default_value = "sqlite:data/switchboard.db"
    )]
    pub database_url: String,
    /// HTTP admin API listening address.
    #[arg(
        long,
        env = "SWITCHBOARD_HTTP_LISTEN",
        default_value = DEFAULT_HTTP_LISTEN
    )]
    pub http_listen: SocketAddr,
    /// Log format.
    #[arg(
        long,
        env = "SWITCHBOARD_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormat,
    /// Seconds without RTP on an answered call before it is hung up.
    #[arg(long, env = "SWITCHBOARD_RTP_TIMEOUT", default_value_t = 60)]
    pub rtp_timeout: u64,
    /// Digest algorithms offered, one challenge each, in this order. The default is MD5
    /// alone: baresip 1.0 gives up on a REGISTER whose 401 also offers SHA-256, and sipp
    /// and many desk phones answer only MD5. Offer `sha-256,md5` where every phone
    /// supports RFC 8760.
    #[arg(long, env = "SWITCHBOARD_DIGEST_ALGORITHMS", value_delimiter = ',', default_value = "md5", value_parser = parse_algorithm)]
    pub digest_algorithms: Vec<sip::auth::Algorithm>,
    /// SIP timer T1 in milliseconds (RFC 3261 round-trip estimate).
    #[arg(long, env = "SWITCHBOARD_SIP_T1_MS", default_value_t = 500)]
    pub t1_ms: u64,
    /// Where call and conference recordings are written (created at start).
    #[arg(
        long,
        env = "SWITCHBOARD_RECORDINGS_DIR",
        default_value = "data/recordings"
    )]
    pub recordings_dir: PathBuf,
}

/// Parses a digest algorithm name (`md5`, `sha-256`, `md5-sess`, `sha-256-sess`).
pub fn parse_algorithm(text: &str) -> Result<sip::auth::Algorithm, String> {
    sip::auth::Algorithm::parse(text)
        .ok_or_else(|| format!("expected md5, sha-256, md5-sess or sha-256-sess, found `{text}`"))
}

/// Parses `LOW-HIGH`.
pub fn parse_port_range(text: &str) -> Result<(u16, u16), String> {
    let (lo, hi) = text
        .split_once('-')
        .ok_or_else(|| format!("expected LOW-HIGH such as 10000-20000, found `{text}`"))?;
    let lo: u16 = lo
        .trim()
        .parse()
        .map_err(|_| format!("expected a port number, found `{lo}`"))?;
    let hi: u16 = hi
        .trim()
        .parse()
        .map_err(|_| format!("expected a port number, found `{hi}`"))?;
    if lo == 0 || hi < lo + 3 {
        return Err(format!(
            "expected a range of at least 4 ports with LOW > 0, found {lo}-{hi}"
        ));
    }
    Ok((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges() {
        assert_eq!(parse_port_range("10000-20000"), Ok((10000, 20000)));
        assert!(
            parse_port_range("20000-10000")
                .unwrap_err()
                .contains("at least 4")
        );
        assert!(parse_port_range("abc").unwrap_err().contains("LOW-HIGH"));
    }

    #[test]
    fn queue_defaults_to_the_serve_listen_address() {
        // SWITCHBOARD_HTTP_LISTEN would override the default; this test assumes it is not set.
        if std::env::var_os("SWITCHBOARD_HTTP_LISTEN").is_some() {
            return;
        }
        let cli = Cli::try_parse_from(["switchboard", "queue"]).unwrap();
        let Command::Queue { http, json } = cli.command else {
            panic!("expected the queue command, got {:?}", cli.command);
        };
        assert_eq!((http.as_str(), json), (DEFAULT_HTTP_LISTEN, false));
        let Command::Serve(serve) = Cli::try_parse_from(["switchboard", "serve"])
            .unwrap()
            .command
        else {
            panic!("expected serve");
        };
        assert_eq!(serve.http_listen.to_string(), DEFAULT_HTTP_LISTEN);
        let cli = Cli::try_parse_from(["switchboard", "cdr", "--queue", "--csv", "--limit", "3"])
            .unwrap();
        assert!(matches!(
            cli.command,
            Command::Cdr {
                queue: true,
                csv: true,
                limit: 3,
                ..
            }
        ));
    }

    #[test]
    fn originate_takes_repeated_prompts() {
        let cli = Cli::try_parse_from([
            "switchboard",
            "originate",
            "201",
            "--prompt",
            "welcome",
            "--prompt",
            "goodbye",
            "--digits",
            "1",
            "--timeout",
            "15",
            "--language",
            "zh",
            "--display",
            "Front desk",
            "--http",
            "127.0.0.1:9000",
        ])
        .unwrap();
        let Command::Originate(args) = cli.command else {
            panic!("expected originate, got {:?}", cli.command);
        };
        assert_eq!(args.target, "201");
        assert_eq!(args.prompts, ["welcome", "goodbye"]);
        assert_eq!((args.digits, args.timeout), (1, 15));
        assert_eq!(args.language.as_deref(), Some("zh"));
        assert_eq!(args.display.as_deref(), Some("Front desk"));
        assert_eq!(args.http, "127.0.0.1:9000");
        let err = Cli::try_parse_from(["switchboard", "originate", "201"]).unwrap_err();
        assert!(err.to_string().contains("--prompt <NAME>"), "{err}");
    }

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
