//! Getting the run's token: taking the one given, or logging in; and revoking it afterwards.
//!
//! The credentials arrive already read ([`Login`], built by [`crate::settings`] from the
//! manifest's `{ env }`/`{ file }` references): this module only speaks the HTTP side. A login
//! (`POST auth/<mount>/login`) happens once; the run revokes the token it got when it ends
//! (unless `keep_token`), so a CI job leaves no live token behind. Login failures keep Vault's
//! reason; the credentials themselves appear nowhere (they travel as [`Secret`]s).

use std::time::Duration;

use serde_json::{Value, json};

use super::{Client, VaultError};
use crate::secret::Secret;

/// How to get the token, with every credential already read.
#[derive(Debug, Clone)]
pub struct Login {
    pub method: Method,
    /// Where the method is enabled, without slashes: `approle`.
    pub mount: String,
    /// The namespace to log in to, when it is not the one the reads use.
    pub namespace: Option<String>,
    /// Leave the login token alive after the run.
    pub keep_token: bool,
}

/// An auth method and its credentials.
#[derive(Debug, Clone)]
pub enum Method {
    /// A token given outright: nothing to log in to, nothing to revoke.
    Token(Secret),
    AppRole {
        role_id: Secret,
        secret_id: Option<Secret>,
    },
    Userpass {
        username: String,
        password: Secret,
    },
    Jwt {
        role: String,
        jwt: Secret,
    },
    Kubernetes {
        role: String,
        jwt: Secret,
    },
    /// GitHub Actions OIDC: kvenv asks the runner for an ID token, then logs in with it.
    GithubActions {
        role: String,
        audience: Option<String>,
        request_url: String,
        request_token: Secret,
    },
}

impl Method {
    /// The method's name, as the manifest writes it.
    pub fn name(&self) -> &'static str {
        match self {
            Method::Token(_) => "token",
            Method::AppRole { .. } => "approle",
            Method::Userpass { .. } => "userpass",
            Method::Jwt { .. } => "jwt",
            Method::Kubernetes { .. } => "kubernetes",
            Method::GithubActions { .. } => "github-actions",
        }
    }

    /// Where the method is usually enabled.
    pub fn default_mount(name: &str) -> &'static str {
        match name {
            "approle" => "approle",
            "userpass" => "userpass",
            "jwt" | "github-actions" => "jwt",
            "kubernetes" => "kubernetes",
            _ => "token",
        }
    }
}

/// The token a run got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// Obtained by a login that the run should revoke when it ends.
    pub revoke: bool,
    /// Its TTL and renewability when a login said; `None` for a token given outright (a
    /// watch asks `lookup-self`).
    pub life: Option<Life>,
}

/// How long a token lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Life {
    /// Time left; zero for a token that never expires (root).
    pub ttl: Duration,
    pub renewable: bool,
}

/// Get the run's token: take it (method `token`) or log in.
pub async fn login(client: &Client, login: &Login) -> Result<Token, VaultError> {
    let mount = &login.mount;
    let (path, body) = match &login.method {
        Method::Token(token) => {
            client.set_token(token.expose())?;
            return Ok(Token {
                revoke: false,
                life: None,
            });
        }
        Method::AppRole { role_id, secret_id } => {
            let mut body = json!({ "role_id": role_id.expose() });
            if let Some(secret_id) = secret_id {
                body["secret_id"] = json!(secret_id.expose());
            }
            (format!("auth/{mount}/login"), body)
        }
        Method::Userpass { username, password } => (
            format!("auth/{mount}/login/{}", super::kv::encode_path(username)),
            json!({ "password": password.expose() }),
        ),
        Method::Jwt { role, jwt } | Method::Kubernetes { role, jwt } => (
            format!("auth/{mount}/login"),
            json!({ "role": role, "jwt": jwt.expose() }),
        ),
        Method::GithubActions {
            role,
            audience,
            request_url,
            request_token,
        } => {
            let jwt = github_id_token(request_url, request_token, audience.as_deref()).await?;
            (
                format!("auth/{mount}/login"),
                json!({ "role": role, "jwt": jwt.expose() }),
            )
        }
    };
    let name = login.method.name();
    let reply = client
        .post(&path, &body, login.namespace.as_deref())
        .await?;
    let failed = |message: String| VaultError::LoginFailed {
        method: name,
        mount: mount.clone(),
        message,
    };
    if reply.status != 200 {
        let errors = reply.errors();
        let mut message = format!("HTTP {}", reply.status);
        if !errors.is_empty() {
            message.push_str(&format!(": {errors}"));
        }
        if reply.status == 403 {
            message.push_str(&format!(
                " (is the {name} auth method enabled at auth/{mount}? set [vault.auth] mount)"
            ));
        }
        return Err(failed(message));
    }
    let token = reply
        .body
        .get("auth")
        .and_then(|a| a.get("client_token"))
        .and_then(Value::as_str)
        .ok_or_else(|| failed("the answer has no auth.client_token".into()))?;
    client.set_token(token)?;
    Ok(Token {
        revoke: !login.keep_token,
        life: reply.body.get("auth").map(life),
    })
}

