//! The KV secrets engine: which mount a path is under, which version it is, and reading a secret.
//!
//! KV v1 reads `GET /v1/<mount>/<rest>` and v2 reads `GET /v1/<mount>/data/<rest>`, so the mount
//! boundary must be known, and mounts can span several segments (`team/apps/kv/`). kvenv asks
//! `sys/internal/ui/mounts/<path>`, which finds the mount by longest prefix and works for any
//! token that can touch something under it; the manifest can declare `kv_version` instead.
//!
//! The answers a read can get are many (see `shared/reference/vault-api.md` §1 and §8): a v2 404
//! with `data.metadata` means a deleted or destroyed version, a plain 404 means missing, a 404
//! whose warning says "Invalid path for a versioned K/V secrets engine" means the v1 URL shape was
//! used on a v2 mount. [`read`] tells them apart and checks the body's shape, so a v1 map is
//! never misread as v2 or the other way round.

use serde_json::{Map, Value};

use super::{Client, VaultError};
use crate::plan::KvVersion;

/// A KV mount as the server describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// With one trailing slash: `team/apps/kv/`.
    pub path: String,
    pub version: KvVersion,
}

/// What a read found.
#[derive(Debug)]
pub enum Read {
    Found {
        data: Map<String, Value>,
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
            return Err(if client.token_is_valid().await? {
                VaultError::NoMountAccess
            } else {
                VaultError::TokenRejected
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
    })
}

/// Read the secret at `path` (which starts with `mount.path`), at `version` on KV v2.
pub async fn read(
    client: &Client,
    mount: &Mount,
    path: &str,
    version: Option<u64>,
) -> Result<Read, VaultError> {
    let rest = path.strip_prefix(mount.path.as_str()).unwrap_or("");
    let api_path = match mount.version {
        KvVersion::V1 => format!("{}{}", encode_path(&mount.path), encode_path(rest)),
        KvVersion::V2 => {
            let mut p = format!("{}data/{}", encode_path(&mount.path), encode_path(rest));
            if let Some(v) = version {
                p.push_str(&format!("?version={v}"));
            }
            p
        }
    };
    let reply = client.get(&api_path).await?;
    let warnings = reply.warnings();
    match reply.status {
        200 => {}
        403 => {
            return Err(if client.token_is_valid().await? {
                VaultError::Forbidden {
                    capability: "read",
                    api_path: api_path.split('?').next().unwrap_or_default().to_owned(),
                }
            } else {
                VaultError::TokenRejected
            });
        }
        404 => {
            let errors = reply.errors();
            if errors.contains("namespace not found") {
                return Err(VaultError::NamespaceNotFound { message: errors });
            }
            if errors.contains("no handler for route") {
                return Err(VaultError::NoMount { message: errors });
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
            return Ok(Read::Missing);
        }
        status => {
            return Err(VaultError::Server {
                status,
                message: reply.errors(),
            });
        }
    }
    let data = reply.body.get("data");
    let shape_error = |what: &str| VaultError::BadResponse {
        reason: format!("the answer for {path} has no {what} (is the mount's kv_version right?)"),
    };
    match mount.version {
        KvVersion::V1 => match data {
            Some(Value::Object(map)) => Ok(Read::Found {
                data: map.clone(),
                version: None,
                warnings,
            }),
            _ => Err(shape_error("data object")),
        },
        KvVersion::V2 => {
            let inner = data.and_then(|d| d.get("data"));
            let metadata = data.and_then(|d| d.get("metadata"));
            match (inner, metadata) {
                (Some(Value::Object(map)), Some(Value::Object(meta))) => Ok(Read::Found {
                    data: map.clone(),
                    version: meta.get("version").and_then(Value::as_u64),
                    warnings,
                }),
                _ => Err(shape_error("data.data and data.metadata objects")),
            }
        }
    }
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
    mount: &Mount,
    path: &str,
    data: &Map<String, Value>,
    cas: Option<u64>,
) -> Result<(), WriteRefused> {
    let rest = path.strip_prefix(mount.path.as_str()).unwrap_or("");
    let (api_path, body) = match mount.version {
        KvVersion::V1 => (
            format!("{}{}", encode_path(&mount.path), encode_path(rest)),
            Value::Object(data.clone()),
        ),
        KvVersion::V2 => {
            let mut body = serde_json::json!({ "data": data });
            if let Some(cas) = cas {
                body["options"] = serde_json::json!({ "cas": cas });
            }
            (
                format!("{}data/{}", encode_path(&mount.path), encode_path(rest)),
                body,
            )
        }
    };
    let reply = client
        .post(&api_path, &body, None)
        .await
        .map_err(WriteRefused::Vault)?;
    match reply.status {
        200 | 204 => Ok(()),
        400 if reply.errors().contains("check-and-set") => Err(WriteRefused::Changed),
        403 => Err(WriteRefused::Vault(match client.token_is_valid().await {
            Ok(true) => VaultError::Forbidden {
                capability: "update",
                api_path,
            },
            Ok(false) => VaultError::TokenRejected,
            Err(e) => e,
        })),
        status => Err(WriteRefused::Vault(VaultError::Server {
            status,
            message: reply.errors(),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_encoded_by_segment() {
        assert_eq!(encode_path("kv/my app/db%pass"), "kv/my%20app/db%25pass");
        assert_eq!(encode_path("kv/a?b#c"), "kv/a%3Fb%23c");
        assert_eq!(encode_path("team/apps/kv/"), "team/apps/kv/");
        assert_eq!(encode_path("kv/é"), "kv/%C3%A9");
    }
}
