//! Where the address, namespace, TLS settings and token come from, and logging in.
//!
//! The precedence follows the `bao` and `vault` CLIs, so a shell that works with them works with
//! kvenv: a command-line flag, then `BAO_*`, then `VAULT_*`, then the manifest. The token
//! (method `token`, the default) comes from `BAO_TOKEN`, `VAULT_TOKEN`, a `token = { env | file }`
//! reference in `[vault.auth]`, then `~/.vault-token`, trimmed of surrounding whitespace (a token
//! file usually ends with a newline, which no header may carry).
//!
//! The other methods log in once (`POST auth/<mount>/login`) with credentials read only from
//! `{ env = "NAME" }` or `{ file = "PATH" }` references, and the run revokes the token it got when
//! it ends (unless `keep_token`), so a CI job leaves no live token behind. Login failures keep
//! Vault's reason; the credentials themselves appear nowhere.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::client::Tls;
use super::{Client, VaultError};
use crate::manifest::{AuthMethod, AuthSection, Credential, TlsSection};

/// The default address, as the `vault` CLI has it.
pub const DEFAULT_ADDRESS: &str = "https://127.0.0.1:8200";

/// Reads an environment variable; tests pass their own.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, with empty values treated as unset.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// `--address` > `BAO_ADDR` > `VAULT_ADDR` > manifest > the default.
pub fn address(flag: Option<&str>, manifest: Option<&str>, env: EnvLookup) -> String {
    flag.map(str::to_owned)
        .or_else(|| env("BAO_ADDR"))
        .or_else(|| env("VAULT_ADDR"))
        .or_else(|| manifest.map(str::to_owned))
        .unwrap_or_else(|| DEFAULT_ADDRESS.to_owned())
}

/// `--namespace` > `BAO_NAMESPACE` > `VAULT_NAMESPACE` > manifest.
pub fn namespace(flag: Option<&str>, manifest: Option<&str>, env: EnvLookup) -> Option<String> {
    flag.map(str::to_owned)
        .or_else(|| env("BAO_NAMESPACE"))
        .or_else(|| env("VAULT_NAMESPACE"))
        .or_else(|| manifest.map(str::to_owned))
        .filter(|ns| !ns.trim_matches('/').is_empty())
}

/// The token for method `token`.
pub fn token(auth: &AuthSection, base: &Path, env: EnvLookup) -> Result<String, VaultError> {
    let from_env = env("BAO_TOKEN").or_else(|| env("VAULT_TOKEN"));
    let token = match (from_env, &auth.token) {
        (Some(t), _) => t,
        (None, Some(c)) => credential("token", c, base, env)?,
        (None, None) => match env("HOME") {
            Some(home) => read_token_file(&PathBuf::from(home).join(".vault-token"))?
                .ok_or(VaultError::NoToken)?,
            None => return Err(VaultError::NoToken),
        },
    };
    let token = token.trim().to_owned();
    if token.is_empty() {
        return Err(VaultError::NoToken);
    }
    Ok(token)
}

/// The environment variables kvenv may have read a credential from, for `auth`: the token
/// variables, every `{ env = "NAME" }` of `[vault.auth]`, GitHub Actions' ID-token request
/// variables for that method, and the `NAME_FILE` twin of each (the convention for a file that
/// holds the credential). `kvenv run` removes them all from the command's environment: the app
/// needs the secrets, not the means to fetch any other.
pub fn credential_variables(auth: &AuthSection) -> Vec<String> {
    let mut names: Vec<String> = vec!["VAULT_TOKEN".into(), "BAO_TOKEN".into()];
    for c in [
        &auth.token,
        &auth.role_id,
        &auth.secret_id,
        &auth.jwt,
        &auth.password,
    ]
    .into_iter()
    .flatten()
    {
        if let Credential::Env(name) = c {
            names.push(name.clone());
        }
    }
    if auth.method == AuthMethod::GithubActions {
        names.push("ACTIONS_ID_TOKEN_REQUEST_TOKEN".into());
        names.push("ACTIONS_ID_TOKEN_REQUEST_URL".into());
    }
    let twins: Vec<String> = names.iter().map(|n| format!("{n}_FILE")).collect();
    names.extend(twins);
    names.sort();
    names.dedup();
    names
}

