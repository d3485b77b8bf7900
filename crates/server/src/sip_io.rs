//! SIP transports: UDP sockets and TCP listeners on the same ports. Reader
//! tasks turn datagrams and framed stream messages into [`Inbound`] items
//! for the core loop; [`Transports::send`] carries out the endpoint's
//! transmits (UDP from the listening socket, TCP on the connection the
//! peer opened, or a new connection when it is gone).

use sip::endpoint::{ConnId, Peer, Transmit, Transport};
use sip::framing::{Frame, StreamFramer};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;

/// Something that arrived on a SIP transport.
#[derive(Debug)]
pub enum Inbound {
    /// One datagram or one framed stream message.
    Message {
        /// Who sent it, and over what.
        from: Peer,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// A TCP connection opened (accepted, or connected by us); `writer` sends on it.
    Opened {
        /// The connection.
        conn: ConnId,
        /// The peer's address.
        addr: SocketAddr,
        /// Bytes sent here are written to the connection in order.
        writer: mpsc::UnboundedSender<Vec<u8>>,
    },
    /// A TCP connection closed.
    Closed {
        /// The connection.
        conn: ConnId,
    },
}

/// The bound SIP sockets.
pub struct Listeners {
    /// UDP sockets, one per `--sip-listen` address.
    pub udp: Vec<Arc<UdpSocket>>,
    /// TCP listeners on the same addresses.
    pub tcp: Vec<TcpListener>,
}

impl Listeners {
    /// Binds UDP and TCP on every address.
    pub async fn bind(addrs: &[SocketAddr]) -> std::io::Result<Listeners> {
        let mut udp = Vec::new();
        let mut tcp = Vec::new();
        for addr in addrs {
            let u = UdpSocket::bind(addr).await.map_err(|e| {
                std::io::Error::new(e.kind(), format!("cannot bind SIP UDP {addr}: {e}"))
            })?;
            let port_addr = u.local_addr()?;
            let t = TcpListener::bind(port_addr).await.map_err(|e| {
                std::io::Error::new(e.kind(), format!("cannot bind SIP TCP {port_addr}: {e}"))
            })?;
            udp.push(Arc::new(u));
            tcp.push(t);
        }
        Ok(Listeners { udp, tcp })
    }

    /// The bound addresses (with real ports when port 0 was asked for).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.udp
            .iter()
            .filter_map(|u| u.local_addr().ok())
            .collect()
    }
}

/// Sends the endpoint's transmits.
pub struct Transports {
    udp: Vec<Arc<UdpSocket>>,
    conns: HashMap<u64, (SocketAddr, mpsc::UnboundedSender<Vec<u8>>)>,
    inbound: mpsc::Sender<Inbound>,
    next_conn: Arc<AtomicU64>,
}

/// The largest SIP datagram we read.
const MAX_DATAGRAM: usize = 65_535;

