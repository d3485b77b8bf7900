//! The operator queue's admin surface end to end: `GET /api/queue`, `switchboard queue` against the
//! running server, `switchboard cdr --queue` on its database, and an operator's login and pause
//! surviving a restart (the binding keeps its account, the shift log restores the pause).

use serde_json::Value;
use std::process::{Command, Output};
use switchboard_e2e::pbx::SIPP_TIMEOUT;
use switchboard_e2e::{
    Dialplan, Server, ServerOptions, Sipp, free_port, http_get, switchboard_binary,
};

/// The demo dialplan (operators op1 and op2 at position 0), MD5 digests only as sipp answers them.
fn demo_server() -> Server {
    Server::start(ServerOptions {
        dialplan: Dialplan::demo_with(&[]).unwrap(),
        extra_args: vec!["--digest-algorithms".into(), "md5".into()],
        ..ServerOptions::new()
    })
    .unwrap()
}

/// `GET /api/queue`, parsed.
fn queue(server: &Server) -> Value {
    let (status, body) = http_get(server.http_addr(), "/api/queue");
    assert_eq!(status, 200, "GET /api/queue: {body}");
    serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("GET /api/queue is not JSON ({e}): {body}"))
}

/// The state of operator `account` in a `/api/queue` answer.
fn operator_state(queue: &Value, account: &str) -> String {
    queue["operators"]
        .as_array()
        .unwrap_or_else(|| panic!("expected an operators array in {queue}"))
        .iter()
        .find(|o| o["account"] == account)
        .unwrap_or_else(|| panic!("expected operator {account} in {queue}"))["state"]
        .as_str()
        .unwrap_or_else(|| panic!("expected a state string for {account} in {queue}"))
        .to_owned()
}

/// Runs the switchboard binary with `args` (no SWITCHBOARD_* settings inherited).
fn switchboard(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(switchboard_binary().unwrap());
    command.args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("SWITCHBOARD_") {
            command.env_remove(key);
        }
    }
    for (key, value) in env {
        command.env(key, value);
    }
    command
        .output()
        .unwrap_or_else(|e| panic!("running switchboard {args:?}: {e}"))
}

