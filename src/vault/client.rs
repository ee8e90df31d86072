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

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{StatusCode, Url, redirect};
use serde_json::Value;
use tokio::sync::OnceCell;

use super::VaultError;

/// How many times a request is retried after the first attempt.
const RETRIES: u32 = 4;
/// The first backoff's upper bound; it doubles on every retry.
const BACKOFF_BASE: Duration = Duration::from_millis(100);
/// No single wait is longer than this (a `Retry-After` may be, within the deadline).
const BACKOFF_CAP: Duration = Duration::from_secs(2);

/// An answer from the server: its status and JSON body (`Null` when it had none).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    /// Vault's `errors`, cleaned of the "1 error occurred:\n\t* " wrapping, joined with "; ".
    pub fn errors(&self) -> String {
        let Some(list) = self.body.get("errors").and_then(Value::as_array) else {
            return String::new();
        };
        let mut out: Vec<String> = Vec::new();
        for e in list.iter().filter_map(Value::as_str) {
            for part in e.split("\n\t* ") {
                let part = part.trim();
                if part.is_empty() || (part.ends_with("occurred:") && part.contains("error")) {
                    continue;
                }
                let clean: String = part
                    .chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .take(300)
                    .collect();
                out.push(clean);
            }
        }
        out.join("; ")
    }

    /// Vault's `warnings`, one line each.
    pub fn warnings(&self) -> Vec<String> {
        self.body
            .get("warnings")
            .and_then(Value::as_array)
            .map(|w| {
                w.iter()
                    .filter_map(Value::as_str)
                    .map(|s| s.replace(['\n', '\r', '\t'], " "))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The HTTP side of a run.
#[derive(Debug)]
pub struct Client {
    http: reqwest::Client,
    /// The address without a trailing slash, for messages and URLs.
    address: String,
    base: Url,
    token_valid: OnceCell<bool>,
    jitter: AtomicU64,
    requests: AtomicU64,
}

impl Client {
    /// A client for `address` that sends `token` (and `namespace`, if any) on every request.
    pub fn new(address: &str, token: &str, namespace: Option<&str>) -> Result<Client, VaultError> {
        let invalid = |reason: &str| VaultError::InvalidAddress {
            address: address.to_owned(),
            reason: reason.to_owned(),
        };
        let trimmed = address.trim_end_matches('/');
        let base = Url::parse(&format!("{trimmed}/v1/")).map_err(|e| invalid(&e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") || base.host().is_none() {
            return Err(invalid("it must be an http:// or https:// URL with a host"));
        }

        let mut headers = HeaderMap::new();
        headers.insert("X-Vault-Request", HeaderValue::from_static("true"));
        let mut token_header =
            HeaderValue::from_str(token).map_err(|_| VaultError::BadTokenHeader {
                source_name: "the environment or token file".into(),
            })?;
        token_header.set_sensitive(true);
        headers.insert("X-Vault-Token", token_header);
        if let Some(ns) = namespace.filter(|ns| !ns.is_empty()) {
            let value = HeaderValue::from_str(ns).map_err(|_| VaultError::NamespaceNotFound {
                message: "the namespace contains characters not allowed in a header".into(),
            })?;
            headers.insert("X-Vault-Namespace", value);
        }

        let http = reqwest::Client::builder()
            .default_headers(headers)
            .redirect(redirect::Policy::custom(same_origin_only))
            .connect_timeout(Duration::from_secs(10))
            // Plain-HTTP runs never touch TLS, so they need not load the system's roots.
            .tls_built_in_root_certs(base.scheme() == "https")
            .build()
            .map_err(|e| invalid(&root_cause(&e)))?;
        let seed = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        Ok(Client {
            http,
            address: trimmed.to_owned(),
            base,
            token_valid: OnceCell::new(),
            jitter: AtomicU64::new(seed | 1),
            requests: AtomicU64::new(0),
        })
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    /// How many HTTP requests this client sent (retries included).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// `GET /v1/<api_path>`, retried as the module doc says. `api_path` is already
    /// percent-encoded and may carry a query.
    pub async fn get(&self, api_path: &str) -> Result<Reply, VaultError> {
        let url = self
            .base
            .join(api_path)
            .map_err(|e| VaultError::BadResponse {
                reason: format!("cannot build a URL for {api_path}: {e}"),
            })?;
        let mut attempt = 0;
        loop {
            self.requests.fetch_add(1, Ordering::Relaxed);
            let outcome = self.http.get(url.clone()).send().await;
            let wait = match outcome {
                Ok(response) => {
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
                        .map(str::to_owned);
                    let bytes = match response.bytes().await {
                        Ok(b) => b,
                        Err(e) if attempt < RETRIES => {
                            let _ = e;
                            attempt += 1;
                            tokio::time::sleep(self.backoff(attempt, None)).await;
                            continue;
                        }
                        Err(e) => {
                            return Err(VaultError::Unreachable {
                                address: self.address.clone(),
                                reason: root_cause(&e),
                            });
                        }
                    };
                    let reply = parse_reply(status, &bytes)?;
                    if status.is_redirection() {
                        return Err(VaultError::Redirect {
                            location: location.unwrap_or_else(|| "an unnamed location".into()),
                        });
                    }
                    if !retryable(&reply) || attempt >= RETRIES {
                        return self.finish(reply);
                    }
                    retry_after
                }
                Err(e) if attempt >= RETRIES => {
                    return Err(VaultError::Unreachable {
                        address: self.address.clone(),
                        reason: root_cause(&e),
                    });
                }
                Err(_) => None,
            };
            attempt += 1;
            tokio::time::sleep(self.backoff(attempt, wait)).await;
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

    /// Whether the token itself is good, asked once per run and only after a 403: Vault answers
    /// 403 both for a bad token and for a missing policy, and only `lookup-self` tells them
    /// apart. The happy path never pays for it.
    pub async fn token_is_valid(&self) -> Result<bool, VaultError> {
        self.token_valid
            .get_or_try_init(|| async {
                let reply = self.get("auth/token/lookup-self").await?;
                Ok(reply.status != 403)
            })
            .await
            .copied()
    }

    /// Full jitter: a random wait in [0, min(cap, base·2^attempt)], at least `Retry-After`.
    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let ceiling = BACKOFF_BASE
            .saturating_mul(1 << attempt.min(16))
            .min(BACKOFF_CAP);
        // xorshift64: good enough to spread retries, no dependency for it.
        let mut x = self.jitter.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.jitter.store(x, Ordering::Relaxed);
        let jittered = ceiling.mul_f64((x % 10_000) as f64 / 10_000.0);
        match retry_after {
            Some(r) if r > jittered => r,
            _ => jittered.max(Duration::from_millis(20)),
        }
    }
}

fn parse_reply(status: StatusCode, bytes: &[u8]) -> Result<Reply, VaultError> {
    let body = if bytes.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        match serde_json::from_slice(bytes) {
            Ok(v) => v,
            // An error page from a proxy (HTML, text) is still an answer with a status; a 2xx
            // that is not JSON is not something kvenv can use.
            Err(_) if !status.is_success() => Value::Null,
            Err(_) => {
                return Err(VaultError::BadResponse {
                    reason: format!("HTTP {} with a body that is not JSON", status.as_u16()),
                });
            }
        }
    };
    Ok(Reply {
        status: status.as_u16(),
        body,
    })
}

fn retryable(reply: &Reply) -> bool {
    match reply.status {
        412 | 429 | 502 | 503 | 504 => true,
        500 => {
            let m = reply.errors();
            m.contains("leadership lost") || m.contains("active cluster node not found")
        }
        _ => false,
    }
}

fn same_origin_only(attempt: redirect::Attempt) -> redirect::Action {
    let Some(first) = attempt.previous().first() else {
        return attempt.stop();
    };
    let same = first.scheme() == attempt.url().scheme()
        && first.host_str() == attempt.url().host_str()
        && first.port_or_known_default() == attempt.url().port_or_known_default();
    if same && attempt.previous().len() < 5 {
        attempt.follow()
    } else {
        attempt.stop()
    }
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
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn vault_errors_are_cleaned() {
        let r = Reply {
            status: 403,
            body: json!({"errors": ["1 error occurred:\n\t* permission denied\n\n"]}),
        };
        assert_eq!(r.errors(), "permission denied");
        let r = Reply {
            status: 404,
            body: json!({"errors": []}),
        };
        assert_eq!(r.errors(), "");
        let r = Reply {
            status: 500,
            body: json!({"errors": ["2 errors occurred:\n\t* a\n\t* b\n\n"]}),
        };
        assert_eq!(r.errors(), "a; b");
    }

    #[test]
    fn addresses_are_checked() {
        assert!(Client::new("ftp://x", "t", None).is_err());
        assert!(Client::new("not a url", "t", None).is_err());
        assert!(Client::new("http://127.0.0.1:8200/", "t", None).is_ok());
        let err = Client::new("http://127.0.0.1:8200", "bad\ntoken", None).unwrap_err();
        assert!(!err.to_string().contains("bad"));
    }

    #[test]
    fn backoff_is_bounded() {
        let c = Client::new("http://127.0.0.1:1", "t", None).unwrap();
        for attempt in 1..10 {
            assert!(c.backoff(attempt, None) <= BACKOFF_CAP);
        }
        assert_eq!(
            c.backoff(1, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
    }
}
