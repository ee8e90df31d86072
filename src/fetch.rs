//! Resolved + client → one answer per read, concurrently.
//!
//! Every [`KvRef`] of a [`Resolved`] is read once, with at most `concurrency` requests in flight.
//! Nothing is returned until every read has answered, so the caller writes either everything or
//! nothing; what the answers mean for each entry is [`crate::assemble`]'s job.
//!
//! [`concurrently`] is shared with the mount lookups of [`crate::resolve`], and shapes a run to
//! cost as few round trips and connections as it can (see its doc).

use std::future::Future;
use std::sync::OnceLock;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::Semaphore;

use crate::resolve::Resolved;
use crate::vault::dynamic::{self, Lease};
use crate::vault::kv::{self, KvRef, Read};
use crate::vault::{Client, VaultError};

/// Requests in flight over HTTP/1.1 (each a connection of its own) to a server that answers
/// within [`NEAR`]: on loopback or a LAN the server's CPU is the limit, and more connections
/// only cost it (measured at N = 100 and 1000: 32 took 1.05–1.10× the time of 16, 64
/// 1.16–1.22×; `bench/RESULTS.md`, the concurrency sweep).
pub const HTTP1_CONCURRENCY: usize = 16;

/// Requests in flight over HTTP/1.1 once an answer shows the server is farther than [`NEAR`]:
/// every round of requests then costs a round trip. At RTT 20 ms, 48 took 1.00–1.01× the time
/// of the best fixed level for N = 100 and 1000, where 16 took 1.25–1.69× and 32 up to 1.12×.
pub const HTTP1_FAR_CONCURRENCY: usize = 48;

/// A server whose quickest answer takes longer than this is across a network, not next door.
pub const NEAR: std::time::Duration = std::time::Duration::from_millis(5);

/// Streams in flight over one HTTP/2 connection (TLS servers negotiate it by ALPN). Streams are
/// cheap, and across a network every round of requests costs a round trip: 100 secrets at 8 in
/// flight are 13 round trips, at 64 two, at 128 one (measured at RTT 20 ms: 154–163 ms at 64,
/// 136–159 ms at 128). Go's HTTP/2 server, which Vault and OpenBao use, allows 250 concurrent
/// streams, and hyper keeps to the limit the server announces.
pub const HTTP2_CONCURRENCY: usize = 128;

/// The answers to a run's reads.
#[derive(Debug, Clone, Default)]
pub struct Answers {
    /// One per KV read, in the order of [`Resolved::reads`].
    pub kv: Vec<Result<Read, VaultError>>,
    /// One per dynamic read, in the order of [`Resolved::dynamic`]. A watch keeps these between
    /// polls: reading again would make new credentials (and a new lease) every interval.
    pub dynamic: Vec<Result<Read, VaultError>>,
}

/// Read every KV secret of `resolved`; the answers are in the order of `resolved.reads`.
pub async fn fetch(
    resolved: &Resolved,
    client: &Client,
    concurrency: Option<usize>,
) -> Vec<Result<Read, VaultError>> {
    concurrently(client, concurrency, &resolved.reads, |secret: &KvRef| {
        kv::read(client, secret)
    })
    .await
}

/// Make every dynamic read of `resolved` (once each), with the leases they came with.
pub async fn dynamic(
    resolved: &Resolved,
    client: &Client,
    concurrency: Option<usize>,
) -> (Vec<Result<Read, VaultError>>, Vec<Lease>) {
    let answers = concurrently(client, concurrency, &resolved.dynamic, |path: &String| {
        dynamic::read(client, path)
    })
    .await;
    let mut leases = Vec::new();
    let reads = answers
        .into_iter()
        .map(|a| {
            a.map(|d| {
                leases.extend(d.lease);
                d.read
            })
        })
        .collect();
    (reads, leases)
}

