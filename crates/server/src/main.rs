//! The `switchboard` binary: parses the command line and runs a subcommand.
//! See `switchboard --help`.

mod cli;
mod core_loop;
mod desk_cli;
mod directory;
mod fd_limit;
mod hotel_state;
mod http;
mod media_io;
mod number_changes;
mod originate;
mod prompt_check;
mod queue_report;
mod rtp_ports;
mod serve;
mod sip_io;
mod startup;
mod store_io;

use clap::Parser;
use cli::{Cli, Command, LogFormat};
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

/// Wall-clock time in unix milliseconds (call records, registration expiry).
#[allow(clippy::disallowed_methods)]
pub(crate) fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Writes to standard output; a closed pipe (`switchboard schema | head`) is not an error.
fn out(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
}

/// Prints a command's output, or its error on stderr with exit status 1.
fn print(result: Result<String, String>) -> ExitCode {
    match result {
        Ok(text) => {
            out(&text);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("switchboard: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_env("SWITCHBOARD_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            init_logging(args.log_format);
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("switchboard: cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(serve::run(args)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e}");
                    eprintln!("switchboard: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Check { path } => match serve::load_plan(&path) {
            Ok(plan) => {
                for warning in plan.warnings() {
                    eprintln!("warning: {warning}");
                }
                out(&format!(
                    "{}: ok ({} extensions)\n",
                    path.display(),
                    plan.extensions().count()
                ));
                ExitCode::SUCCESS
            }
            Err(problems) => {
                eprintln!("{problems}");
                ExitCode::FAILURE
            }
        },
        Command::Schema => {
            out(&format!("{}\n", dialplan::json_schema()));
            ExitCode::SUCCESS
        }
        Command::Queue { http, json } => match queue_report::http_get(&http, "/api/queue") {
            Ok(body) => {
                let view = match serde_json::from_str::<http::QueueView>(&body) {
                    Ok(v) => v,
                    Err(e) => {
                        eprintln!(
                            "switchboard: the admin API at {http} sent a queue this version cannot read \
                             ({e}); is it the same switchboard version?"
                        );
                        return ExitCode::FAILURE;
                    }
                };
                if json {
                    match serde_json::to_string_pretty(&view) {
                        Ok(text) => out(&format!("{text}\n")),
                        Err(e) => {
                            eprintln!("switchboard: {e}");
                            return ExitCode::FAILURE;
                        }
                    }
                } else {
                    out(&queue_report::render_queue(&view));
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("switchboard: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Guest { action, http, json } => print(desk_cli::guest(action, &http, json)),
        Command::Room { room, http, json } => print(desk_cli::room(&room, &http, json)),
        Command::Dnd { ext, state, http } => print(desk_cli::dnd(&ext, state, &http)),
        Command::Forward {
            ext,
            kind,
            target,
            http,
        } => print(desk_cli::forward(&ext, kind, &target, &http)),
        Command::Logbook { hours, http, json } => print(desk_cli::logbook(hours, &http, json)),
        Command::Music {
            group,
            mode,
            http,
            json,
        } => print(desk_cli::music(group.as_deref(), mode, &http, json)),
        Command::Originate(args) => match originate::run(args) {
            Ok(call) => {
                out(&format!("{call}\n"));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("switchboard: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Cdr {
            database_url,
            limit,
            csv,
            queue,
        } => {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("switchboard: cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            runtime.block_on(async move {
                let store = match store::Store::connect(&database_url).await {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("switchboard: cannot open {database_url}: {e}");
                        return ExitCode::FAILURE;
                    }
                };
                let result = match (queue, csv) {
                    (true, true) => store.queue_calls_csv(limit).await,
                    (true, false) => store
                        .recent_queue_calls(limit)
                        .await
                        .map(|rows| queue_report::render_queue_calls(&rows)),
                    (false, true) => store.calls_csv(limit).await,
                    (false, false) => store
                        .recent_calls(limit)
                        .await
                        .map(|rows| render_calls(&rows)),
                };
                print(result.map_err(|e| e.to_string()))
            })
        }
    }
}

/// The call records as the table `switchboard cdr` prints.
fn render_calls(rows: &[store::CallRecord]) -> String {
    let mut table = format!(
        "{:>6}  {:<20} {:<10} {:<10} {:<12} {:<8}\n",
        "id", "started (UTC)", "caller", "callee", "outcome", "talk_s"
    );
    for r in rows {
        let talk = match (r.answered_at_ms, r.ended_at_ms) {
            (Some(a), Some(e)) => format!("{}", (e - a) / 1000),
            _ => "-".into(),
        };
        table.push_str(&format!(
            "{:>6}  {:<20} {:<10} {:<10} {:<12} {:<8}\n",
            r.id,
            jiff::Timestamp::from_millisecond(r.started_at_ms)
                .map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_else(|_| r.started_at_ms.to_string()),
            r.caller,
            r.callee,
            r.outcome.map(|o| o.as_str()).unwrap_or("in progress"),
            talk
        ));
    }
    table
}