impl Transports {
    /// Starts reader tasks for every listener; inbound items go to `inbound`.
    pub fn start(listeners: Listeners, inbound: mpsc::Sender<Inbound>) -> Transports {
        let next_conn = Arc::new(AtomicU64::new(1));
        for sock in &listeners.udp {
            let sock = sock.clone();
            let tx = inbound.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; MAX_DATAGRAM];
                loop {
                    match sock.recv_from(&mut buf).await {
                        Ok((n, from)) => {
                            // A lone CRLF keep-alive on UDP needs no answer.
                            if buf[..n].iter().all(|b| *b == b'\r' || *b == b'\n') {
                                continue;
                            }
                            let msg = Inbound::Message {
                                from: Peer {
                                    transport: Transport::Udp,
                                    addr: from,
                                    conn: None,
                                },
                                bytes: buf[..n].to_vec(),
                            };
                            if tx.send(msg).await.is_err() {
                                return;
                            }
                        }
                        Err(e) => {
                            // ICMP port unreachable surfaces here on Linux; keep serving.
                            tracing::debug!(error = %e, "UDP receive error");
                        }
                    }
                }
            });
        }
        for listener in listeners.tcp {
            let tx = inbound.clone();
            let ids = next_conn.clone();
            tokio::spawn(async move {
                loop {
                    match listener.accept().await {
                        Ok((stream, addr)) => {
                            let conn = ConnId(ids.fetch_add(1, Ordering::Relaxed));
                            spawn_connection(stream, addr, conn, tx.clone());
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "TCP accept failed");
                            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        }
                    }
                }
            });
        }
        Transports {
            udp: listeners.udp,
            conns: HashMap::new(),
            inbound,
            next_conn,
        }
    }

    /// Records a connection that opened.
    pub fn opened(
        &mut self,
        conn: ConnId,
        addr: SocketAddr,
        writer: mpsc::UnboundedSender<Vec<u8>>,
    ) {
        self.conns.insert(conn.0, (addr, writer));
    }

    /// Forgets a connection that closed.
    pub fn closed(&mut self, conn: ConnId) {
        self.conns.remove(&conn.0);
    }

    /// Sends one transmit; failures are logged, never fatal.
    pub fn send(&mut self, t: Transmit) {
        match t.to.transport {
            Transport::Udp => {
                let sock = self
                    .udp
                    .iter()
                    .find(|s| {
                        s.local_addr()
                            .is_ok_and(|a| a.is_ipv4() == t.to.addr.is_ipv4())
                    })
                    .or(self.udp.first());
                if let Some(sock) = sock
                    && let Err(e) = sock.try_send_to(&t.bytes, t.to.addr)
                {
                    tracing::debug!(to = %t.to.addr, error = %e, "UDP send failed");
                }
            }
            Transport::Tcp => {
                let by_id =
                    t.to.conn
                        .and_then(|c| self.conns.get(&c.0))
                        .map(|(_, w)| w.clone());
                let writer = by_id.or_else(|| {
                    self.conns
                        .values()
                        .find(|(a, _)| *a == t.to.addr)
                        .map(|(_, w)| w.clone())
                });
                match writer {
                    Some(w) if w.send(t.bytes.clone()).is_ok() => {}
                    _ => self.connect_and_send(t.to.addr, t.bytes),
                }
            }
        }
    }

    fn connect_and_send(&mut self, addr: SocketAddr, bytes: Vec<u8>) {
        let conn = ConnId(self.next_conn.fetch_add(1, Ordering::Relaxed));
        let tx = self.inbound.clone();
        tokio::spawn(async move {
            let connect =
                tokio::time::timeout(std::time::Duration::from_secs(5), TcpStream::connect(addr));
            match connect.await {
                Ok(Ok(stream)) => {
                    let writer = spawn_connection(stream, addr, conn, tx);
                    let _ = writer.send(bytes);
                }
                Ok(Err(e)) => tracing::info!(to = %addr, error = %e, "TCP connect failed"),
                Err(_) => tracing::info!(to = %addr, "TCP connect timed out"),
            }
        });
    }
}

/// Runs a TCP connection: a reader that frames messages and answers
/// keep-alive pings, and a writer fed by the returned sender.
fn spawn_connection(
    stream: TcpStream,
    addr: SocketAddr,
    conn: ConnId,
    inbound: mpsc::Sender<Inbound>,
) -> mpsc::UnboundedSender<Vec<u8>> {
    let (mut rd, mut wr) = stream.into_split();
    let (wtx, mut wrx) = mpsc::unbounded_channel::<Vec<u8>>();
    let pong = wtx.clone();
    tokio::spawn(async move {
        while let Some(bytes) = wrx.recv().await {
            if wr.write_all(&bytes).await.is_err() {
                break;
            }
        }
    });
    let opened = Inbound::Opened {
        conn,
        addr,
        writer: wtx.clone(),
    };
    tokio::spawn(async move {
        if inbound.send(opened).await.is_err() {
            return;
        }
        let mut framer = StreamFramer::new();
        let mut buf = vec![0u8; 16 * 1024];
        'read: loop {
            let n = match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            framer.push(&buf[..n]);
            loop {
                match framer.next_frame() {
                    Ok(Some(Frame::Message(bytes))) => {
                        let from = Peer {
                            transport: Transport::Tcp,
                            addr,
                            conn: Some(conn),
                        };
                        if inbound
                            .send(Inbound::Message { from, bytes })
                            .await
                            .is_err()
                        {
                            break 'read;
                        }
                    }
                    Ok(Some(Frame::Ping)) => {
                        let _ = pong.send(b"\r\n".to_vec());
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::info!(peer = %addr, error = %e, "closing TCP connection that cannot be framed");
                        break 'read;
                    }
                }
            }
        }
        let _ = inbound.send(Inbound::Closed { conn }).await;
    });
    wtx
}
