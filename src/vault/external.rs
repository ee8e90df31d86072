//! The one request kvenv makes outside Vault: the GitHub Actions ID token.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use reqwest::redirect;
use serde_json::Value;

use super::client::root_cause;
use super::retry::{RETRIES, backoff};

/// A GET to a URL outside Vault with a bearer token, for the GitHub Actions ID-token endpoint:
/// a client of its own, trusting the system's roots (the Vault client may trust only a private
/// CA, or none at all over plain HTTP) and sending no Vault header and no client certificate.
/// Retried like Vault requests; the answer is bounded like theirs.
pub async fn get_external_json(url: &str, bearer: &str) -> Result<Value, String> {
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .redirect(redirect::Policy::limited(5))
        .build()
        .map_err(|e| root_cause(&e))?;
    let mut random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
        | 1;
    let mut attempt = 0;
    loop {
        let outcome = http
            .get(url)
            .bearer_auth(bearer)
            .header("Accept", "application/json")
            .send()
            .await;
        match outcome {
            Ok(r) if r.status().is_success() => {
                if r.content_length()
                    .is_some_and(|n| n > crate::files::CREDENTIAL_LIMIT)
                {
                    return Err("the answer is too large".into());
                }
                let bytes = r.bytes().await.map_err(|e| root_cause(&e))?;
                if bytes.len() as u64 > crate::files::CREDENTIAL_LIMIT {
                    return Err("the answer is too large".into());
                }
                return serde_json::from_slice(&bytes)
                    .map_err(|_| "the answer is not JSON".to_string());
            }
            Ok(r) if matches!(r.status().as_u16(), 429 | 500..=599) && attempt < RETRIES => {}
            Ok(r) => return Err(format!("HTTP {}", r.status().as_u16())),
            Err(_) if attempt < RETRIES => {}
            Err(e) => return Err(root_cause(&e)),
        }
        attempt += 1;
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        tokio::time::sleep(backoff(attempt, None, random)).await;
    }
}
