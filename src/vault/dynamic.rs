//! Dynamic secrets: a plain read of any engine (`database/creds/app`), and the lease it may come
//! with.
//!
//! A read of `GET /v1/<path>` answers `{"data": {...}, "lease_id": "...", "lease_duration": N,
//! "renewable": bool}` (`docs/vault-api.md`, dynamic secrets). The credentials in `data` work
//! until the lease ends: after `lease_duration` seconds unless renewed (`sys/leases/renew`),
//! and at the role's max TTL whatever is done, when the engine drops them (PostgreSQL: the role
//! is removed). Revoking the lease (`sys/leases/revoke`) drops them at once.
//!
//! A lease id is a credential: whoever holds it and a token with the `sys/leases` grants can
//! end or prolong the credentials. It lives in a [`Secret`], its `Debug` hides it, and a
//! server message that quotes it has it replaced before the message goes anywhere.

use std::time::Duration;

use serde_json::{Value, json};

use super::auth::{Life, life};
use super::kv::{Read, V1Answer, encode_path};
use super::{Client, VaultError};
use crate::secret::Secret;

/// A lease on dynamic credentials.
#[derive(Debug, Clone)]
pub struct Lease {
    id: Secret,
    /// The read that made it, for messages: `database/creds/app`.
    pub path: String,
    /// How long the credentials work from the last read or renewal.
    pub duration: Duration,
    pub renewable: bool,
}

/// What a dynamic read found: the data (or that nothing is there), and its lease.
#[derive(Debug, Clone)]
pub struct Dynamic {
    pub read: Read,
    pub lease: Option<Lease>,
}

/// `GET /v1/<path>`: the data is the answer's `data` object.
pub async fn read(client: &Client, path: &str) -> Result<Dynamic, VaultError> {
    let reply = client.get(&encode_path(path)).await?;
    let warnings = reply.warnings();
    match reply.status {
        200 => {}
        403 => return Err(super::refused(client, "read", path.to_owned()).await),
        404 => {
            if let Some(e) = super::not_found_elsewhere(&reply) {
                return Err(e);
            }
            return Ok(Dynamic {
                read: Read::Missing,
                lease: None,
            });
        }
        status => {
            return Err(VaultError::Server {
                status,
                message: reply.errors(),
            });
        }
    }
    let data = match serde_json::from_slice::<V1Answer>(&reply.raw) {
        Ok(V1Answer { data: Some(data) }) => data,
        _ => {
            return Err(VaultError::BadResponse {
                reason: format!("the answer for {path} has no data object"),
            });
        }
    };
    Ok(Dynamic {
        read: Read::Found {
            data,
            version: None,
            warnings,
        },
        lease: lease(path, &reply.body),
    })
}

/// The lease of an answer, if it has one (a KV v1 answer has a `lease_duration` but an empty
/// `lease_id`: a cache hint, not a lease).
fn lease(path: &str, body: &Value) -> Option<Lease> {
    let id = body.get("lease_id").and_then(Value::as_str)?;
    if id.is_empty() {
        return None;
    }
    let Life {
        ttl: duration,
        renewable,
    } = life(body);
    Some(Lease {
        id: Secret::new(id),
        path: path.to_owned(),
        duration,
        renewable,
    })
}

/// Renew `lease` by `increment`; returns the duration granted, which is less than asked once
/// the role's max TTL is near (the server then warns "TTL value is capped").
pub async fn renew(
    client: &Client,
    lease: &Lease,
    increment: Duration,
) -> Result<Duration, VaultError> {
    let body = json!({ "lease_id": lease.id.expose(), "increment": increment.as_secs() });
    let reply = client
        .post("sys/leases/renew", &body, None)
        .await
        .map_err(|e| match super::auth::renewal_refused(e) {
            VaultError::NotRenewable { message } => VaultError::NotRenewable {
                message: message.replace(lease.id.expose(), "<lease id>"),
            },
            VaultError::Server { status, message } => VaultError::Server {
                status,
                message: message.replace(lease.id.expose(), "<lease id>"),
            },
            e => e,
        })?;
    match reply.status {
        200 => Ok(Duration::from_secs(
            reply
                .body
                .get("lease_duration")
                .and_then(Value::as_u64)
                .unwrap_or(0),
        )),
        status => Err(refused(client, lease, status, &reply.errors(), "sys/leases/renew").await),
    }
}

/// Revoke `lease`: the credentials stop working now. A lease that already ended is revoked too
/// (the server answers 204 for it).
pub async fn revoke(client: &Client, lease: &Lease) -> Result<(), VaultError> {
    let body = json!({ "lease_id": lease.id.expose() });
    let reply = client.post("sys/leases/revoke", &body, None).await?;
    match reply.status {
        200 | 204 => Ok(()),
        status => Err(refused(client, lease, status, &reply.errors(), "sys/leases/revoke").await),
    }
}

/// The error for a refused lease operation, with the lease id removed from Vault's message.
async fn refused(
    client: &Client,
    lease: &Lease,
    status: u16,
    errors: &str,
    api_path: &str,
) -> VaultError {
    if status == 403 {
        return super::refused(client, "update", api_path.to_owned()).await;
    }
    super::auth::not_renewable(status, errors.replace(lease.id.expose(), "<lease id>"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_id_never_shows() {
        let body = json!({"lease_id": "database/creds/app/SECRETID", "lease_duration": 5, "renewable": true});
        let lease = lease("database/creds/app", &body).unwrap();
        assert!(!format!("{lease:?}").contains("SECRETID"));
        assert_eq!(lease.duration, Duration::from_secs(5));
        assert!(lease.renewable);
        // KV v1's cache hint is not a lease.
        let body = json!({"lease_id": "", "lease_duration": 2764800, "renewable": false});
        assert!(super::lease("kv/app", &body).is_none());
    }
}
