//! `switchboard queue` and `switchboard cdr --queue`: the live operator queue read from a running
//! server's admin API, and the stored queue call records, as tables for a terminal; and the small
//! admin-API client these commands (and `switchboard originate`) use.

use crate::http::QueueView;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// How long connecting to, and then each read from, the admin API may take.
const HTTP_TIMEOUT: Duration = Duration::from_secs(5);

/// Fetches `path` from the admin API at `address` (`HOST:PORT`, as `--http-listen` takes it) and
/// returns the body of a `200 OK` answer.
///
/// An unspecified listening address (`0.0.0.0:8080`, `[::]:8080`) is reached on loopback.
pub fn http_get(address: &str, path: &str) -> Result<String, String> {
    let (status, body) = http_request(address, "GET", path, None)?;
    if status != 200 {
        return Err(format!(
            "the switchboard admin API at {address} answered GET {path} with status {status}: {}",
            body.trim()
        ));
    }
    Ok(body)
}

/// Sends `method path` to the admin API at `address`, with `body` as JSON when given, and returns
/// the status and the (de-chunked) body of whatever the API answered.
///
/// Fails only when the API cannot be reached or does not answer HTTP.
pub fn http_request(
    address: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Result<(u16, String), String> {
    let unreachable = |e: &dyn std::fmt::Display| {
        format!(
            "cannot reach the switchboard admin API at {address}: {e} (is `switchboard serve` running? \
             give its --http-listen address with --http or SWITCHBOARD_HTTP_LISTEN)"
        )
    };
    let addrs: Vec<SocketAddr> = address
        .to_socket_addrs()
        .map_err(|e| unreachable(&e))?
        .map(|mut a| {
            if a.ip().is_unspecified() {
                a.set_ip(match a {
                    SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                    SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
                });
            }
            a
        })
        .collect();
    let mut last = None;
    let mut stream = None;
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, HTTP_TIMEOUT) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let mut stream = match (stream, last) {
        (Some(s), _) => s,
        (None, Some(e)) => return Err(unreachable(&e)),
        (None, None) => return Err(unreachable(&"the address resolves to nothing")),
    };
    stream
        .set_read_timeout(Some(HTTP_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(HTTP_TIMEOUT)))
        .map_err(|e| unreachable(&e))?;
    let content = match body {
        Some(body) => format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
        None => "\r\n".to_string(),
    };
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nAccept: application/json\r\n{}: cli\r\nConnection: close\r\n{content}",
        crate::http::ACTOR_HEADER
    )
    .map_err(|e| unreachable(&e))?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| unreachable(&e))?;
    parse_response(&raw).map_err(|e| {
        format!("the switchboard admin API at {address} answered {method} {path} with {e}")
    })
}

/// Splits an HTTP/1.1 response into its status code and (de-chunked) body.
fn parse_response(raw: &[u8]) -> Result<(u16, String), String> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no complete HTTP header (got {} bytes)", raw.len()))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.")
        .and_then(|rest| rest.split_whitespace().nth(1))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| format!("an unexpected status line `{status_line}`"))?;
    let chunked = lines.any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("transfer-encoding")
                && value.trim().eq_ignore_ascii_case("chunked")
        })
    });
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_string()
    };
    Ok((status, body))
}

/// Decodes a `Transfer-Encoding: chunked` body.
fn dechunk(mut rest: &str) -> Result<String, String> {
    let mut out = String::new();
    loop {
        let (size_line, after) = rest
            .split_once("\r\n")
            .ok_or("a chunked body that ends before its last chunk")?;
        let size_text = size_line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("a chunk size `{size_line}` that is not hexadecimal"))?;
        if size == 0 {
            return Ok(out);
        }
        let chunk = after
            .get(..size)
            .ok_or("a chunk shorter than its announced size")?;
        out.push_str(chunk);
        rest = after[size..]
            .strip_prefix("\r\n")
            .ok_or("a chunk not followed by CRLF")?;
    }
}

