//! One HTTP client per run: the headers every request carries, retries, and redirect safety.
//!
//! Why it looks the way it does:
//! - **One `reqwest::Client`** for the whole run, so reads share keep-alive connections (and
//!   one HTTP/2 connection over TLS, where ALPN offers it) instead of paying a handshake per
//!   secret like the `curl | jq` loop does.
//! - **Every request sends `X-Vault-Request: true`**: Vault Agent and `bao proxy` listeners with
//!   `require_request_header` answer 412 without it.
//! - **Retries** with exponential backoff and full jitter for what a retry can fix: connection
//!   errors, 412, 429 (honouring `Retry-After`), 502, 503, 504 and the 500s of a leadership
//!   change. Never 400, 403 or 404: those answers will not change. The whole run has a deadline
//!   (`--timeout`) around all of this, so a retry never outlives it.
//! - **Redirects** are followed only to the same scheme, host and port. reqwest strips only the
//!   standard auth headers on a cross-host redirect, so `X-Vault-Token` would otherwise follow a
//!   `Location` anywhere, even to plain HTTP.
//! - **Proxies** come from `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` and honour `NO_PROXY`, but a
//!   loopback address (`127.0.0.0/8`, `::1`, `localhost`) is never proxied, as the `vault` and
//!   `bao` CLIs (Go's proxy rules) do: a local dev server's token must not go to a proxy.
//! - **Every answer is bounded** ([`DEFAULT_MAX_RESPONSE`], `--max-response`): an endless body
//!   from a broken or hostile server is cut off and reported, instead of growing kvenv until the
//!   kernel kills it.
//! - **Messages never show a password** given in the address (`https://user:pass@host`).

use std::hash::{BuildHasher, Hasher};
use std::net::ToSocketAddrs;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use reqwest::header::HeaderValue;
use reqwest::{Method, Url, redirect};
use serde_json::Value;
use tokio::sync::OnceCell;

use super::VaultError;
use super::address::{api_base, is_loopback, redact_address, same_origin_only};
pub use super::reply::Reply;
use super::reply::{clean_text, parse_reply};
use super::retry::{RETRIES, backoff, retryable};
pub use super::tls::Tls;
use super::tls::configure_tls;

/// The largest answer kvenv accepts by default (64 MiB): a KV secret is at most a few megabytes
/// (Vault's default request limit is 32 MiB), so anything larger is a broken or hostile server.
pub const DEFAULT_MAX_RESPONSE: u64 = 64 << 20;

/// The HTTP side of a run.
#[derive(Debug)]
pub struct Client {
    http: reqwest::Client,
    /// The address without a trailing slash, for messages.
    address: String,
    base: Url,
    /// Replaced when a long-running watch logs in again.
    token: Mutex<Option<HeaderValue>>,
    namespace: Option<HeaderValue>,
    /// [`Client::token_is_bad`]'s answer, asked once per run (or per watch cycle: a token can
    /// expire while kvenv watches).
    token_bad: Mutex<Arc<OnceCell<bool>>>,
    jitter: AtomicU64,
    requests: AtomicU64,
    http2: AtomicBool,
    answered: AtomicBool,
    /// The quickest answer so far, in microseconds: how far away the server is.
    fastest: AtomicU64,
    /// The end of the run (or of a watch cycle): no wait (a `Retry-After`, a backoff) is
    /// begun that would pass it.
    deadline: Mutex<Option<Instant>>,
    max_response: AtomicU64,
}

