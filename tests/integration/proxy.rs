//! The one fault-injecting server of the tests (integration and robustness): what the real
//! OpenBao cannot do on demand.
//!
//! Two ways to run it, one type ([`Proxy`]):
//! - **HTTP** ([`Proxy::forward`], [`Proxy::answering`]): it reads each request and logs it
//!   ([`Request`]: its line, its head, whether it carried a token and `X-Vault-Request: true`);
//!   the first requests get the given [`Fault`]s in order, the rest are forwarded to the
//!   upstream server, or all get one fault when there is no upstream.
//! - **TCP relay** ([`Proxy::relay`]): bytes pass through unchanged both ways (TLS too), each
//!   chunk delayed as asked; it counts the client chunks it forwarded (about one per request on a
//!   keep-alive connection), and a closed gate ([`Proxy::close`]) holds every client chunk until
//!   [`Proxy::open`], so that many runs get their answers at the same moment.
//!
//! Both count connections ([`Proxy::connections`], exact once a run is over). The listener
//! stops accepting when the value drops.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// What the server does with one request.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Send these bytes (a whole answer, or one cut short), then wait for the next request on
    /// the connection, or hang up if `close`.
    Raw { bytes: String, close: bool },
    /// Hang up without answering.
    Drop,
    /// Answer 200 with a chunked body that never ends (until the client hangs up, or 4 GiB).
    Endless,
    /// Never answer; hold the connection, reading, until the client leaves.
    Silent,
}

impl Fault {
    /// A whole answer: the status, extra header lines (each ending in `\r\n`), the body.
    pub fn answer(status: u16, headers: &str, body: &str) -> Fault {
        Fault::Raw {
            bytes: format!(
                "HTTP/1.1 {status} Fault\r\n{headers}Content-Length: {}\r\n\r\n{body}",
                body.len()
            ),
            close: false,
        }
    }
}

/// One request the HTTP server read.
#[derive(Clone, Debug)]
pub struct Request {
    /// `GET /v1/... HTTP/1.1`.
    pub line: String,
    /// The request line and the header lines, as received.
    pub head: String,
    /// It carried `X-Vault-Token`.
    pub token: bool,
    /// It carried `X-Vault-Request: true`.
    pub marked: bool,
}

type Hook = Arc<dyn Fn(&str) + Send + Sync>;

enum Mode {
    Http {
        upstream: Option<String>,
        faults: Vec<Fault>,
        otherwise: Option<Fault>,
        hook: Option<Hook>,
        /// Requests with this method get this fault, whatever their place.
        by_method: Vec<(String, Fault)>,
    },
    Relay {
        upstream: String,
        delay: Duration,
        delay_back: Duration,
    },
}

/// A [`Proxy`] being set up.
#[must_use = "start() starts it"]
pub struct Builder {
    mode: Mode,
    host: String,
}

#[derive(Default)]
struct Shared {
    requests: Mutex<Vec<Request>>,
    answered: AtomicUsize,
    /// The peer port of every connection accepted, in order.
    accepted: Mutex<Vec<u16>>,
    accepted_changed: Condvar,
    markers: AtomicUsize,
    chunks: AtomicUsize,
    held: AtomicUsize,
    /// While set, every request gets this fault instead of its rule ([`Proxy::outage`]).
    outage: Mutex<Option<Fault>>,
    /// `true` while the gate is open.
    gate: Mutex<bool>,
    gate_changed: Condvar,
    stop: AtomicBool,
}

/// A running fault server or relay.
pub struct Proxy {
    /// `http://127.0.0.1:PORT` (`https://` for a relay to an HTTPS server).
    pub addr: String,
    local: String,
    shared: Arc<Shared>,
}

impl Proxy {
    /// An HTTP proxy to `upstream` (`http://host:port`): faults first, if any, then forwarding.
    pub fn forward(upstream: &str) -> Builder {
        Builder::new(Mode::Http {
            upstream: Some(upstream.trim_end_matches('/').to_owned()),
            faults: Vec::new(),
            otherwise: None,
            hook: None,
            by_method: Vec::new(),
        })
    }

    /// An HTTP server with no upstream: faults first, if any, then `fault` for every request.
    pub fn answering(fault: Fault) -> Builder {
        Builder::new(Mode::Http {
            upstream: None,
            faults: Vec::new(),
            otherwise: Some(fault),
            hook: None,
            by_method: Vec::new(),
        })
    }

