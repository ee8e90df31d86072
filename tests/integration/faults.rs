//! Server faults the real OpenBao cannot produce on demand, from a small fault-injecting HTTP
//! proxy in front of it: the first requests get a fault, the rest are forwarded.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::json;

use crate::server::server;
use crate::test::Test;

#[derive(Clone)]
pub enum Fault {
    /// Answer with this status, extra headers and body.
    Answer(u16, &'static str, &'static str),
    /// Close the connection without answering.
    Drop,
    /// Answer 200 with a chunked body that never ends.
    Endless,
}

pub struct Proxy {
    pub addr: String,
    /// Every request seen: its line, whether it carried a Vault token, and whether it carried
    /// `X-Vault-Request: true`.
    pub seen: Arc<Mutex<Vec<(String, bool, bool)>>>,
}

/// A proxy that forwards everything but first calls `hook` with each request line.
pub fn proxy_with_hook(upstream: &str, hook: impl Fn(&str) + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("http://{}", listener.local_addr().unwrap());
    let upstream = upstream.to_owned();
    let hook = Arc::new(hook);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (upstream, hook) = (upstream.clone(), hook.clone());
            std::thread::spawn(move || {
                let seen = Mutex::new(Vec::new());
                serve(stream, &upstream, &[], &AtomicUsize::new(0), &seen, &*hook)
            });
        }
    });
    addr
}

/// Start a proxy to `upstream` whose first `faults.len()` requests get those faults.
pub fn proxy(upstream: &str, faults: Vec<Fault>) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let faults = Arc::new(faults);
    let upstream = upstream.to_owned();
    let seen2 = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (faults, count, seen, upstream) = (
                faults.clone(),
                count.clone(),
                seen2.clone(),
                upstream.clone(),
            );
            std::thread::spawn(move || serve(stream, &upstream, &faults, &count, &seen, &|_| {}));
        }
    });
    Proxy { addr, seen }
}