/// `lease_duration` and `renewable` of an `auth` object, or of the answer to a dynamic read
/// (the same two fields, for its lease).
pub(super) fn life(auth: &Value) -> Life {
    Life {
        ttl: Duration::from_secs(
            auth.get("lease_duration")
                .and_then(Value::as_u64)
                .unwrap_or(0),
        ),
        renewable: auth
            .get("renewable")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    }
}

/// The token's TTL and renewability (`auth/token/lookup-self`, granted by the `default`
/// policy). `None` when the token may not look itself up: a watch then cannot plan renewals,
/// and says so.
pub async fn lookup_self(client: &Client) -> Result<Option<Life>, VaultError> {
    let reply = client.get("auth/token/lookup-self").await?;
    match reply.status {
        200 => {
            let data = reply.body.get("data").cloned().unwrap_or_default();
            Ok(Some(Life {
                ttl: Duration::from_secs(data.get("ttl").and_then(Value::as_u64).unwrap_or(0)),
                renewable: data
                    .get("renewable")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            }))
        }
        403 if client.token_is_bad().await? => Err(VaultError::TokenRejected),
        403 => Ok(None),
        status => Err(VaultError::Server {
            status,
            message: reply.errors(),
        }),
    }
}

/// Renew the token by `increment` (`auth/token/renew-self`). The TTL granted is less than asked
/// once the token's max TTL is near.
pub async fn renew_self(client: &Client, increment: Duration) -> Result<Life, VaultError> {
    let body = json!({ "increment": increment.as_secs() });
    let reply = client
        .post("auth/token/renew-self", &body, None)
        .await
        .map_err(renewal_refused)?;
    match reply.status {
        200 => Ok(reply.body.get("auth").map(life).unwrap_or(Life {
            ttl: Duration::ZERO,
            renewable: false,
        })),
        403 => Err(super::refused(client, "update", "auth/token/renew-self".into()).await),
        status => Err(not_renewable(status, reply.errors())),
    }
}

/// Revoke the run's token (one obtained by login), so it cannot be reused after the run.
pub async fn revoke(client: &Client) -> Result<(), VaultError> {
    let reply = client
        .post("auth/token/revoke-self", &json!({}), None)
        .await?;
    match reply.status {
        200 | 204 => Ok(()),
        status => Err(VaultError::Server {
            status,
            message: reply.errors(),
        }),
    }
}

/// A refused renewal: [`VaultError::NotRenewable`] when Vault says the token or lease has
/// reached its max TTL or is not renewable (OpenBao answers 500 "past the max TTL, cannot
/// renew" near the end, 400 "lease is not renewable" for root tokens), else the server's error.
/// The client's error for a 5xx answer, read as [`not_renewable`].
pub(super) fn renewal_refused(e: VaultError) -> VaultError {
    match e {
        VaultError::Server { status, message } => not_renewable(status, message),
        e => e,
    }
}

pub(super) fn not_renewable(status: u16, message: String) -> VaultError {
    if message.contains("max TTL") || message.contains("not renewable") {
        VaultError::NotRenewable { message }
    } else {
        VaultError::Server { status, message }
    }
}

/// The GitHub Actions OIDC token: `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=...` with the
/// request token as bearer; the JWT is the answer's `value`.
async fn github_id_token(
    url: &str,
    bearer: &Secret,
    audience: Option<&str>,
) -> Result<Secret, VaultError> {
    let mut url = url.to_owned();
    if let Some(aud) = audience {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str("audience=");
        url.push_str(&super::kv::encode_path(aud));
    }
    let answer = super::external::get_external_json(&url, bearer.expose())
        .await
        .map_err(|reason| VaultError::Credential {
            field: "github-actions",
            reason: format!("the ID token request failed: {reason}"),
        })?;
    answer
        .get("value")
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
        .map(Secret::new)
        .ok_or(VaultError::Credential {
            field: "github-actions",
            reason: "the ID token answer has no `value`".into(),
        })
}
