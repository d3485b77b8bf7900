//! `switchboard originate`: asks a running server's admin API to place a call
//! (`POST /api/originate`) and reports the new call's number or why it was refused.

use crate::cli::OriginateArgs;
use crate::http::{ApiError, OriginateAccepted, OriginateBody};
use crate::queue_report::http_request;

/// Places the call `args` describes; returns the call's number, or the error to print.
pub fn run(args: OriginateArgs) -> Result<u64, String> {
    let body = OriginateBody {
        target: args.target,
        prompts: args.prompts,
        language: args.language,
        max_digits: Some(args.digits),
        digit_timeout_s: Some(args.timeout),
        display: args.display,
    };
    let json = serde_json::to_string(&body).map_err(|e| e.to_string())?;
    let (status, answer) = http_request(&args.http, "POST", "/api/originate", Some(&json))?;
    if status == 202 {
        return serde_json::from_str::<OriginateAccepted>(&answer)
            .map(|a| a.call)
            .map_err(|e| {
                format!(
                    "the admin API at {} placed the call but answered {answer:?}, which this version \
                     cannot read ({e}); is it the same switchboard version?",
                    args.http
                )
            });
    }
    let message = serde_json::from_str::<ApiError>(&answer)
        .map(|e| e.error)
        .unwrap_or_else(|_| answer.trim().to_string());
    Err(format!("the call was not placed ({status}): {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpListener};

    /// Serves one canned response on a loopback port; the thread returns the request it read.
    fn one_shot_server(response: &'static str) -> (SocketAddr, std::thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                let n = stream.read(&mut buf).unwrap();
                assert!(n > 0, "client closed before sending its request");
                request.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&request);
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|l| l.strip_prefix("Content-Length: "))
                        .map_or(0, |n| n.parse::<usize>().unwrap());
                    if body.len() >= length {
                        break;
                    }
                }
            }
            stream.write_all(response.as_bytes()).unwrap();
            String::from_utf8(request).unwrap()
        });
        (addr, handle)
    }

    fn args(http: SocketAddr) -> OriginateArgs {
        OriginateArgs {
            target: "201".into(),
            prompts: vec!["welcome".into()],
            digits: 1,
            timeout: 10,
            language: None,
            display: Some("Front desk".into()),
            http: http.to_string(),
        }
    }

    #[test]
    fn posts_the_body_and_reads_the_call_number() {
        let (addr, server) = one_shot_server(
            "HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{\"call\":17}",
        );
        assert_eq!(run(args(addr)), Ok(17));
        let request = server.join().unwrap();
        assert!(
            request.starts_with("POST /api/originate HTTP/1.1\r\n"),
            "{request}"
        );
        assert!(
            request.contains("Content-Type: application/json\r\n"),
            "{request}"
        );
        assert!(
            request.ends_with(
                r#"{"target":"201","prompts":["welcome"],"max_digits":1,"digit_timeout_s":10,"display":"Front desk"}"#
            ),
            "{request}"
        );
    }

    #[test]
    fn refusals_print_the_api_error() {
        let (addr, server) = one_shot_server(
            "HTTP/1.1 409 Conflict\r\ncontent-type: application/json\r\ncontent-length: 37\r\n\r\n{\"error\":\"extension 201 is offline\"}",
        );
        assert_eq!(
            run(args(addr)),
            Err("the call was not placed (409): extension 201 is offline".into())
        );
        server.join().unwrap();
    }
}