    /// A TCP relay to `upstream` (`http://` or `https://host:port`).
    pub fn relay(upstream: &str) -> Builder {
        Builder::new(Mode::Relay {
            upstream: upstream.trim_end_matches('/').to_owned(),
            delay: Duration::ZERO,
            delay_back: Duration::ZERO,
        })
    }

    /// Every request read so far (HTTP), in order.
    pub fn requests(&self) -> Vec<Request> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Connections accepted so far. Exact: connections are accepted in order, so once a marker
    /// connection made now has been accepted, every earlier one has been counted.
    pub fn connections(&self) -> usize {
        let markers = self.shared.markers.fetch_add(1, Ordering::SeqCst) + 1;
        let marker = TcpStream::connect(&self.local).unwrap();
        let port = marker.local_addr().unwrap().port();
        let mut accepted = self.shared.accepted.lock().unwrap();
        while !accepted.contains(&port) {
            accepted = self
                .shared
                .accepted_changed
                .wait_timeout(accepted, Duration::from_secs(10))
                .unwrap()
                .0;
        }
        accepted.len() - markers
    }

    /// Client chunks forwarded so far (relay).
    pub fn chunks(&self) -> usize {
        self.shared.chunks.load(Ordering::SeqCst)
    }

    /// Client chunks held at the closed gate right now (relay).
    pub fn held(&self) -> usize {
        self.shared.held.load(Ordering::SeqCst)
    }

    /// From now on, answer every request with `fault` (an outage) until called with `None`
    /// (HTTP).
    pub fn outage(&self, fault: Option<Fault>) {
        *self.shared.outage.lock().unwrap() = fault;
    }

    /// Hold every client chunk from now on until [`Proxy::open`] (relay).
    pub fn close(&self) {
        *self.shared.gate.lock().unwrap() = false;
    }

    pub fn open(&self) {
        *self.shared.gate.lock().unwrap() = true;
        self.shared.gate_changed.notify_all();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.open();
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(&self.local);
    }
}

impl Builder {
    fn new(mode: Mode) -> Builder {
        Builder {
            mode,
            host: "127.0.0.1".into(),
        }
    }

    /// The first requests get these faults, in order (HTTP).
    pub fn faults(mut self, list: Vec<Fault>) -> Builder {
        if let Mode::Http { faults, .. } = &mut self.mode {
            *faults = list;
        }
        self
    }

    /// Every request with this method (`SCAN`, say) gets `fault`, and is not counted among
    /// the first requests that get [`Builder::faults`] (HTTP).
    pub fn method_fault(mut self, method: &str, fault: Fault) -> Builder {
        if let Mode::Http { by_method, .. } = &mut self.mode {
            by_method.push((method.to_owned(), fault));
        }
        self
    }

    /// Call `hook` with each request line before answering it (HTTP).
    pub fn on_request(mut self, f: impl Fn(&str) + Send + Sync + 'static) -> Builder {
        if let Mode::Http { hook, .. } = &mut self.mode {
            *hook = Some(Arc::new(f));
        }
        self
    }

    /// Delay every client chunk by `d` before passing it on (relay).
    pub fn delay(mut self, d: Duration) -> Builder {
        if let Mode::Relay { delay, .. } = &mut self.mode {
            *delay = d;
        }
        self
    }

    /// Delay every server chunk by `d` too (relay).
    pub fn delay_back(mut self, d: Duration) -> Builder {
        if let Mode::Relay { delay_back, .. } = &mut self.mode {
            *delay_back = d;
        }
        self
    }

    /// Listen on this loopback address instead of 127.0.0.1.
    pub fn host(mut self, host: &str) -> Builder {
        self.host = host.to_owned();
        self
    }

    pub fn start(self) -> Proxy {
        let listener = TcpListener::bind(format!("{}:0", self.host)).unwrap();
        let local = listener.local_addr().unwrap().to_string();
        let scheme = match &self.mode {
            Mode::Relay { upstream, .. } if upstream.starts_with("https://") => "https",
            _ => "http",
        };
        let shared = Arc::new(Shared {
            gate: Mutex::new(true),
            ..Shared::default()
        });
        let proxy = Proxy {
            addr: format!("{scheme}://{local}"),
            local,
            shared: shared.clone(),
        };
        let mode = Arc::new(self.mode);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if shared.stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let peer = stream.peer_addr().map(|a| a.port()).unwrap_or(0);
                shared.accepted.lock().unwrap().push(peer);
                shared.accepted_changed.notify_all();
                let (mode, shared) = (mode.clone(), shared.clone());
                std::thread::spawn(move || match &*mode {
                    Mode::Http {
                        upstream,
                        faults,
                        otherwise,
                        hook,
                        by_method,
                    } => serve(
                        stream,
                        upstream.as_deref(),
                        Rules {
                            faults,
                            otherwise: otherwise.as_ref(),
                            by_method,
                        },
                        hook.as_ref(),
                        &shared,
                    ),
                    Mode::Relay {
                        upstream,
                        delay,
                        delay_back,
                    } => relay(stream, upstream, *delay, *delay_back, shared),
                });
            }
        });
        proxy
    }
}

