//! Talking to Vault or OpenBao: the HTTP client ([`client`]), getting a token ([`auth`]), and the
//! KV engine's mounts, references, reads and writes ([`kv`], [`data`]). `docs/vault-api.md` lists
//! the answers it handles.
//!
//! Nothing here knows about the manifest or the command line: it is handed plain settings (an
//! address, [`client::Tls`], an [`auth::Login`] whose credentials are already read) by
//! `crate::settings`. The only files it reads are the CA bundles and client certificates the
//! TLS settings name. Errors say what the server answered and what to do about it, but never
//! carry the token or a secret value: the token lives in a header value marked sensitive,
//! credentials travel as [`crate::secret::Secret`]s, a reply's `Debug` shows its status only,
//! and a secret's data ([`data::Data`]) shows its keys only.

mod address;
pub mod auth;
pub mod client;
pub mod data;
pub mod dynamic;
mod external;
pub mod kv;
mod reply;
mod retry;
mod tls;

use thiserror::Error;

use crate::error::code;

pub use client::Client;

/// What a 403 means: the token is bad (invalid, expired, revoked), or its policies do not
/// allow `capability` on `api_path` (see [`Client::token_is_bad`]).
pub(crate) async fn refused(
    client: &Client,
    capability: &'static str,
    api_path: String,
) -> VaultError {
    match client.token_is_bad().await {
        Ok(true) => VaultError::TokenRejected,
        Ok(false) => VaultError::Forbidden {
            capability,
            api_path,
        },
        Err(e) => e,
    }
}

/// A 404 that is not about the path: the namespace or the mount is not there.
pub(crate) fn not_found_elsewhere(reply: &client::Reply) -> Option<VaultError> {
    let errors = reply.errors();
    if errors.contains("namespace not found") {
        Some(VaultError::NamespaceNotFound { message: errors })
    } else if errors.contains("no handler for route") {
        Some(VaultError::NoMount { message: errors })
    } else {
        None
    }
}

/// A failed conversation with the server.
#[derive(Debug, Clone, Error)]
pub enum VaultError {
    #[error("invalid Vault address {address:?}: {reason}")]
    InvalidAddress { address: String, reason: String },
    #[error(
        "invalid namespace: it has characters an HTTP header cannot carry; check [vault] namespace, [vault.auth] namespace, --namespace or VAULT_NAMESPACE"
    )]
    InvalidNamespace,
    #[error("TLS setup failed: {reason}")]
    Tls { reason: String },
    #[error("{field}: {reason}")]
    Credential { field: &'static str, reason: String },
    #[error("login with {method} at auth/{mount} failed: {message}")]
    LoginFailed {
        method: &'static str,
        mount: String,
        message: String,
    },
    #[error(
        "no Vault token: set VAULT_TOKEN (or BAO_TOKEN), or run `bao login` / `vault login` to write ~/.vault-token"
    )]
    NoToken,
    #[error(
        "the Vault token from {source_name} contains characters that cannot be sent in an HTTP header"
    )]
    BadTokenHeader { source_name: String },
    #[error("cannot read the Vault token file {path}: {reason}")]
    TokenFile { path: String, reason: String },
    #[error(
        "Vault refused the token (permission denied, also on auth/token/lookup-self): it is invalid, expired or revoked; get a new one"
    )]
    TokenRejected,
    #[error(
        "permission denied: the token's policies do not allow `{capability}` on {api_path}; `kvenv policy` prints the policy this manifest needs"
    )]
    Forbidden {
        capability: &'static str,
        api_path: String,
    },
    #[error(
        "permission denied looking up its mount: no such mount, or the token's policies grant nothing under it (if only detection is refused, declare the mount: [vault] kv_version = {{ \"<mount>\" = 2 }})"
    )]
    NoMountAccess,
    #[error("no such mount (Vault: {message})")]
    NoMount { message: String },
    #[error("mount {mount} is a {kind:?} secrets engine, not KV")]
    NotKv { mount: String, kind: String },
    #[error(
        "mount {mount} is KV v2 but the manifest declares kv_version = 1 for it; set it to 2 or remove it"
    )]
    DeclaredV1IsV2 { mount: String },
    #[error(
        "mount {mount} is KV v1 but the manifest declares kv_version = 2 for it; set it to 1 or remove it"
    )]
    DeclaredV2IsV1 { mount: String },
    #[error(
        "namespace not found (Vault: {message}); check [vault] namespace, --namespace or VAULT_NAMESPACE"
    )]
    NamespaceNotFound { message: String },
    #[error("Vault at {address} is sealed; unseal it (`bao operator unseal`) and run again")]
    Sealed { address: String },
    #[error("cannot reach Vault at {address}: {reason}")]
    Unreachable { address: String, reason: String },
    #[error("Vault answered HTTP {status}{}", if message.is_empty() { String::new() } else { format!(": {message}") })]
    Server { status: u16, message: String },
    #[error(
        "Vault redirected to {location}, another scheme, host or port; kvenv does not send the token there"
    )]
    Redirect { location: String },
    #[error(
        "Vault's answer is larger than {limit}, the most kvenv accepts; raise --max-response if the secret really is that large"
    )]
    TooLarge { limit: String },
    #[error("unexpected answer from Vault: {reason}")]
    BadResponse { reason: String },
    #[error("no answer from Vault within {seconds}s; raise --timeout or check the server")]
    Timeout { seconds: f64 },
    /// A token or lease at (or past) its max TTL, or never renewable (Vault: "past the max
    /// TTL, cannot renew", "lease is not renewable").
    #[error("it cannot be renewed further (Vault: {message})")]
    NotRenewable { message: String },
}