/// Where a Kubernetes pod finds its service-account token.
pub const KUBERNETES_JWT: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// Get the run's token: take it (method `token`) or log in. Returns whether the token was
/// obtained by a login that the run should revoke when it ends.
pub async fn authenticate(
    client: &Client,
    auth: &AuthSection,
    base: &Path,
    env: EnvLookup<'_>,
) -> Result<bool, VaultError> {
    let method = auth.method;
    let mount = auth
        .mount
        .as_deref()
        .map(|m| m.trim_matches('/').to_owned())
        .unwrap_or_else(|| default_mount(method).to_owned());
    let cred =
        |field: &'static str, c: &Option<Credential>| -> Result<Option<String>, VaultError> {
            c.as_ref()
                .map(|c| credential(field, c, base, env))
                .transpose()
        };
    let required = |field: &'static str, v: Option<String>| {
        v.ok_or(VaultError::Credential {
            field,
            reason: "missing".into(),
        })
    };
    let (path, body) = match method {
        AuthMethod::Token => {
            client.set_token(&token(auth, base, env)?)?;
            return Ok(false);
        }
        AuthMethod::Approle => {
            let mut body =
                json!({ "role_id": required("role_id", cred("role_id", &auth.role_id)?)? });
            if let Some(secret_id) = cred("secret_id", &auth.secret_id)? {
                body["secret_id"] = json!(secret_id);
            }
            (format!("auth/{mount}/login"), body)
        }
        AuthMethod::Userpass => {
            let username = auth.username.clone().unwrap_or_default();
            let password = required("password", cred("password", &auth.password)?)?;
            (
                format!("auth/{mount}/login/{}", super::kv::encode_path(&username)),
                json!({ "password": password }),
            )
        }
        AuthMethod::Jwt => {
            let jwt = required("jwt", cred("jwt", &auth.jwt)?)?;
            (
                format!("auth/{mount}/login"),
                json!({ "role": auth.role, "jwt": jwt }),
            )
        }
        AuthMethod::Kubernetes => {
            let jwt = match &auth.jwt {
                Some(c) => credential("jwt", c, base, env)?,
                None => credential("jwt", &Credential::File(KUBERNETES_JWT.into()), base, env)?,
            };
            (
                format!("auth/{mount}/login"),
                json!({ "role": auth.role, "jwt": jwt }),
            )
        }
        AuthMethod::GithubActions => {
            let jwt = github_id_token(auth.audience.as_deref(), env).await?;
            (
                format!("auth/{mount}/login"),
                json!({ "role": auth.role, "jwt": jwt }),
            )
        }
    };
    let reply = client.post(&path, &body, auth.namespace.as_deref()).await?;
    let failed = |message: String| VaultError::LoginFailed {
        method: method.name(),
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
                " (is the {} auth method enabled at auth/{mount}? set [vault.auth] mount)",
                method.name()
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
    Ok(!auth.keep_token.unwrap_or(false))
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

fn default_mount(method: AuthMethod) -> &'static str {
    match method {
        AuthMethod::Token => "token",
        AuthMethod::Approle => "approle",
        AuthMethod::Jwt | AuthMethod::GithubActions => "jwt",
        AuthMethod::Kubernetes => "kubernetes",
        AuthMethod::Userpass => "userpass",
    }
}

