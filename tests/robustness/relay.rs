//! A slow TCP relay in front of a server: every chunk the client sends waits `delay` before it
//! is passed on, so a run's fetch lasts long enough for a kill to land in it. Bytes pass through
//! unchanged both ways; the relay counts what it forwarded, so a test can tell whether a run
//! reached the network and can act when a run is half-way through its reads. A closed gate holds
//! every request until the test opens it, so that many runs get their answers at the same moment.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

pub struct Relay {
    /// `http://127.0.0.1:PORT`.
    pub addr: String,
    /// Client chunks forwarded so far (about one per HTTP request on a keep-alive connection).
    pub chunks: Arc<AtomicUsize>,
    /// Client chunks held at the closed gate right now.
    pub held: Arc<AtomicUsize>,
    gate: Arc<(Mutex<bool>, Condvar)>,
    stop: Arc<AtomicBool>,
}

impl Relay {
    /// Relay to `upstream` (`http://host:port`), delaying each client chunk by `delay`.
    pub fn start(upstream: &str, delay: Duration) -> Relay {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = format!("http://{}", listener.local_addr().unwrap());
        let chunks = Arc::new(AtomicUsize::new(0));
        let held = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new((Mutex::new(true), Condvar::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (chunks2, held2, gate2, stop2) =
            (chunks.clone(), held.clone(), gate.clone(), stop.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stop2.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let counters = (chunks2.clone(), held2.clone(), gate2.clone());
                std::thread::spawn(move || pipe(client, server, delay, Some(&counters)));
                std::thread::spawn(move || pipe(s2, c2, Duration::ZERO, None));
            }
        });
        Relay {
            addr,
            chunks,
            held,
            gate,
            stop,
        }
    }

    /// Hold every request from now on until [`Relay::open`].
    pub fn close(&self) {
        *self.gate.0.lock().unwrap() = false;
    }

    pub fn open(&self) {
        *self.gate.0.lock().unwrap() = true;
        self.gate.1.notify_all();
    }

    pub fn chunks(&self) -> usize {
        self.chunks.load(Ordering::SeqCst)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr.trim_start_matches("http://"));
    }
}

type Counters = (
    Arc<AtomicUsize>,
    Arc<AtomicUsize>,
    Arc<(Mutex<bool>, Condvar)>,
);

fn pipe(mut from: TcpStream, mut to: TcpStream, delay: Duration, counters: Option<&Counters>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some((_, held, gate)) = counters {
            let mut open = gate.0.lock().unwrap();
            if !*open {
                held.fetch_add(1, Ordering::SeqCst);
                while !*open {
                    open = gate.1.wait(open).unwrap();
                }
                held.fetch_sub(1, Ordering::SeqCst);
            }
        }
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        if let Some((chunks, _, _)) = counters {
            chunks.fetch_add(1, Ordering::SeqCst);
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}
