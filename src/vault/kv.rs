//! The KV secrets engine: mounts, references to secrets, and reading and writing them.
//!
//! KV v1 reads `GET /v1/<mount>/<rest>` and v2 reads `GET /v1/<mount>/data/<rest>`, so the mount
//! boundary must be known, and mounts can span several segments (`team/apps/kv/`). kvenv asks
//! `sys/internal/ui/mounts/<path>` ([`detect`]), which finds the mount by longest prefix and works
//! for any token that can touch something under it; the manifest can declare `kv_version`
//! instead. A [`KvRef`] is a secret once its mount is known, and [`KvRef::api_path`] is the one
//! place that knows where KV v2 puts `data/` and `metadata/`: reads, writes, listings and the
//! policy kvenv prints all take their paths from it.
//!
//! The answers a read can get are many (`docs/vault-api.md`): a v2 404 with `data.metadata` means
//! a deleted or destroyed version, a plain 404 means missing, a 404 whose warning says "Invalid
//! path for a versioned K/V secrets engine" means the v1 URL shape was used on a v2 mount.
//! [`read`] tells them apart and checks the body's shape, so a v1 map is never misread as v2 or
//! the other way round.

use serde_json::Value;

pub use super::data::{Data, text};
use super::{Client, VaultError};

/// A KV secrets engine version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KvVersion {
    V1,
    V2,
}

/// A KV mount as the server describes it (or the manifest declares it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mount {
    /// With one trailing slash: `team/apps/kv/`.
    pub path: String,
    pub version: KvVersion,
    /// The version comes from the manifest's `kv_version`, not from the server: a read that
    /// finds nothing double-checks it (a wrong declaration looks like a missing secret).
    pub declared: bool,
}

impl Mount {
    /// A mount the manifest declares with `kv_version`.
    pub fn declared(path: &str, version: KvVersion) -> Mount {
        Mount {
            path: format!("{}/", path.trim_matches('/')),
            version,
            declared: true,
        }
    }

    /// Whether the logical path `path` lies in this mount (or names it).
    pub fn contains(&self, path: &str) -> bool {
        path.len() > self.path.len() && path.starts_with(&self.path)
            || path == self.path.trim_end_matches('/')
    }
}

/// What a request does with a secret. KV v2 serves each at its own path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Read or write the data: v2 `<mount>/data/<path>`.
    Data,
    /// List a folder, or read a secret's versions: v2 `<mount>/metadata/<path>`.
    Metadata,
}

/// One secret, its mount known: the mount, the path inside it, and the version to read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KvRef {
    pub mount: Mount,
    /// The path inside the mount, without a leading or trailing slash: `app/db`.
    pub path: String,
    /// A KV v2 version pin; `None` reads the latest.
    pub version: Option<u64>,
}

impl KvRef {
    /// The secret at the logical path `logical` (mount first, as the manifest writes it).
    pub fn new(mount: Mount, logical: &str, version: Option<u64>) -> KvRef {
        let path = logical
            .strip_prefix(mount.path.as_str())
            .unwrap_or("")
            .to_owned();
        KvRef {
            mount,
            path,
            version,
        }
    }

    /// The path as the manifest and the CLI write it: `kv/app/db`.
    pub fn logical(&self) -> String {
        format!("{}{}", self.mount.path, self.path)
    }

    /// The logical path of `rel` under this folder: `kv/app/` + `sub/db`.
    pub fn child(&self, rel: &str) -> String {
        if self.path.is_empty() {
            format!("{}{rel}", self.mount.path)
        } else {
            format!("{}{}/{rel}", self.mount.path, self.path)
        }
    }

    /// The API path of `op`, as a Vault policy names it (not encoded, no version): `kv/app/db`
    /// on KV v1, `kv/data/app/db` or `kv/metadata/app/db` on KV v2.
    pub fn api_path(&self, op: Op) -> String {
        match (self.mount.version, op) {
            (KvVersion::V1, _) => self.logical(),
            (KvVersion::V2, Op::Data) => format!("{}data/{}", self.mount.path, self.path),
            (KvVersion::V2, Op::Metadata) => format!("{}metadata/{}", self.mount.path, self.path),
        }
    }

    /// The request path of `op`: [`KvRef::api_path`] percent-encoded, with `?version=N` when a
    /// read is pinned.
    fn url(&self, op: Op) -> String {
        let mut url = encode_path(&self.api_path(op));
        if let (KvVersion::V2, Op::Data, Some(v)) = (self.mount.version, op, self.version) {
            url.push_str(&format!("?version={v}"));
        }
        url
    }
}

/// What a read found.
#[derive(Debug, Clone)]
pub enum Read {
    Found {
        data: Data,
        /// The version read, on KV v2.
        version: Option<u64>,
        warnings: Vec<String>,
    },
    /// No secret at the path (or no such version, or a folder).
    Missing,
    /// The version exists but was deleted (`destroyed: false`) or destroyed.
    Deleted { version: u64, destroyed: bool },
}