/// Text from the network made safe for a terminal: control characters become U+FFFD.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

/// A duration in milliseconds as `m:ss`, or `h:mm:ss` from one hour on; negative counts as zero.
pub fn duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// Lays out rows under a header, each column as wide as its widest cell, two spaces apart.
/// Columns whose index is in `right` are right-aligned.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>], right: &[usize]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| (*h).to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = widths[i] - cell.chars().count();
            if right.contains(&i) {
                line.extend(std::iter::repeat_n(' ', pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The live queue as two tables: waiting callers in answering order, then the operators.
pub fn render_queue(view: &QueueView) -> String {
    let mut out = String::new();
    if view.waiting.is_empty() {
        out.push_str("No callers waiting.\n");
    } else {
        out.push_str(&format!("Waiting callers ({}):\n", view.waiting.len()));
        let rows: Vec<Vec<String>> = view
            .waiting
            .iter()
            .map(|w| {
                vec![
                    clean(&w.queue),
                    w.position.to_string(),
                    clean(&w.caller),
                    clean(&w.language),
                    if w.vip { "VIP" } else { "" }.to_string(),
                    duration(w.wait_ms),
                    w.ringing.as_deref().map_or_else(|| "-".to_string(), clean),
                ]
            })
            .collect();
        out.push_str(&table(
            &["queue", "pos", "caller", "lang", "VIP", "waited", "ringing"],
            &rows,
            &[1, 5],
        ));
    }
    out.push('\n');
    if view.operators.is_empty() {
        out.push_str("No operators configured.\n");
    } else {
        out.push_str("Operators:\n");
        let rows: Vec<Vec<String>> = view
            .operators
            .iter()
            .map(|o| {
                vec![
                    clean(&o.account),
                    clean(&o.name),
                    clean(&o.state),
                    duration(view.now_ms - o.since_ms),
                    o.caller.as_deref().map_or_else(|| "-".to_string(), clean),
                ]
            })
            .collect();
        out.push_str(&table(
            &["account", "name", "state", "for", "caller"],
            &rows,
            &[3],
        ));
    }
    out
}

/// Stored queue call records as a table, newest first.
pub fn render_queue_calls(records: &[store::QueueCallRecord]) -> String {
    if records.is_empty() {
        return "No queue call records.\n".to_string();
    }
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            let s = &r.state;
            vec![
                r.id.to_string(),
                jiff::Timestamp::from_millisecond(r.entered_at_ms)
                    .map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string())
                    .unwrap_or_else(|_| r.entered_at_ms.to_string()),
                clean(&r.caller),
                if r.vip { "VIP" } else { "" }.to_string(),
                r.position_on_entry.to_string(),
                s.wait_ms.map_or_else(|| "-".to_string(), duration),
                s.answered_by
                    .as_deref()
                    .map_or_else(|| "-".to_string(), clean),
                s.talk_ms.map_or_else(|| "-".to_string(), duration),
                transfers(&s.transfers),
                match (s.outcome, s.ended_at_ms) {
                    (Some(o), _) => o.as_str().to_string(),
                    (None, Some(_)) => "ended".to_string(),
                    (None, None) => "waiting".to_string(),
                },
            ]
        })
        .collect();
    table(
        &[
            "id",
            "entered (UTC)",
            "caller",
            "VIP",
            "pos",
            "wait",
            "answered by",
            "talk",
            "transfers",
            "outcome",
        ],
        &rows,
        &[0, 4, 5, 7],
    )
}

