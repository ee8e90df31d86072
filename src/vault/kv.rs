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

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use super::{Client, VaultError};
use crate::plan::KvVersion;

/// A KV mount as the server describes it (or the manifest declares it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// With one trailing slash: `team/apps/kv/`.
    pub path: String,
    pub version: KvVersion,
    /// The version comes from the manifest's `kv_version`, not from the server: a read that
    /// finds nothing double-checks it (a wrong declaration looks like a missing secret).
    pub declared: bool,
}

/// A secret's keys and values as the server sent them: each value's exact JSON text, in the
/// server's order. Numbers keep their digits and exponent as written (KV v1 stores the text it
/// was given; re-formatting `1e3` as `1e+3` or `1000` would change the value), and writing the
/// secret back (`kvenv push`) sends every other key exactly as it was.
///
/// `Debug` shows the keys only: the values are secrets.
#[derive(Default)]
pub struct Data(Vec<(String, Box<RawValue>)>);

impl std::fmt::Debug for Data {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.keys()).finish()
    }
}

impl Data {
    /// The JSON text of `key`'s value.
    pub fn get(&self, key: &str) -> Option<&RawValue> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| &**v)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &RawValue)> {
        self.0.iter().map(|(k, v)| (k.as_str(), &**v))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Set `key` to the string `value` (replacing, or appending a new key).
    pub fn set_string(&mut self, key: &str, value: &str) {
        let raw = RawValue::from_string(Value::String(value.to_owned()).to_string())
            .unwrap_or_else(|_| RawValue::from_string("\"\"".into()).expect("valid JSON"));
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = raw,
            None => self.0.push((key.to_owned(), raw)),
        }
    }

    /// The secret as a JSON object, every value as received.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{");
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&Value::String(k.clone()).to_string());
            out.push(':');
            out.push_str(v.get());
        }
        out.push('}');
        out
    }
}

impl<'de> Deserialize<'de> for Data {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct DataVisitor;
        impl<'de> Visitor<'de> for DataVisitor {
            type Value = Data;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Data, A::Error> {
                let mut data = Data::default();
                while let Some((key, value)) = map.next_entry::<String, Box<RawValue>>()? {
                    // A repeated key: the last one wins, as in every JSON reader Vault's
                    // clients use.
                    match data.0.iter_mut().find(|(k, _)| *k == key) {
                        Some(slot) => slot.1 = value,
                        None => data.0.push((key, value)),
                    }
                }
                Ok(data)
            }
        }
        d.deserialize_map(DataVisitor)
    }
}

/// A value as an environment variable's text, `None` for JSON `null`: strings as they are,
/// numbers and booleans as the JSON text the server sent, objects and arrays as compact JSON
/// (insignificant whitespace removed, everything else as sent).
pub fn text(raw: &RawValue) -> Option<String> {
    let t = raw.get().trim();
    match t.as_bytes().first() {
        Some(b'"') => serde_json::from_str::<String>(t).ok(),
        Some(b'n') => None,
        Some(b'{' | b'[') => Some(compact(t)),
        _ => Some(t.to_owned()),
    }
}

/// Valid JSON text without the whitespace between tokens.
fn compact(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            out.push(c);
        }
    }
    out
}

/// What a read found.
#[derive(Debug)]
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
            return Err(if client.token_is_bad().await? {
                VaultError::TokenRejected
            } else {
                VaultError::Forbidden {
                    capability: "read",
                    api_path: api_path.split('?').next().unwrap_or_default().to_owned(),
                }
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
            if mount.version == KvVersion::V2 && mount.declared && is_v1(client, mount, rest).await
            {
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
        reason: format!("the answer for {path} has no {what} (is the mount's kv_version right?)"),
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

/// `{"data": {...}}`: a KV v1 answer.
#[derive(serde::Deserialize)]
struct V1Answer {
    data: Option<Data>,
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
async fn is_v1(client: &Client, mount: &Mount, rest: &str) -> bool {
    let api_path = format!("{}{}", encode_path(&mount.path), encode_path(rest));
    match client.get(&api_path).await {
        Ok(reply) if reply.status == 200 => true,
        Ok(reply) if reply.status == 404 => !reply
            .warnings()
            .iter()
            .any(|w| w.contains("Invalid path for a versioned K/V")),
        _ => false,
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
    data: &Data,
    cas: Option<u64>,
) -> Result<(), WriteRefused> {
    let rest = path.strip_prefix(mount.path.as_str()).unwrap_or("");
    let (api_path, body) = match mount.version {
        KvVersion::V1 => (
            format!("{}{}", encode_path(&mount.path), encode_path(rest)),
            data.to_json(),
        ),
        KvVersion::V2 => {
            let options = cas
                .map(|cas| format!(",\"options\":{{\"cas\":{cas}}}"))
                .unwrap_or_default();
            (
                format!("{}data/{}", encode_path(&mount.path), encode_path(rest)),
                format!("{{\"data\":{}{options}}}", data.to_json()),
            )
        }
    };
    let reply = client
        .post_raw(&api_path, body)
        .await
        .map_err(WriteRefused::Vault)?;
    match reply.status {
        200 | 204 => Ok(()),
        400 if reply.errors().contains("check-and-set") => Err(WriteRefused::Changed),
        403 => Err(WriteRefused::Vault(match client.token_is_bad().await {
            Ok(false) => VaultError::Forbidden {
                capability: "update",
                api_path,
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
mod tests {
    use super::*;

    #[test]
    fn paths_are_encoded_by_segment() {
        assert_eq!(encode_path("kv/my app/db%pass"), "kv/my%20app/db%25pass");
        assert_eq!(encode_path("kv/a?b#c"), "kv/a%3Fb%23c");
        assert_eq!(encode_path("team/apps/kv/"), "team/apps/kv/");
        assert_eq!(encode_path("kv/é"), "kv/%C3%A9");
    }

    fn data(json: &str) -> Data {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn values_keep_their_json_text() {
        let d = data(
            r#"{"a":1e3,"b":12345678901234567890123,"c":true,"d":{ "x" : [1, "y z"] },"e":"s\n","f":null,"g":1E5,"h":-0.0}"#,
        );
        let texts: Vec<(&str, Option<String>)> = d.iter().map(|(k, v)| (k, text(v))).collect();
        assert_eq!(
            texts,
            [
                ("a", Some("1e3".into())),
                ("b", Some("12345678901234567890123".into())),
                ("c", Some("true".into())),
                ("d", Some(r#"{"x":[1,"y z"]}"#.into())),
                ("e", Some("s\n".into())),
                ("f", None),
                ("g", Some("1E5".into())),
                ("h", Some("-0.0".into())),
            ]
        );
    }

    #[test]
    fn data_debug_shows_keys_only_and_writes_back_exactly() {
        let mut d = data(r#"{"n":1e3,"secret":"CANARY"}"#);
        assert_eq!(format!("{d:?}"), r#"{"n", "secret"}"#);
        d.set_string("new", "v\"");
        d.set_string("secret", "other");
        assert_eq!(d.to_json(), r#"{"n":1e3,"secret":"other","new":"v\""}"#);
    }
}