fn stdout_of(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = switchboard(args, env);
    assert!(
        out.status.success(),
        "switchboard {args:?} exited with {}; stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The row of `account` in the operators table printed by `switchboard queue`, split into cells.
fn operator_row(table: &str, account: &str) -> Vec<String> {
    let operators = table
        .split_once("Operators:\n")
        .unwrap_or_else(|| panic!("expected an Operators: section in\n{table}"))
        .1;
    operators
        .lines()
        .map(|line| {
            line.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .find(|cells| cells.first().map(String::as_str) == Some(account))
        .unwrap_or_else(|| panic!("expected a row for {account} in\n{table}"))
}

/// op1 logs in to the operator position 0 from `port`.
fn register_operator(server: &Server, port: u16) {
    Sipp::new("register")
        .unwrap()
        .remote(server.sip_addr())
        .local_port(port)
        .key("user", "0")
        .key("expires", 300)
        .auth("op1", "secretop1")
        .timeout(SIPP_TIMEOUT)
        .run()
        .unwrap()
        .expect_success()
        .unwrap_or_else(|e| panic!("op1 logging in to position 0 from port {port}: {e}"));
}

#[test]
fn queue_api_and_cli_show_operators_and_keep_login_and_pause_across_a_restart() {
    let mut server = demo_server();
    let http = server.http_addr().to_string();

    // Nobody logged in, nobody waiting.
    let before = queue(&server);
    assert_eq!(before["waiting"], Value::Array(vec![]), "{before}");
    assert_eq!(operator_state(&before, "op1"), "logged_out");
    assert_eq!(operator_state(&before, "op2"), "logged_out");
    assert!(before["now_ms"].as_i64().is_some_and(|t| t > 0), "{before}");

    // op1 logs in: idle, with the registered contact.
    let port = free_port().unwrap();
    register_operator(&server, port);
    let after = queue(&server);
    assert_eq!(operator_state(&after, "op1"), "idle", "{after}");
    assert_eq!(operator_state(&after, "op2"), "logged_out", "{after}");
    let op1 = after["operators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["account"] == "op1")
        .unwrap();
    assert_eq!(op1["name"], "Operator 1", "{after}");
    assert!(
        op1["contacts"].as_array().is_some_and(|c| c
            .iter()
            .any(|c| c.as_str().is_some_and(|c| c.contains(&format!(":{port}"))))),
        "expected op1's contact on port {port} in {after}"
    );

    // `switchboard queue`, by flag and by the serve environment variable.
    let table = stdout_of(&["queue", "--http", &http], &[]);
    assert!(table.starts_with("No callers waiting.\n"), "{table}");
    let row = operator_row(&table, "op1");
    assert_eq!(row[..3], ["op1", "Operator 1", "idle"], "{table}");
    assert_eq!(operator_row(&table, "op2")[2], "logged_out", "{table}");
    let by_env = stdout_of(&["queue"], &[("SWITCHBOARD_HTTP_LISTEN", &http)]);
    assert_eq!(operator_row(&by_env, "op1")[2], "idle", "{by_env}");
    let json: Value =
        serde_json::from_str(&stdout_of(&["queue", "--http", &http, "--json"], &[])).unwrap();
    assert_eq!(operator_state(&json, "op1"), "idle", "{json}");

    // A server that is not there is named, with a failing exit status.
    let nowhere = format!("127.0.0.1:{}", free_port().unwrap());
    let failed = switchboard(&["queue", "--http", &nowhere], &[]);
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(
        !failed.status.success(),
        "expected a failure; stderr: {stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "cannot reach the switchboard admin API at {nowhere}: "
        )),
        "{stderr}"
    );

    // Queue call records: none yet, by API, CSV and CLI.
    let (status, body) = http_get(server.http_addr(), "/api/queue-calls?limit=5");
    assert_eq!((status, body.as_str()), (200, "[]"));
    let (status, csv) = http_get(server.http_addr(), "/api/queue-calls.csv");
    assert_eq!(status, 200, "{csv}");
    assert!(
        csv.starts_with("id,call_id,caller,vip,entered_at_ms,position_on_entry,wait_ms,"),
        "{csv}"
    );
    let database = format!(
        "sqlite:{}",
        server.data_dir().join("switchboard.db").display()
    );
    assert_eq!(
        stdout_of(
            &[
                "cdr",
                "--queue",
                "--database-url",
                &database,
                "--limit",
                "5"
            ],
            &[]
        ),
        "No queue call records.\n"
    );

    // op1 pauses with *45 from the logged-in phone.
    Sipp::new("attendant_feature_code")
        .unwrap()
        .remote(server.sip_addr())
        .local_port(port)
        .key("caller", "op1")
        .auth("op1", "secretop1")
        .service("*45")
        .timeout(SIPP_TIMEOUT)
        .run()
        .unwrap()
        .expect_success()
        .unwrap_or_else(|e| panic!("op1 dialling *45: {e}\nserver log:\n{}", server.log()));
    assert_eq!(operator_state(&queue(&server), "op1"), "paused");

    // After a restart op1 is still logged in as op1 (the binding kept its account) and paused.
    let status = server.stop().unwrap();
    assert!(
        status.success(),
        "switchboard exited with {status} on SIGTERM"
    );
    server.restart().unwrap();
    let restarted = queue(&server);
    assert_eq!(
        operator_state(&restarted, "op1"),
        "paused",
        "expected op1 still logged in and paused after the restart; log:\n{}",
        server.log()
    );
    assert_eq!(operator_state(&restarted, "op2"), "logged_out");
    assert!(
        server
            .log()
            .contains("operators paused before the restart stay paused"),
        "{}",
        server.log()
    );
}
