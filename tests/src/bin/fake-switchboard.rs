//! A stand-in for `switchboard serve` used only by the harness's own tests: it parses the same
//! `--sip-listen` flag, logs its arguments and a `listening` line, and answers every SIP request on
//! that address (UDP and TCP) with `200 OK`. It lets the harness test `Server` without the real
//! binary.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, UdpSocket};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    println!("fake-switchboard args: {}", args.join(" "));
    let listen: SocketAddr = args
        .windows(2)
        .find(|pair| pair[0] == "--sip-listen")
        .and_then(|pair| pair[1].parse().ok())
        .unwrap_or_else(|| {
            eprintln!("fake-switchboard: expected --sip-listen ADDR");
            std::process::exit(2);
        });
    let udp = UdpSocket::bind(listen).unwrap_or_else(|e| panic!("binding UDP {listen}: {e}"));
    let tcp = TcpListener::bind(listen).unwrap_or_else(|e| panic!("binding TCP {listen}: {e}"));
    println!("fake-switchboard listening on {listen} (udp, tcp)");
    std::thread::spawn(move || {
        for stream in tcp.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 65_536];
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if let Some(reply) = answer(&buf[..n])
                        && stream.write_all(reply.as_bytes()).is_err()
                    {
                        break;
                    }
                }
            });
        }
    });
    let mut buf = [0u8; 65_536];
    loop {
        let Ok((n, from)) = udp.recv_from(&mut buf) else {
            continue;
        };
        if let Some(reply) = answer(&buf[..n]) {
            let _ = udp.send_to(reply.as_bytes(), from);
        }
    }
}

/// Builds `200 OK` for a request by copying its Via, From, To, Call-ID and CSeq.
fn answer(request: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(request);
    if text.starts_with("SIP/2.0") {
        return None;
    }
    let mut reply = String::from("SIP/2.0 200 OK\r\n");
    for line in text.split("\r\n").skip(1) {
        let name = line
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if ["via", "from", "to", "call-id", "cseq"].contains(&name.as_str()) {
            reply.push_str(line);
            reply.push_str("\r\n");
        }
    }
    reply.push_str("Allow: INVITE, ACK, BYE, CANCEL, OPTIONS\r\nServer: fake-switchboard\r\nContent-Length: 0\r\n\r\n");
    Some(reply)
}