/// The transfers JSON of a record, short: `-`, or the targets in order with how each ended,
/// for example `201 (connected), 8105 (busy)`.
fn transfers(json: &str) -> String {
    let Ok(serde_json::Value::Array(items)) = serde_json::from_str::<serde_json::Value>(json)
    else {
        return clean(json);
    };
    if items.is_empty() {
        return "-".to_string();
    }
    items
        .iter()
        .map(|t| {
            let to = t.get("to").and_then(|v| v.as_str()).unwrap_or("?");
            match t.get("result").and_then(|v| v.as_str()) {
                Some(result) => format!("{} ({})", clean(to), clean(result)),
                None => format!("{} (ringing)", clean(to)),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{OperatorView, WaitingView};
    use std::net::TcpListener;

    fn waiting(
        position: u32,
        caller: &str,
        vip: bool,
        wait_ms: i64,
        ringing: Option<&str>,
    ) -> WaitingView {
        WaitingView {
            queue: "operators".into(),
            position,
            call: u64::from(position),
            caller: caller.into(),
            name: None,
            language: "en".into(),
            vip,
            wait_ms,
            entered_ms: 1_000,
            ringing: ringing.map(str::to_string),
        }
    }

    fn operator(account: &str, state: &str, since_ms: i64, caller: Option<&str>) -> OperatorView {
        OperatorView {
            account: account.into(),
            name: format!("Operator {}", &account[2..]),
            state: state.into(),
            since_ms,
            contacts: vec![format!("sip:{account}@127.0.0.1:5070")],
            caller: caller.map(str::to_string),
        }
    }

    #[test]
    fn durations() {
        assert_eq!(duration(0), "0:00");
        assert_eq!(duration(999), "0:00");
        assert_eq!(duration(65_000), "1:05");
        assert_eq!(duration(3_599_999), "59:59");
        assert_eq!(duration(3_600_000), "1:00:00");
        assert_eq!(duration(-5), "0:00");
    }

    #[test]
    fn queue_table_lists_callers_in_order_and_operators() {
        let view = QueueView {
            now_ms: 1_000_000,
            waiting: vec![
                waiting(1, "+4930111", true, 65_000, Some("op1")),
                waiting(2, "201", false, 5_000, None),
            ],
            operators: vec![
                operator("op1", "ringing", 1_000_000 - 3_000, Some("+4930111")),
                operator("op2", "logged_out", 1_000_000 - 600_000, None),
            ],
        };
        assert_eq!(
            render_queue(&view),
            "Waiting callers (2):\n\
             queue      pos  caller    lang  VIP  waited  ringing\n\
             operators    1  +4930111  en    VIP    1:05  op1\n\
             operators    2  201       en           0:05  -\n\
             \n\
             Operators:\n\
             account  name        state         for  caller\n\
             op1      Operator 1  ringing      0:03  +4930111\n\
             op2      Operator 2  logged_out  10:00  -\n"
        );
    }

    #[test]
    fn empty_queue_and_control_characters() {
        let view = QueueView {
            now_ms: 0,
            waiting: vec![],
            operators: vec![operator("op1", "idle\u{1b}[2J", 0, Some("evil\u{7}"))],
        };
        let text = render_queue(&view);
        assert!(
            text.starts_with("No callers waiting.\n\nOperators:\n"),
            "{text}"
        );
        assert!(text.contains("idle\u{fffd}[2J"), "{text}");
        assert!(text.contains("evil\u{fffd}"), "{text}");
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{text}"
        );
    }

    #[test]
    fn queue_view_json_round_trips_with_the_documented_names() {
        let view = QueueView {
            now_ms: 5,
            waiting: vec![waiting(1, "201", true, 4, None)],
            operators: vec![operator("op1", "idle", 2, None)],
        };
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "now_ms": 5,
                "waiting": [{
                    "queue": "operators", "position": 1, "call": 1, "caller": "201", "name": null,
                    "language": "en", "vip": true, "wait_ms": 4, "entered_ms": 1_000,
                    "ringing": null
                }],
                "operators": [{
                    "account": "op1", "name": "Operator 1", "state": "idle", "since_ms": 2,
                    "contacts": ["sip:op1@127.0.0.1:5070"], "caller": null
                }]
            })
        );
        assert_eq!(serde_json::from_value::<QueueView>(json).unwrap(), view);
    }

    #[test]
    fn queue_call_records_table() {
        let answered = store::QueueCallRecord {
            id: 7,
            call_id: "a@b".into(),
            caller: "+4930111".into(),
            vip: true,
            entered_at_ms: 1_764_201_600_000,
            position_on_entry: 2,
            state: store::QueueCallUpdate {
                wait_ms: Some(42_000),
                answered_by: Some("op2".into()),
                answered_at_ms: Some(1_764_201_642_000),
                talk_ms: Some(125_000),
                transfers: r#"[{"kind":"blind","by":"op2","to":"201","at_ms":1,"result":"connected"},{"kind":"attended","by":"op2","to":"8105","at_ms":2,"result":null}]"#.into(),
                outcome: Some(store::QueueOutcome::Answered),
                ended_at_ms: Some(1_764_201_767_000),
            },
        };
        let waiting = store::QueueCallRecord {
            id: 8,
            vip: false,
            caller: "202".into(),
            position_on_entry: 1,
            state: store::QueueCallUpdate {
                transfers: "[]".into(),
                ..Default::default()
            },
            ..answered.clone()
        };
        assert_eq!(
            render_queue_calls(&[waiting, answered]),
            "id  entered (UTC)        caller    VIP  pos  wait  answered by  talk  transfers                        outcome\n\
             \x208  2025-11-27 00:00:00  202              1     -  -               -  -                                waiting\n\
             \x207  2025-11-27 00:00:00  +4930111  VIP    2  0:42  op2          2:05  201 (connected), 8105 (ringing)  answered\n"
        );
        assert_eq!(render_queue_calls(&[]), "No queue call records.\n");
    }

    /// Serves one canned HTTP response on a loopback port and returns the address.
    fn one_shot_server(response: &'static str) -> (SocketAddr, std::thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.ends_with(b"\r\n\r\n") {
                let n = stream.read(&mut buf).unwrap();
                assert!(n > 0, "client closed before sending its request");
                request.extend_from_slice(&buf[..n]);
            }
            stream.write_all(response.as_bytes()).unwrap();
            String::from_utf8(request).unwrap()
        });
        (addr, handle)
    }

    #[test]
    fn http_get_reads_plain_and_chunked_bodies() {
        let (addr, server) = one_shot_server(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}",
        );
        assert_eq!(http_get(&addr.to_string(), "/api/queue").unwrap(), "{}");
        let request = server.join().unwrap();
        assert!(
            request.starts_with("GET /api/queue HTTP/1.1\r\n"),
            "{request}"
        );

        let (addr, server) = one_shot_server(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3;x=y\r\n:1}\r\n0\r\n\r\n",
        );
        assert_eq!(
            http_get(&addr.to_string(), "/api/queue").unwrap(),
            "{\"a\":1}"
        );
        server.join().unwrap();
    }

    #[test]
    fn http_get_reports_error_status_and_unreachable_server() {
        let (addr, server) = one_shot_server(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 24\r\n\r\nserver is shutting down\n",
        );
        let err = http_get(&addr.to_string(), "/api/queue").unwrap_err();
        assert!(
            err.contains("answered GET /api/queue with status 503: server is shutting down"),
            "{err}"
        );
        server.join().unwrap();

        // A port that was just free: nothing listens there.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let address = format!("127.0.0.1:{port}");
        let err = http_get(&address, "/api/queue").unwrap_err();
        assert!(
            err.starts_with(&format!(
                "cannot reach the switchboard admin API at {address}: "
            )),
            "{err}"
        );
        assert!(err.contains("--http"), "{err}");
    }

    #[test]
    fn malformed_responses_are_named() {
        assert!(
            parse_response(b"garbage")
                .unwrap_err()
                .contains("no complete HTTP header")
        );
        assert!(
            parse_response(b"SIP/2.0 200 OK\r\n\r\n")
                .unwrap_err()
                .contains("unexpected status line")
        );
        assert!(
            parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
                .unwrap_err()
                .contains("not hexadecimal")
        );
    }
}