/// Which requests get which fault.
struct Rules<'a> {
    faults: &'a [Fault],
    otherwise: Option<&'a Fault>,
    by_method: &'a [(String, Fault)],
}

fn serve(
    stream: TcpStream,
    upstream: Option<&str>,
    rules: Rules,
    hook: Option<&Hook>,
    shared: &Shared,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    loop {
        let mut head = String::new();
        if reader.read_line(&mut head).unwrap_or(0) == 0 {
            return;
        }
        let request_line = head.trim_end().to_owned();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            head.push_str(&line);
            if let Some((k, v)) = line.trim_end().split_once(':') {
                headers.push((k.trim().to_lowercase(), v.trim().to_owned()));
            }
        }
        let length: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        shared.requests.lock().unwrap().push(Request {
            line: request_line.clone(),
            head,
            token: headers.iter().any(|(k, _)| k == "x-vault-token"),
            marked: headers
                .iter()
                .any(|(k, v)| k == "x-vault-request" && v == "true"),
        });
        if let Some(hook) = hook {
            hook(&request_line);
        }
        let method = request_line.split_whitespace().next().unwrap_or("");
        let outage = shared.outage.lock().unwrap().clone();
        let fault = match rules.by_method.iter().find(|(m, _)| m == method) {
            _ if outage.is_some() => outage.as_ref(),
            Some((_, f)) => Some(f),
            None => {
                let n = shared.answered.fetch_add(1, Ordering::SeqCst);
                rules.faults.get(n).or(rules.otherwise)
            }
        };
        let response = match fault {
            Some(Fault::Drop) => return,
            Some(Fault::Silent) => {
                let mut sink = [0u8; 4096];
                while matches!(reader.read(&mut sink), Ok(n) if n > 0) {}
                return;
            }
            Some(Fault::Endless) => {
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
                if out.write_all(head.as_bytes()).is_err() {
                    return;
                }
                let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, " ".repeat(64 * 1024));
                for _ in 0..65_536 {
                    if out.write_all(chunk.as_bytes()).is_err() {
                        return;
                    }
                }
                return;
            }
            Some(Fault::Raw { bytes, close }) => {
                if out.write_all(bytes.as_bytes()).is_err() || *close {
                    return;
                }
                continue;
            }
            None => {
                let Some(upstream) = upstream else { return };
                let mut parts = request_line.split_whitespace();
                let (method, target) = (parts.next().unwrap_or("GET"), parts.next().unwrap_or("/"));
                let mut req = http.request(
                    reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                    format!("{upstream}{target}"),
                );
                for (k, v) in &headers {
                    if k.starts_with("x-vault") || k == "content-type" {
                        req = req.header(k, v);
                    }
                }
                let resp = req.body(body).send().unwrap();
                let status = resp.status().as_u16();
                let text = resp.text().unwrap_or_default();
                format!(
                    "HTTP/1.1 {status} Upstream\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{text}",
                    text.len()
                )
            }
        };
        if out.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

fn relay(
    client: TcpStream,
    upstream: &str,
    delay: Duration,
    delay_back: Duration,
    shared: Arc<Shared>,
) {
    let target = upstream
        .trim_start_matches("http://")
        .trim_start_matches("https://");
    let Ok(server) = TcpStream::connect(target) else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    std::thread::spawn(move || pipe(s2, c2, delay_back, None));
    pipe(client, server, delay, Some(&shared));
}

/// Copy `from` to `to`, each chunk after `delay`; for client chunks, wait at a closed gate and
/// count what was forwarded.
fn pipe(mut from: TcpStream, mut to: TcpStream, delay: Duration, client: Option<&Shared>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some(shared) = client {
            let mut open = shared.gate.lock().unwrap();
            if !*open {
                shared.held.fetch_add(1, Ordering::SeqCst);
                while !*open {
                    open = shared.gate_changed.wait(open).unwrap();
                }
                shared.held.fetch_sub(1, Ordering::SeqCst);
            }
        }
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        if let Some(shared) = client {
            shared.chunks.fetch_add(1, Ordering::SeqCst);
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}
