//! baresip's `ctrl_tcp` protocol: JSON objects in netstrings over one persistent TCP connection.
//!
//! baresip accepts a single control connection (a second one silently replaces the first), so the
//! harness keeps one, with a reader thread that sorts incoming objects into command responses (by
//! token) and events (in arrival order).

use crate::error::{Error, Result};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// An event reported by baresip, e.g. `CALL_ESTABLISHED`.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The event type (`type` field), e.g. `CALL_INCOMING`.
    pub kind: String,
    /// The `param` field (call peer, reason, digit...), empty when absent.
    pub param: String,
    /// The `peeruri` field, empty when absent.
    pub peer_uri: String,
    /// The whole JSON object.
    pub raw: Value,
}

#[derive(Debug, Default)]
struct Inbox {
    events: VecDeque<Event>,
    responses: HashMap<String, Value>,
    closed: Option<String>,
}

/// The control connection to one baresip process.
#[derive(Debug)]
pub struct Ctrl {
    stream: Mutex<TcpStream>,
    inbox: Arc<(Mutex<Inbox>, Condvar)>,
    next_token: AtomicU64,
}

impl Ctrl {
    /// Connects to `addr`, retrying until `timeout` while baresip starts up.
    pub fn connect(addr: SocketAddr, timeout: Duration) -> Result<Self> {
        let deadline = Instant::now() + timeout;
        let stream = loop {
            match TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
                Ok(stream) => break stream,
                Err(e) if Instant::now() > deadline => {
                    return Err(Error::io(
                        format!("connecting to baresip ctrl_tcp at {addr} within {timeout:?}"),
                        e,
                    ));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        let reader = stream
            .try_clone()
            .map_err(|e| Error::io("cloning ctrl_tcp stream", e))?;
        let inbox = Arc::new((Mutex::new(Inbox::default()), Condvar::new()));
        let thread_inbox = Arc::clone(&inbox);
        std::thread::spawn(move || read_loop(reader, &thread_inbox));
        Ok(Self {
            stream: Mutex::new(stream),
            inbox,
            next_token: AtomicU64::new(1),
        })
    }

    /// Sends `command` with `params` and waits up to `timeout` for its response object.
    ///
    /// Fails when the response says `"ok": false`, naming the command and baresip's message.
    pub fn command(&self, command: &str, params: &str, timeout: Duration) -> Result<Value> {
        let token = format!("e2e{}", self.next_token.fetch_add(1, Ordering::Relaxed));
        let body = json!({ "command": command, "params": params, "token": token }).to_string();
        let frame = format!("{}:{},", body.len(), body);
        self.stream
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .write_all(frame.as_bytes())
            .map_err(|e| Error::io(format!("sending baresip command {command}"), e))?;
        let response = self.wait_for(timeout, |inbox| inbox.responses.remove(&token))?;
        let response = response.ok_or_else(|| {
            Error::new(format!(
                "no response to baresip command `{command} {params}` within {timeout:?}"
            ))
        })?;
        if response.get("ok").and_then(Value::as_bool) == Some(true) {
            Ok(response)
        } else {
            Err(Error::new(format!(
                "baresip command `{command} {params}` failed: {response}"
            )))
        }
    }

    /// Waits up to `timeout` for the first not-yet-taken event accepted by `filter`, and takes it.
    pub fn wait_event(
        &self,
        timeout: Duration,
        filter: impl Fn(&Event) -> bool,
    ) -> Result<Option<Event>> {
        self.wait_for(timeout, |inbox| {
            let index = inbox.events.iter().position(&filter)?;
            inbox.events.remove(index)
        })
    }

    /// Returns whether an event accepted by `filter` has arrived (without taking it).
    pub fn has_event(&self, filter: impl Fn(&Event) -> bool) -> bool {
        let inbox = self.inbox.0.lock().unwrap_or_else(|p| p.into_inner());
        inbox.events.iter().any(filter)
    }

    /// Returns every event type received and not yet taken, for error messages.
    pub fn pending_events(&self) -> Vec<String> {
        let inbox = self.inbox.0.lock().unwrap_or_else(|p| p.into_inner());
        inbox
            .events
            .iter()
            .map(|e| format!("{}({})", e.kind, e.param))
            .collect()
    }

    fn wait_for<T>(
        &self,
        timeout: Duration,
        mut take: impl FnMut(&mut Inbox) -> Option<T>,
    ) -> Result<Option<T>> {
        let deadline = Instant::now() + timeout;
        let (lock, ready) = &*self.inbox;
        let mut inbox = lock.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(found) = take(&mut inbox) {
                return Ok(Some(found));
            }
            if let Some(reason) = &inbox.closed {
                return Err(Error::new(format!(
                    "baresip control connection closed: {reason}"
                )));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            inbox = ready
                .wait_timeout(inbox, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

fn read_loop(mut stream: TcpStream, inbox: &(Mutex<Inbox>, Condvar)) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let reason = loop {
        match stream.read(&mut chunk) {
            Ok(0) => break "end of stream".to_owned(),
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            Err(e) => break e.to_string(),
        }
        loop {
            match take_netstring(&mut buffer) {
                Ok(Some(payload)) => deliver(&payload, inbox),
                Ok(None) => break,
                Err(e) => {
                    let (lock, ready) = inbox;
                    lock.lock().unwrap_or_else(|p| p.into_inner()).closed = Some(e);
                    ready.notify_all();
                    return;
                }
            }
        }
    };
    let (lock, ready) = inbox;
    lock.lock().unwrap_or_else(|p| p.into_inner()).closed = Some(reason);
    ready.notify_all();
}

fn deliver(payload: &[u8], inbox: &(Mutex<Inbox>, Condvar)) {
    let Ok(value) = serde_json::from_slice::<Value>(payload) else {
        return;
    };
    let (lock, ready) = inbox;
    let mut inbox = lock.lock().unwrap_or_else(|p| p.into_inner());
    if value.get("event").and_then(Value::as_bool) == Some(true) {
        let field = |name: &str| {
            value
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        inbox.events.push_back(Event {
            kind: field("type"),
            param: field("param"),
            peer_uri: field("peeruri"),
            raw: value.clone(),
        });
    } else if let Some(token) = value.get("token").and_then(Value::as_str) {
        inbox.responses.insert(token.to_owned(), value.clone());
    }
    ready.notify_all();
}

/// Removes one complete netstring (`len:payload,`) from the front of `buffer`.
fn take_netstring(buffer: &mut Vec<u8>) -> std::result::Result<Option<Vec<u8>>, String> {
    let Some(colon) = buffer.iter().position(|&b| b == b':') else {
        if buffer.len() > 10 {
            return Err(format!(
                "expected a netstring length, got {:?}",
                String::from_utf8_lossy(buffer)
            ));
        }
        return Ok(None);
    };
    let length: usize = std::str::from_utf8(&buffer[..colon])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            format!(
                "bad netstring length {:?}",
                String::from_utf8_lossy(&buffer[..colon])
            )
        })?;
    let end = colon + 1 + length;
    if buffer.len() < end + 1 {
        return Ok(None);
    }
    if buffer[end] != b',' {
        return Err(format!("netstring of length {length} not followed by ','"));
    }
    let payload = buffer[colon + 1..end].to_vec();
    buffer.drain(..=end);
    Ok(Some(payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_concatenated_netstrings() {
        let mut buffer = b"3:abc,5:hello,2:x".to_vec();
        assert_eq!(take_netstring(&mut buffer).unwrap(), Some(b"abc".to_vec()));
        assert_eq!(
            take_netstring(&mut buffer).unwrap(),
            Some(b"hello".to_vec())
        );
        assert_eq!(take_netstring(&mut buffer).unwrap(), None);
        buffer.extend_from_slice(b"y,");
        assert_eq!(take_netstring(&mut buffer).unwrap(), Some(b"xy".to_vec()));
        let mut bad = b"2:abc".to_vec();
        assert!(take_netstring(&mut bad).is_err());
    }
}