impl VaultError {
    /// The server cannot serve anyone (down, sealed, failing after retries): further requests
    /// would only wait for the same answer.
    pub fn server_down(&self) -> bool {
        match self {
            VaultError::Unreachable { .. } | VaultError::Sealed { .. } => true,
            VaultError::Server { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }

    /// A failure of the server, the address or the token, not of the path that met it: the
    /// same for every entry, so it is reported once and on no entry in particular.
    pub fn server_wide(&self) -> bool {
        use VaultError::*;
        match self {
            Sealed { .. }
            | Unreachable { .. }
            | TokenRejected
            | NoToken
            | BadTokenHeader { .. }
            | TokenFile { .. }
            | NamespaceNotFound { .. }
            | InvalidNamespace
            | InvalidAddress { .. }
            | Tls { .. }
            | Timeout { .. } => true,
            // A 500 can be about one path ("could not find version data"); the others are the
            // server's state (502, 503, 504), a rate limit or the token.
            Server { status, .. } => *status > 500 || matches!(status, 401 | 412 | 429),
            _ => false,
        }
    }

    pub fn exit_code(&self) -> u8 {
        use VaultError::*;
        match self {
            InvalidAddress { .. }
            | InvalidNamespace
            | DeclaredV1IsV2 { .. }
            | DeclaredV2IsV1 { .. }
            | Tls { .. } => code::USAGE,
            // A 401 is an authentication failure; other 4xx answers (400, 405, 415...) say the
            // request was wrong, which retrying or waiting for the server will not fix.
            Server { status: 401, .. } => code::AUTH,
            Server { status, .. }
                if (400..500).contains(status) && !matches!(status, 412 | 429) =>
            {
                code::USAGE
            }
            NoToken
            | BadTokenHeader { .. }
            | TokenFile { .. }
            | TokenRejected
            | Credential { .. }
            | LoginFailed { .. } => code::AUTH,
            NotRenewable { .. } => code::AUTH,
            Forbidden { .. }
            | NoMountAccess
            | NoMount { .. }
            | NotKv { .. }
            | NamespaceNotFound { .. } => code::MISSING,
            Sealed { .. }
            | Unreachable { .. }
            | Server { .. }
            | Redirect { .. }
            | TooLarge { .. }
            | BadResponse { .. }
            | Timeout { .. } => code::UNAVAILABLE,
        }
    }
}