/// The GitHub Actions OIDC token: `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=...` with the
/// request token as bearer; the JWT is the answer's `value`.
async fn github_id_token(audience: Option<&str>, env: EnvLookup<'_>) -> Result<String, VaultError> {
    let missing = |name: &str| VaultError::Credential {
        field: "github-actions",
        reason: format!("{name} is not set; give the job `permissions: id-token: write`"),
    };
    let mut url = env("ACTIONS_ID_TOKEN_REQUEST_URL")
        .ok_or_else(|| missing("ACTIONS_ID_TOKEN_REQUEST_URL"))?;
    let bearer = env("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        .ok_or_else(|| missing("ACTIONS_ID_TOKEN_REQUEST_TOKEN"))?;
    if let Some(aud) = audience {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str("audience=");
        url.push_str(&super::kv::encode_path(aud));
    }
    let answer = super::client::get_external_json(&url, &bearer)
        .await
        .map_err(|reason| VaultError::Credential {
            field: "github-actions",
            reason: format!("the ID token request failed: {reason}"),
        })?;
    answer
        .get("value")
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .ok_or(VaultError::Credential {
            field: "github-actions",
            reason: "the ID token answer has no `value`".into(),
        })
}

/// Read a `{ env = "NAME" }` or `{ file = "PATH" }` credential (a relative file is relative to
/// the manifest's folder), trimmed.
fn credential(
    field: &'static str,
    c: &Credential,
    base: &Path,
    env: EnvLookup,
) -> Result<String, VaultError> {
    let value = match c {
        Credential::Env(name) => env(name).ok_or_else(|| VaultError::Credential {
            field,
            reason: format!("the environment variable {name} is not set"),
        })?,
        Credential::File(path) => {
            let full = base.join(path);
            let unreadable = |reason: String| VaultError::Credential {
                field,
                reason: format!("cannot read {}: {reason}", full.display()),
            };
            crate::files::read_text(&full, crate::files::CREDENTIAL_LIMIT)
                .map_err(|e| unreadable(crate::error::io_reason(&e)))?
                .ok_or_else(|| unreadable("no such file or directory".into()))?
        }
    };
    let value = value.trim().to_owned();
    if value.is_empty() {
        return Err(VaultError::Credential {
            field,
            reason: "it is empty".into(),
        });
    }
    Ok(value)
}

/// TLS settings: each from its flag, `BAO_*`, `VAULT_*`, then the manifest's `[vault.tls]`.
pub fn tls(flags: &Tls, manifest: Option<&TlsSection>, base: &Path, env: EnvLookup) -> Tls {
    let path = |flag: &Option<PathBuf>, var: &str, m: Option<&PathBuf>| -> Option<PathBuf> {
        flag.clone()
            .or_else(|| env(&format!("BAO_{var}")).map(PathBuf::from))
            .or_else(|| env(&format!("VAULT_{var}")).map(PathBuf::from))
            .or_else(|| m.map(|p| base.join(p)))
    };
    let truthy = |v: String| matches!(v.as_str(), "1" | "t" | "T" | "true" | "TRUE" | "True");
    let m = manifest.cloned().unwrap_or_default();
    Tls {
        ca_cert: path(&flags.ca_cert, "CACERT", m.ca_cert.as_ref()),
        ca_path: path(&flags.ca_path, "CAPATH", m.ca_path.as_ref()),
        client_cert: path(&flags.client_cert, "CLIENT_CERT", m.client_cert.as_ref()),
        client_key: path(&flags.client_key, "CLIENT_KEY", m.client_key.as_ref()),
        server_name: flags
            .server_name
            .clone()
            .or_else(|| env("BAO_TLS_SERVER_NAME"))
            .or_else(|| env("VAULT_TLS_SERVER_NAME"))
            .or_else(|| m.server_name.clone()),
        skip_verify: flags.skip_verify
            || env("BAO_SKIP_VERIFY").is_some_and(truthy)
            || env("VAULT_SKIP_VERIFY").is_some_and(truthy)
            || m.skip_verify.unwrap_or(false),
    }
}

fn read_token_file(path: &std::path::Path) -> Result<Option<String>, VaultError> {
    match crate::files::read_text(path, crate::files::CREDENTIAL_LIMIT) {
        Ok(t) => Ok(t.filter(|t| !t.trim().is_empty())),
        Err(e) => Err(VaultError::TokenFile {
            path: path.display().to_string(),
            reason: crate::error::io_reason(&e),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn address_precedence() {
        let env = env_of(&[("BAO_ADDR", "http://bao"), ("VAULT_ADDR", "http://vault")]);
        assert_eq!(
            address(Some("http://flag"), Some("http://m"), &env),
            "http://flag"
        );
        assert_eq!(address(None, Some("http://m"), &env), "http://bao");
        let env = env_of(&[("VAULT_ADDR", "http://vault")]);
        assert_eq!(address(None, Some("http://m"), &env), "http://vault");
        let env = env_of(&[]);
        assert_eq!(address(None, Some("http://m"), &env), "http://m");
        assert_eq!(address(None, None, &env), DEFAULT_ADDRESS);
    }

    #[test]
    fn token_precedence_and_trimming() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".vault-token"), "from-file\n").unwrap();
        let home = dir.path().to_str().unwrap();
        let auth = AuthSection::default();
        let env = env_of(&[("BAO_TOKEN", " b "), ("VAULT_TOKEN", "v"), ("HOME", home)]);
        assert_eq!(token(&auth, Path::new("."), &env).unwrap(), "b");
        let env = env_of(&[("VAULT_TOKEN", "v"), ("HOME", home)]);
        assert_eq!(token(&auth, Path::new("."), &env).unwrap(), "v");
        let env = env_of(&[("HOME", home)]);
        assert_eq!(token(&auth, Path::new("."), &env).unwrap(), "from-file");
        let env = env_of(&[("HOME", "/nonexistent")]);
        assert!(matches!(
            token(&auth, Path::new("."), &env),
            Err(VaultError::NoToken)
        ));
        let auth = AuthSection {
            token: Some(Credential::Env("MY_TOKEN".into())),
            ..Default::default()
        };
        let env = env_of(&[("MY_TOKEN", "mine"), ("HOME", home)]);
        assert_eq!(token(&auth, Path::new("."), &env).unwrap(), "mine");
    }
}