impl Client {
    /// A client for `address` that sends `namespace` (if any) on every request. The token is
    /// set once known, with [`Client::set_token`]: a login needs the client before it has one.
    pub fn new(address: &str, namespace: Option<&str>, tls: &Tls) -> Result<Client, VaultError> {
        let invalid = |reason: &str| VaultError::InvalidAddress {
            address: redact_address(address),
            reason: reason.to_owned(),
        };
        let mut base = api_base(address)?;
        let namespace = match namespace.filter(|ns| !ns.is_empty()) {
            Some(ns) => Some(namespace_header(ns)?),
            None => None,
        };
        let loopback = is_loopback(&base);

        let https = base.scheme() == "https";
        let mut builder = reqwest::Client::builder()
            .redirect(redirect::Policy::custom(same_origin_only))
            .connect_timeout(Duration::from_secs(10))
            // Plain-HTTP runs never touch TLS, so they need not load the system's roots.
            .tls_built_in_root_certs(https && tls.ca_cert.is_none() && tls.ca_path.is_none());
        if loopback {
            builder = builder.no_proxy();
        }
        if https {
            builder = configure_tls(builder, tls)?;
            if let Some(name) = &tls.server_name {
                // reqwest has no SNI override: address the server by the expected name and
                // resolve that name to the address the user gave.
                let port = base.port_or_known_default().unwrap_or(443);
                let host = base
                    .host_str()
                    .unwrap_or_default()
                    .trim_matches(['[', ']'])
                    .to_owned();
                let addr = (host.as_str(), port)
                    .to_socket_addrs()
                    .ok()
                    .and_then(|mut a| a.next())
                    .ok_or_else(|| invalid("cannot resolve its host"))?;
                base.set_host(Some(name))
                    .map_err(|e| invalid(&format!("tls server name {name:?}: {e}")))?;
                builder = builder.resolve(name, addr);
            }
        }
        let http = builder.build().map_err(|e| VaultError::Tls {
            reason: root_cause(&e),
        })?;
        let seed = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        Ok(Client {
            http,
            address: redact_address(address.trim_end_matches('/')),
            base,
            token: Mutex::new(None),
            namespace,
            token_bad: Mutex::default(),
            jitter: AtomicU64::new(seed | 1),
            requests: AtomicU64::new(0),
            http2: AtomicBool::new(false),
            answered: AtomicBool::new(false),
            fastest: AtomicU64::new(u64::MAX),
            deadline: Mutex::new(None),
            max_response: AtomicU64::new(DEFAULT_MAX_RESPONSE),
        })
    }

    /// The run's deadline: a wait that would pass it fails the request at once instead. A
    /// watch sets one per cycle, and asks again whether the token is bad (it may have expired).
    pub fn set_deadline(&self, deadline: Instant) {
        *self.deadline.lock().unwrap_or_else(PoisonError::into_inner) = Some(deadline);
        *self
            .token_bad
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Arc::default();
    }

    /// The largest answer accepted, in bytes.
    pub fn set_max_response(&self, bytes: u64) {
        self.max_response.store(bytes, Ordering::Relaxed);
    }

    /// Whether waiting `wait` from now would pass the run's deadline.
    fn past_deadline(&self, wait: Duration) -> bool {
        self.deadline
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(|d| Instant::now() + wait >= d)
    }

    /// The token every later request sends: set once per run, or again when a watch logs in
    /// again.
    pub fn set_token(&self, token: &str) -> Result<(), VaultError> {
        let mut value = HeaderValue::from_str(token).map_err(|_| VaultError::BadTokenHeader {
            source_name: "the environment, token file or login".into(),
        })?;
        value.set_sensitive(true);
        *self.token.lock().unwrap_or_else(PoisonError::into_inner) = Some(value);
        *self
            .token_bad
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Arc::default();
        Ok(())
    }

    /// The server's address as shown in messages (a password in it replaced by `***`).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Whether the server answered over HTTP/2 (so requests share one connection).
    pub fn http2(&self) -> bool {
        self.http2.load(Ordering::Relaxed)
    }

    /// Over TLS, before any answer: what the server speaks (HTTP/2 or 1.1) is not known yet, and
    /// requests sent together now would each open a connection and a handshake of their own.
    pub fn cold(&self) -> bool {
        self.base.scheme() == "https" && !self.answered.load(Ordering::Relaxed)
    }

    /// The quickest answer so far (from sending the request to its status line), if any: the
    /// round trip to the server plus its least work.
    pub fn fastest(&self) -> Option<Duration> {
        match self.fastest.load(Ordering::Relaxed) {
            u64::MAX => None,
            micros => Some(Duration::from_micros(micros)),
        }
    }

    /// How many HTTP requests this client sent (retries included).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// `GET /v1/<api_path>`, retried as the module doc says. `api_path` is already
    /// percent-encoded and may carry a query.
    pub async fn get(&self, api_path: &str) -> Result<Reply, VaultError> {
        self.send(Method::GET, api_path, None, None).await
    }

    /// `LIST /v1/<api_path>`: the names under a folder.
    pub async fn list(&self, api_path: &str) -> Result<Reply, VaultError> {
        let list = Method::from_bytes(b"LIST").map_err(|_| VaultError::BadResponse {
            reason: "LIST is not a method".into(),
        })?;
        self.send(list, api_path, None, None).await
    }