/// Percent-encode each segment of a logical path, keeping the `/` separators.
pub fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        for b in segment.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// Find the mount `path` is under and its KV version.
pub async fn detect(client: &Client, path: &str) -> Result<Mount, VaultError> {
    let reply = client
        .get(&format!("sys/internal/ui/mounts/{}", encode_path(path)))
        .await?;
    match reply.status {
        200 => {}
        403 => {
            return Err(if client.token_is_bad().await? {
                VaultError::TokenRejected
            } else {
                VaultError::NoMountAccess
            });
        }
        404 if reply.errors().contains("namespace not found") => {
            return Err(VaultError::NamespaceNotFound {
                message: reply.errors(),
            });
        }
        status => {
            return Err(VaultError::Server {
                status,
                message: reply.errors(),
            });
        }
    }
    let data = reply.body.get("data");
    let mount = data
        .and_then(|d| d.get("path"))
        .and_then(Value::as_str)
        .ok_or_else(|| VaultError::BadResponse {
            reason: "the mount lookup has no data.path".into(),
        })?;
    let mount = format!("{}/", mount.trim_matches('/'));
    let kind = data
        .and_then(|d| d.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if kind != "kv" {
        return Err(VaultError::NotKv {
            mount,
            kind: kind.to_owned(),
        });
    }
    // `{"type":"kv"}` without options is v1; kv-v2 mounts always say "2".
    let version = match data
        .and_then(|d| d.get("options"))
        .and_then(|o| o.get("version"))
        .and_then(Value::as_str)
    {
        Some("2") => KvVersion::V2,
        _ => KvVersion::V1,
    };
    Ok(Mount {
        path: mount,
        version,
        declared: false,
    })
}

/// Read the secret at `path` (which starts with `mount.path`), at `version` on KV v2.
pub async fn read(client: &Client, secret: &KvRef) -> Result<Read, VaultError> {
    let mount = &secret.mount;
    let reply = client.get(&secret.url(Op::Data)).await?;
    let warnings = reply.warnings();
    match reply.status {
        200 => {}
        403 => return Err(super::refused(client, "read", secret.api_path(Op::Data)).await),
        404 => {
            if let Some(e) = super::not_found_elsewhere(&reply) {
                return Err(e);
            }
            if mount.version == KvVersion::V1
                && warnings
                    .iter()
                    .any(|w| w.contains("Invalid path for a versioned K/V"))
            {
                return Err(VaultError::DeclaredV1IsV2 {
                    mount: mount.path.trim_end_matches('/').to_owned(),
                });
            }
            let metadata = reply
                .body
                .get("data")
                .and_then(|d| d.get("metadata"))
                .filter(|m| m.is_object());
            if let (KvVersion::V2, Some(m)) = (mount.version, metadata) {
                return Ok(Read::Deleted {
                    version: m.get("version").and_then(Value::as_u64).unwrap_or(0),
                    destroyed: m.get("destroyed").and_then(Value::as_bool).unwrap_or(false),
                });
            }
            if mount.version == KvVersion::V2 && mount.declared && is_v1(client, secret).await {
                return Err(VaultError::DeclaredV2IsV1 {
                    mount: mount.path.trim_end_matches('/').to_owned(),
                });
            }
            return Ok(Read::Missing);
        }
        status => {
            return Err(VaultError::Server {
                status,
                message: reply.errors(),
            });
        }
    }
    let shape_error = |what: &str| VaultError::BadResponse {
        reason: format!(
            "the answer for {} has no {what} (is the mount's kv_version right?)",
            secret.logical()
        ),
    };
    match mount.version {
        KvVersion::V1 => match serde_json::from_slice::<V1Answer>(&reply.raw) {
            Ok(V1Answer { data: Some(data) }) => Ok(Read::Found {
                data,
                version: None,
                warnings,
            }),
            _ => Err(shape_error("data object")),
        },
        KvVersion::V2 => match serde_json::from_slice::<V2Answer>(&reply.raw) {
            Ok(V2Answer {
                data:
                    Some(V2Data {
                        data: Some(data),
                        metadata: Some(Value::Object(meta)),
                    }),
            }) => Ok(Read::Found {
                data,
                version: meta.get("version").and_then(Value::as_u64),
                warnings,
            }),
            _ => Err(shape_error("data.data and data.metadata objects")),
        },
    }
}

/// `{"data": {...}}`: a KV v1 answer, and the answer to any plain read (a dynamic secret's).
#[derive(serde::Deserialize)]
pub(super) struct V1Answer {
    pub(super) data: Option<Data>,
}

/// `{"data": {"data": {...}, "metadata": {...}}}`: a KV v2 answer.
#[derive(serde::Deserialize)]
struct V2Answer {
    data: Option<V2Data>,
}

#[derive(serde::Deserialize)]
struct V2Data {
    data: Option<Data>,
    metadata: Option<Value>,
}

/// Whether a mount declared KV v2 is in fact KV v1, asked after a v2 read found nothing. The
/// two engines answer a v1-shaped read differently: v2 refuses it with a 404 whose warning says
/// "Invalid path for a versioned K/V secrets engine"; v1 answers 200 (the secret is there) or a
/// plain 404. Anything else (403: the token may read only the v2 paths) proves nothing, and the
/// secret is reported missing as before.
async fn is_v1(client: &Client, secret: &KvRef) -> bool {
    let as_v1 = KvRef {
        mount: Mount {
            version: KvVersion::V1,
            ..secret.mount.clone()
        },
        ..secret.clone()
    };
    match client.get(&as_v1.url(Op::Data)).await {
        Ok(reply) if reply.status == 200 => true,
        Ok(reply) if reply.status == 404 => !reply
            .warnings()
            .iter()
            .any(|w| w.contains("Invalid path for a versioned K/V")),
        _ => false,
    }
}

/// The names directly under the folder `folder` (a [`KvRef`] whose path is the folder's): secrets
/// as they are, sub-folders ending in `/`. `None` when there is no such folder.
pub async fn list(client: &Client, folder: &KvRef) -> Result<Option<Vec<String>>, VaultError> {
    let reply = client.list(&folder.url(Op::Metadata)).await?;
    listing(client, folder, reply, "list").await
}

/// Every secret below the folder `folder`, at any depth, as paths relative to it, in one
/// request: OpenBao's `SCAN`. `Ok(None)` when the server cannot scan here (HashiCorp Vault has no
/// `SCAN` and answers 405; a token may lack the `scan` capability and get 403): the caller then
/// lists level by level.
pub async fn scan(client: &Client, folder: &KvRef) -> Result<Option<Vec<String>>, VaultError> {
    let reply = client.scan(&folder.url(Op::Metadata)).await?;
    match reply.status {
        405 | 403 => Ok(None),
        _ => Ok(Some(
            listing(client, folder, reply, "scan")
                .await?
                .unwrap_or_default(),
        )),
    }
}

async fn listing(
    client: &Client,
    folder: &KvRef,
    reply: super::client::Reply,
    capability: &'static str,
) -> Result<Option<Vec<String>>, VaultError> {
    match reply.status {
        200 => {}
        404 => {
            let errors = reply.errors();
            if errors.contains("namespace not found") {
                return Err(VaultError::NamespaceNotFound { message: errors });
            }
            return Ok(None);
        }
        403 => {
            return Err(if client.token_is_bad().await? {
                VaultError::TokenRejected
            } else {
                VaultError::Forbidden {
                    capability,
                    api_path: format!("{}/", folder.api_path(Op::Metadata).trim_end_matches('/')),
                }
            });
        }
        status => {
            return Err(VaultError::Server {
                status,
                message: reply.errors(),
            });
        }
    }
    // A folder that exists but holds nothing answers `{}` with no `keys`.
    let Some(keys) = reply.body.get("data").and_then(|d| d.get("keys")) else {
        return Ok(Some(Vec::new()));
    };
    let keys = keys.as_array().ok_or_else(|| VaultError::BadResponse {
        reason: format!("the {capability} answer's data.keys is not a list"),
    })?;
    keys.iter()
        .map(|k| {
            k.as_str()
                .filter(|k| !k.is_empty() && !k.chars().any(char::is_control))
                .map(str::to_owned)
                .ok_or_else(|| VaultError::BadResponse {
                    reason: format!(
                        "the {capability} answer holds a name that is not a clean string"
                    ),
                })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Why a write did not happen.
#[derive(Debug)]
pub enum WriteRefused {
    /// KV v2 check-and-set: the secret changed since it was read.
    Changed,
    Vault(VaultError),
}

/// Write the whole secret at `path`. On KV v2 with `cas`, only if its current version is still
/// `cas` (0: only if it does not exist), so a concurrent change is detected, not overwritten.
pub async fn write(
    client: &Client,
    secret: &KvRef,
    data: &Data,
    cas: Option<u64>,
) -> Result<(), WriteRefused> {
    let body = match secret.mount.version {
        KvVersion::V1 => data.to_json(),
        KvVersion::V2 => {
            let options = cas
                .map(|cas| format!(",\"options\":{{\"cas\":{cas}}}"))
                .unwrap_or_default();
            format!("{{\"data\":{}{options}}}", data.to_json())
        }
    };
    let reply = client
        .post_raw(&secret.url(Op::Data), body)
        .await
        .map_err(WriteRefused::Vault)?;
    match reply.status {
        200 | 204 => Ok(()),
        400 if reply.errors().contains("check-and-set") => Err(WriteRefused::Changed),
        403 => Err(WriteRefused::Vault(match client.token_is_bad().await {
            Ok(false) => VaultError::Forbidden {
                capability: "update",
                api_path: secret.api_path(Op::Data),
            },
            Ok(true) => VaultError::TokenRejected,
            Err(e) => e,
        })),
        status => Err(WriteRefused::Vault(VaultError::Server {
            status,
            message: reply.errors(),
        })),
    }
}

#[cfg(test)]
mod tests;