/// Everything `resolved` names, KV and dynamic reads at once.
pub async fn fetch_all(
    resolved: &Resolved,
    client: &Client,
    concurrency: Option<usize>,
) -> (Answers, Vec<Lease>) {
    let (kv, (dynamic, leases)) = futures_util::join!(
        fetch(resolved, client, concurrency),
        dynamic(resolved, client, concurrency)
    );
    (Answers { kv, dynamic }, leases)
}

/// Run `request` for each item, at most `concurrency` at once (by default chosen by the HTTP
/// version the server answers over), and return the answers in the items' order.
///
/// - **Over TLS, the first request goes alone** when nothing has been asked yet: until an
///   answer comes, nobody knows whether the server speaks HTTP/2, and requests sent together
///   would each open a connection and a handshake of their own instead of sharing one.
/// - **A far server gets more in flight**: over HTTP/1.1, as soon as any answer has taken
///   longer than [`NEAR`] (a round trip across a network), up to [`HTTP1_FAR_CONCURRENCY`]
///   requests go at once instead of [`HTTP1_CONCURRENCY`]; a server next door, whose CPU is the
///   limit, is not sent more than it can serve.
/// - **Once the server is down** (unreachable, sealed, failing), requests not yet started fail
///   at once with the same error instead of each waiting through its own retries until the
///   deadline.
pub async fn concurrently<'a, T, F, Fut, R>(
    client: &Client,
    concurrency: Option<usize>,
    items: &'a [T],
    request: F,
) -> Vec<Result<R, VaultError>>
where
    F: Fn(&'a T) -> Fut,
    Fut: Future<Output = Result<R, VaultError>>,
{
    let down: OnceLock<VaultError> = OnceLock::new();
    let one = |i: usize| {
        let down = &down;
        let request = &request;
        async move {
            if let Some(e) = down.get() {
                return (i, Err(e.clone()));
            }
            let result = request(&items[i]).await;
            if let Err(e) = &result
                && e.server_down()
            {
                let _ = down.set(e.clone());
            }
            (i, result)
        }
    };
    let mut answers: Vec<Option<Result<R, VaultError>>> = items.iter().map(|_| None).collect();
    let mut rest = 0..items.len();
    if client.cold()
        && let Some(first) = rest.next()
    {
        let (i, result) = one(first).await;
        answers[i] = Some(result);
    }
    let limit = concurrency.unwrap_or_else(|| default_concurrency(client));
    let permits = Semaphore::new(limit);
    // The near default grows (once) when an answer shows the server is far: see
    // HTTP1_FAR_CONCURRENCY.
    let mut may_grow = concurrency.is_none() && limit == HTTP1_CONCURRENCY && !client.http2();
    let mut pending: FuturesUnordered<_> = rest
        .map(|i| {
            let (one, permits) = (&one, &permits);
            async move {
                let _permit = permits.acquire().await;
                one(i).await
            }
        })
        .collect();
    while let Some((i, result)) = pending.next().await {
        answers[i] = Some(result);
        if may_grow && far(client) {
            may_grow = false;
            permits.add_permits(HTTP1_FAR_CONCURRENCY - HTTP1_CONCURRENCY);
        }
    }
    drop(pending);
    answers
        .into_iter()
        .map(|a| {
            a.unwrap_or_else(|| {
                Err(VaultError::BadResponse {
                    reason: "a request was never made".into(),
                })
            })
        })
        .collect()
}

/// Requests in flight when `--concurrency` is not given: by what the server answered over and
/// how far away it is.
fn default_concurrency(client: &Client) -> usize {
    if client.http2() {
        HTTP2_CONCURRENCY
    } else if far(client) {
        HTTP1_FAR_CONCURRENCY
    } else {
        HTTP1_CONCURRENCY
    }
}

/// Whether an answer so far shows the server across a network: its quickest took over [`NEAR`].
fn far(client: &Client) -> bool {
    client.fastest().is_some_and(|t| t > NEAR)
}