    /// `SCAN /v1/<api_path>` (OpenBao): every secret below a folder, in one request.
    pub async fn scan(&self, api_path: &str) -> Result<Reply, VaultError> {
        let scan = Method::from_bytes(b"SCAN").map_err(|_| VaultError::BadResponse {
            reason: "SCAN is not a method".into(),
        })?;
        self.send(scan, api_path, None, None).await
    }

    /// `POST /v1/<api_path>` with a JSON body, optionally in another namespace than the run's
    /// (an auth method may live in a parent namespace).
    pub async fn post(
        &self,
        api_path: &str,
        body: &Value,
        namespace: Option<&str>,
    ) -> Result<Reply, VaultError> {
        self.send(Method::POST, api_path, Some(body.to_string()), namespace)
            .await
    }

    /// `POST /v1/<api_path>` with a body that is already JSON text (a secret written back with
    /// every value's text as it was read).
    pub async fn post_raw(&self, api_path: &str, body: String) -> Result<Reply, VaultError> {
        self.send(Method::POST, api_path, Some(body), None).await
    }

    /// One attempt's request, with the headers every request carries.
    fn request(
        &self,
        method: &Method,
        url: &Url,
        namespace: Option<&HeaderValue>,
        body: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .header("X-Vault-Request", "true");
        let token = self
            .token
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(token) = token {
            request = request.header("X-Vault-Token", token);
        }
        if let Some(ns) = namespace {
            request = request.header("X-Vault-Namespace", ns.clone());
        }
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_owned());
        }
        request
    }

    async fn send(
        &self,
        method: Method,
        api_path: &str,
        body: Option<String>,
        namespace: Option<&str>,
    ) -> Result<Reply, VaultError> {
        let url = self
            .base
            .join(api_path)
            .map_err(|e| VaultError::BadResponse {
                reason: format!("cannot build a URL for {api_path}: {e}"),
            })?;
        let namespace = match namespace {
            Some(ns) => Some(namespace_header(ns)?),
            None => self.namespace.clone(),
        };
        let mut attempt = 0;
        loop {
            self.requests.fetch_add(1, Ordering::Relaxed);
            let request = self.request(&method, &url, namespace.as_ref(), body.as_deref());
            let sent = Instant::now();
            // What to do if the request cannot be retried: the error it ends with.
            let (wait, give_up) = match request.send().await {
                Ok(response) => {
                    self.answered.store(true, Ordering::Relaxed);
                    let took = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX - 1);
                    self.fastest.fetch_min(took, Ordering::Relaxed);
                    if response.version() == reqwest::Version::HTTP_2 {
                        self.http2.store(true, Ordering::Relaxed);
                    }
                    let status = response.status();
                    let retry_after = response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let location = response
                        .headers()
                        .get("location")
                        .and_then(|v| v.to_str().ok())
                        .map(|l| clean_text(&redact_address(l)));
                    let bytes = match self.body(response).await {
                        Ok(b) => b,
                        Err(BodyError::TooLarge(limit)) => {
                            return Err(VaultError::TooLarge {
                                limit: crate::files::size(limit),
                            });
                        }
                        Err(BodyError::Transport(e)) => {
                            // The answer broke off: retried like a connection error.
                            let error = self.unreachable(&e);
                            attempt += 1;
                            let wait = self.backoff(attempt, None);
                            if attempt > RETRIES || self.past_deadline(wait) {
                                return Err(error);
                            }
                            tokio::time::sleep(wait).await;
                            continue;
                        }
                    };
                    if status.is_redirection() {
                        return Err(VaultError::Redirect {
                            location: location.unwrap_or_else(|| "an unnamed location".into()),
                        });
                    }
                    let reply = parse_reply(status, bytes)?;
                    if !retryable(&reply) || attempt >= RETRIES {
                        return self.finish(reply);
                    }
                    match self.finish(reply) {
                        Ok(_) => unreachable!("a retryable answer is an error"),
                        Err(error) => (retry_after, error),
                    }
                }
                Err(e) if attempt >= RETRIES || e.is_builder() => {
                    return Err(self.unreachable(&e));
                }
                Err(e) => (None, self.unreachable(&e)),
            };
            attempt += 1;
            let wait = self.backoff(attempt, wait);
            if self.past_deadline(wait) {
                // The server asked for (or the backoff needs) more time than the run has left:
                // say what it answered now, rather than sleep until the deadline.
                return Err(give_up);
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// An answer's body, at most [`Client::set_max_response`] bytes.
    async fn body(&self, mut response: reqwest::Response) -> Result<Vec<u8>, BodyError> {
        let limit = self.max_response.load(Ordering::Relaxed);
        if response.content_length().is_some_and(|n| n > limit) {
            return Err(BodyError::TooLarge(limit));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
            if (bytes.len() + chunk.len()) as u64 > limit {
                return Err(BodyError::TooLarge(limit));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }

    /// A transport error as kvenv reports it, with a hint where the cause is a common mistake.
    fn unreachable(&self, e: &reqwest::Error) -> VaultError {
        let mut reason = root_cause(e);
        let https = self.base.scheme() == "https";
        if https && reason.contains("corrupt message") {
            reason
                .push_str(" (does the server speak plain HTTP? then write http:// in the address)");
        } else if reason.contains("UnknownIssuer") || reason.contains("unknown issuer") {
            reason.push_str(
                " (the server's certificate is not signed by a CA kvenv trusts; give its CA with VAULT_CACERT, BAO_CACERT, --ca-cert or [vault.tls] ca_cert)",
            );
        } else if reason.contains("NotValidForName") {
            reason.push_str(
                " (the certificate is for another name; use that name in the address, or set VAULT_TLS_SERVER_NAME)",
            );
        }
        VaultError::Unreachable {
            address: self.address.clone(),
            reason,
        }
    }

    /// Turn the answers that mean "the server cannot serve anyone" into errors; leave the rest
    /// (200, 403, 404, ...) for the caller, who knows what they mean for its request.
    fn finish(&self, reply: Reply) -> Result<Reply, VaultError> {
        let message = reply.errors();
        match reply.status {
            503 if message.contains("sealed") => Err(VaultError::Sealed {
                address: self.address.clone(),
            }),
            s if s >= 500 || s == 429 || s == 412 => Err(VaultError::Server { status: s, message }),
            _ => Ok(reply),
        }
    }

    /// Whether the token itself is bad (invalid, expired, revoked), asked once per run and only
    /// after a 403: Vault answers 403 both for a bad token and for a missing policy, and only
    /// `auth/token/lookup-self` tells them apart. The happy path never pays for it.
    ///
    /// Its answer is conclusive only one way. A bad token gets a bare `["permission denied"]`;
    /// a valid token whose policies lack `lookup-self` (one made with `no_default_policy`, as
    /// least-privilege CI tokens are) gets the wrapped "1 error occurred: permission denied"
    /// of an ACL refusal, and is not bad. So only the bare answer means "bad"; anything else
    /// (200, a wrapped 403, an error) leaves the 403 a plain "forbidden".
    pub async fn token_is_bad(&self) -> Result<bool, VaultError> {
        let cell = self
            .token_bad
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        cell.get_or_try_init(|| async {
            let reply = self.get("auth/token/lookup-self").await?;
            let bare = reply
                .body
                .get("errors")
                .and_then(Value::as_array)
                .is_some_and(|e| e.len() == 1 && e[0] == "permission denied");
            Ok(reply.status == 403 && bare)
        })
        .await
        .copied()
    }

    /// Full jitter: a random wait in [0, min(cap, base·2^attempt)], at least `Retry-After`.
    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        // xorshift64: good enough to spread retries, no dependency for it.
        let mut x = self.jitter.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.jitter.store(x, Ordering::Relaxed);
        backoff(attempt, retry_after, x)
    }
}

/// Why reading a body failed.
enum BodyError {
    TooLarge(u64),
    Transport(reqwest::Error),
}

fn namespace_header(namespace: &str) -> Result<HeaderValue, VaultError> {
    HeaderValue::from_str(namespace).map_err(|_| VaultError::InvalidNamespace)
}

/// The innermost cause of a transport error ("connection refused"), without the URL and
/// wrapping that reqwest's own message adds.
pub fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: &(dyn std::error::Error + 'static) = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    if let Some(io) = cause.downcast_ref::<std::io::Error>() {
        return crate::error::io_reason(io);
    }
    let text = cause.to_string();
    if text.is_empty() {
        "connection failed".into()
    } else {
        text
    }
}

#[cfg(test)]
mod tests;