fn serve(
    stream: TcpStream,
    upstream: &str,
    faults: &[Fault],
    count: &AtomicUsize,
    seen: &Mutex<Vec<(String, bool, bool)>>,
    hook: &dyn Fn(&str),
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
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
        let token = headers.iter().any(|(k, _)| k == "x-vault-token");
        let marked = headers
            .iter()
            .any(|(k, v)| k == "x-vault-request" && v == "true");
        seen.lock()
            .unwrap()
            .push((request_line.trim_end().to_owned(), token, marked));
        hook(request_line.trim_end());
        let n = count.fetch_add(1, Ordering::SeqCst);
        let mut parts = request_line.split_whitespace();
        let (method, target) = (parts.next().unwrap_or("GET"), parts.next().unwrap_or("/"));
        let response = match faults.get(n) {
            Some(Fault::Drop) => return,
            Some(Fault::Endless) => {
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
                if out.write_all(head.as_bytes()).is_err() {
                    return;
                }
                let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, " ".repeat(64 * 1024));
                // Until kvenv hangs up (or 4 GiB, so a broken test cannot run forever).
                for _ in 0..65_536 {
                    if out.write_all(chunk.as_bytes()).is_err() {
                        return;
                    }
                }
                return;
            }
            Some(Fault::Answer(status, extra, body)) => format!(
                "HTTP/1.1 {status} Fault\r\n{extra}Content-Length: {}\r\n\r\n{body}",
                body.len()
            ),
            None => {
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

const HEADER: &str =
    "# Generated by kvenv from secrets.toml. Do not edit: run `kvenv sync` to update.\n";

/// A v2 secret at `@/kv/app`, and a manifest that declares the mount (so the only request is
/// the read, and fault counts are easy to reason about).
fn app(p: &Proxy) -> Test {
    Test::new()
        .kv2("kv")
        .secret("kv/app", json!({"A": "CANARY-through-faults"}))
        .manifest("[vault]\nkv_version = { \"@/kv\" = 2 }\n[secrets]\nA = \"@/kv/app\"\n")
        .env("VAULT_ADDR", &p.addr)
        .write(".env", "OLD='kept'\n")
}

fn reads(p: &Proxy) -> usize {
    p.seen.lock().unwrap().len()
}

#[test]
fn retries_503_429_502_html_and_dropped_connections() {
    let faults = vec![
        Fault::Answer(503, "", r#"{"errors":["Vault is sealed"]}"#),
        Fault::Answer(
            429,
            "Retry-After: 1\r\n",
            r#"{"errors":["rate limit quota exceeded"]}"#,
        ),
        Fault::Drop,
        Fault::Answer(
            502,
            "Content-Type: text/html\r\n",
            "<html><body>Bad Gateway</body></html>",
        ),
    ];
    let p = proxy(&server().addr, faults);
    app(&p)
        .args(["sync", "-q"])
        .stderr("")
        .file(".env", &format!("{HEADER}A='CANARY-through-faults'\n"))
        .run();
    assert_eq!(reads(&p), 5);
}

#[test]
fn leadership_lost_500_is_retried_other_500s_are_not() {
    let p = proxy(
        &server().addr,
        vec![Fault::Answer(
            500,
            "",
            r#"{"errors":["1 error occurred:\n\t* leadership lost while committing log\n\n"]}"#,
        )],
    );
    app(&p).args(["sync", "-q"]).stderr("").run();
    assert_eq!(reads(&p), 2);

    let p = proxy(
        &server().addr,
        vec![Fault::Answer(
            500,
            "",
            r#"{"errors":["1 error occurred:\n\t* could not find version data\n\n"]}"#,
        )],
    );
    app(&p)
        .args(["sync"])
        .status(5)
        .stderr("kvenv: error: A (secrets.toml:4): @/kv/app: Vault answered HTTP 500: could not find version data\n")
        .file(".env", "OLD='kept'\n")
        .run();
    assert_eq!(reads(&p), 1);
}

#[test]
fn a_400_is_not_retried() {
    let p = proxy(
        &server().addr,
        vec![Fault::Answer(400, "", r#"{"errors":["bad request"]}"#)],
    );
    // A 400 says the request was wrong: not "unreachable" (5), and not retried.
    app(&p)
        .args(["sync"])
        .status(2)
        .stderr(
            "kvenv: error: A (secrets.toml:4): @/kv/app: Vault answered HTTP 400: bad request\n",
        )
        .file(".env", "OLD='kept'\n")
        .run();
    assert_eq!(reads(&p), 1);
}

#[test]
fn a_server_that_keeps_failing() {
    let p = proxy(
        &server().addr,
        vec![Fault::Answer(503, "", r#"{"errors":["Vault is sealed"]}"#); 20],
    );
    let ran = app(&p)
        .args(["sync"])
        .status(5)
        .file(".env", "OLD='kept'\n")
        .run();
    assert_eq!(
        ran.stderr,
        format!(
            "kvenv: error: Vault at {} is sealed; unseal it (`bao operator unseal`) and run again\n",
            p.addr
        )
    );
    assert_eq!(reads(&p), 5, "one try and four retries");
}

#[test]
fn redirects_to_another_host_do_not_carry_the_token() {
    // The "other host" is another loopback address with a listener that records requests.
    let other = TcpListener::bind("127.0.0.2:0").unwrap();
    let other_addr = other.local_addr().unwrap();
    other.set_nonblocking(true).unwrap();
    let location = leak(format!("Location: http://{other_addr}/v1/stolen\r\n"));
    let p = proxy(&server().addr, vec![Fault::Answer(307, location, "")]);
    app(&p)
        .args(["sync"])
        .status(5)
        .stderr(&format!("kvenv: error: A (secrets.toml:4): @/kv/app: Vault redirected to http://{other_addr}/v1/stolen, another scheme, host or port; kvenv does not send the token there\n"))
        .file(".env", "OLD='kept'\n")
        .run();
    assert!(other.accept().is_err(), "kvenv connected to the other host");
}

#[test]
fn redirects_to_another_port_are_refused_and_same_origin_ones_followed() {
    // An absolute Location to another port on the same host is another origin.
    let other = proxy(&server().addr, Vec::new());
    let t = Test::new();
    let path = t.expand("@/kv/data/app");
    drop(t);
    let location = leak(format!("Location: {}/v1/{path}\r\n", other.addr));
    let p = proxy(&server().addr, vec![Fault::Answer(307, location, "")]);
    app(&p)
        .args(["sync"])
        .status(5)
        .stderr_contains("another scheme, host or port; kvenv does not send the token there")
        .run();
    assert_eq!(reads(&other), 0);

    // A relative Location on the same origin is followed, with the token.
    let first = proxy(&server().addr, Vec::new());
    let t = app(&first);
    let rel = leak(format!("Location: /v1/{}\r\n", t.expand("@/kv/data/app")));
    let p = proxy(&server().addr, vec![Fault::Answer(307, rel, "")]);
    t.env("VAULT_ADDR", &p.addr)
        .args(["sync", "-q"])
        .stderr("")
        .file(".env", &format!("{HEADER}A='CANARY-through-faults'\n"))
        .run();
    let seen = p.seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|(_, token, _)| *token));
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

#[test]
fn a_wrong_json_shape_is_a_clear_error() {
    let p = proxy(
        &server().addr,
        vec![Fault::Answer(200, "", r#"{"data":"not an object"}"#)],
    );
    app(&p)
        .args(["sync"])
        .status(5)
        .stderr_contains("@/kv/app: unexpected answer from Vault: the answer for ")
        .file(".env", "OLD='kept'\n")
        .run();
    let p = proxy(
        &server().addr,
        vec![Fault::Answer(200, "", r#"{"data":{"da"#)],
    );
    app(&p)
        .args(["sync"])
        .status(5)
        .stderr("kvenv: error: A (secrets.toml:4): @/kv/app: unexpected answer from Vault: HTTP 200 with a body that is not JSON\n")
        .run();
}

#[test]
fn every_request_is_marked_and_warnings_are_shown() {
    let body = r#"{"data":{"data":{"A":"CANARY-warned"},"metadata":{"version":1}},"warnings":["Endpoint ignored these unrecognized parameters: [x]"]}"#;
    let p = proxy(&server().addr, vec![Fault::Answer(200, "", body)]);
    app(&p)
        .args(["sync", "-q"])
        .stderr("kvenv: warning: Vault: @/kv/app: Endpoint ignored these unrecognized parameters: [x]\n")
        .file(".env", &format!("{HEADER}A='CANARY-warned'\n"))
        .run();
    // Through a proxy that forwards, with mount detection and a login-free token: every request
    // carries X-Vault-Request: true (Vault Agent and bao proxy refuse requests without it).
    let p = proxy(&server().addr, Vec::new());
    app(&p)
        .manifest("[secrets]\nA = \"@/kv/app\"\nB = { path = \"@/kv/nope\", optional = true }\n")
        .args(["sync", "-q"])
        .stderr("")
        .run();
    let seen = p.seen.lock().unwrap();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(
        seen.iter().all(|(_, token, marked)| *token && *marked),
        "{seen:?}"
    );
}

#[test]
fn once_the_server_is_down_the_other_reads_do_not_wait_for_it() {
    let p = proxy(
        &server().addr,
        vec![Fault::Answer(503, "", r#"{"errors":["Vault is sealed"]}"#); 500],
    );
    let mut manifest = String::from("[vault]\nkv_version = { \"@/kv\" = 2 }\n[secrets]\n");
    for i in 0..30 {
        manifest.push_str(&format!("V{i} = \"@/kv/app#A\"\nW{i} = \"@/kv/s{i}\"\n"));
    }
    let ran = app(&p)
        .manifest(&manifest)
        .args(["sync", "--concurrency", "2"])
        .status(5)
        .stderr_contains("is sealed; unseal it")
        .file(".env", "OLD='kept'\n")
        .run();
    assert!(
        ran.stderr
            .starts_with(&format!("kvenv: error: Vault at {} is sealed", p.addr)),
        "{}",
        ran.stderr
    );
    // Two reads in flight when the server went down, each with one try and four retries; the
    // other 29 paths were not asked.
    assert!(reads(&p) <= 10, "{} requests", reads(&p));
}

#[test]
fn an_endless_body_is_cut_off_and_reported() {
    let p = proxy(&server().addr, vec![Fault::Endless, Fault::Endless]);
    app(&p)
        .args(["sync", "--max-response", "1MiB"])
        .status(5)
        .stderr("kvenv: error: A (secrets.toml:4): @/kv/app: Vault's answer is larger than 1 MiB, the most kvenv accepts; raise --max-response if the secret really is that large\n")
        .file(".env", "OLD='kept'\n")
        .run();
    // Not retried: a server that sends too much will send too much again.
    assert_eq!(reads(&p), 1);
    // The default bound (64 MiB) holds too.
    app(&p)
        .args(["sync"])
        .status(5)
        .stderr_contains("Vault's answer is larger than 64 MiB")
        .run();
}

#[test]
fn a_retry_after_beyond_the_deadline_fails_at_once_with_the_status() {
    let p = proxy(
        &server().addr,
        vec![Fault::Answer(
            429,
            "Retry-After: 3600\r\n",
            r#"{"errors":["rate limit quota exceeded"]}"#,
        )],
    );
    // Not "no answer within 30s" after sleeping to the deadline: the server's own answer.
    app(&p)
        .args(["sync", "--timeout", "30s"])
        .status(5)
        .stderr("kvenv: error: Vault answered HTTP 429: rate limit quota exceeded\n")
        .file(".env", "OLD='kept'\n")
        .run();
    assert_eq!(reads(&p), 1);
}

#[test]
fn warnings_cannot_drive_the_terminal() {
    let body = r#"{"data":{"data":{"A":"CANARY-warned"},"metadata":{"version":1}},"warnings":["\u001b[2J\u001b]0;pwned\u0007evil\nsecond line\r"]}"#;
    let p = proxy(
        &server().addr,
        vec![Fault::Answer(
            200,
            "Content-Type: application/json\r\n",
            body,
        )],
    );
    let ran = app(&p)
        .args(["sync", "-q"])
        .stderr("kvenv: warning: Vault: @/kv/app:  [2J ]0;pwned evil second line\n")
        .run();
    assert!(!ran.stderr.contains('\u{1b}'));
}

#[test]
fn a_401_is_an_authentication_failure() {
    let p = proxy(
        &server().addr,
        vec![Fault::Answer(401, "", r#"{"errors":["unauthorized"]}"#)],
    );
    app(&p)
        .args(["sync"])
        .status(3)
        .stderr("kvenv: error: Vault answered HTTP 401: unauthorized\n")
        .file(".env", "OLD='kept'\n")
        .run();
}

/// A listener that records every connection and answers nothing useful: a proxy that must not
/// be used.
fn recording_listener() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (addr, count)
}

#[test]
fn a_loopback_vault_is_never_reached_through_a_proxy() {
    let (proxy_addr, connections) = recording_listener();
    for (var, host) in [
        ("HTTP_PROXY", "127.0.0.1"),
        ("http_proxy", "localhost"),
        ("ALL_PROXY", "127.0.0.1"),
    ] {
        let addr = server().addr.replace("127.0.0.1", host);
        Test::new()
            .kv1("kv")
            .secret("kv/app", json!({"A": "CANARY-not-for-the-proxy"}))
            .manifest("[secrets]\nA = \"@/kv/app\"\n")
            .env("VAULT_ADDR", &addr)
            .env(var, &proxy_addr)
            .args(["sync", "-q"])
            .stderr("")
            .run();
    }
    assert_eq!(connections.load(Ordering::SeqCst), 0, "the proxy was used");
}
