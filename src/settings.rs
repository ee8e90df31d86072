//! Where the Vault address, namespace, TLS settings and credentials come from.
//!
//! The precedence follows the `bao` and `vault` CLIs, so a shell that works with them works with
//! kvenv: a command-line flag, then `BAO_*`, then `VAULT_*`, then the manifest. The token
//! (method `token`, the default) comes from `BAO_TOKEN`, `VAULT_TOKEN`, a `token = { env | file }`
//! reference in `[vault.auth]`, then `~/.vault-token`, trimmed of surrounding whitespace (a token
//! file usually ends with a newline, which no header may carry). The other methods' credentials
//! are read only from `{ env = "NAME" }` or `{ file = "PATH" }` references.
//!
//! This is the one place that joins the command line, the environment and the manifest for the
//! connection: [`crate::vault`] gets plain values ([`Tls`], [`Login`]) and knows nothing of
//! where they came from.

use std::path::{Path, PathBuf};

use crate::manifest::{AuthCommon, AuthSection, Credential, TlsSection};
use crate::plan::Plan;
use crate::secret::Secret;
use crate::vault::VaultError;
use crate::vault::auth::{Login, Method};
use crate::vault::client::Tls;

/// The default address, as the `vault` CLI has it.
pub const DEFAULT_ADDRESS: &str = "https://127.0.0.1:8200";

/// Where a Kubernetes pod finds its service-account token.
pub const KUBERNETES_JWT: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// Reads an environment variable; tests pass their own.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, with empty values treated as unset.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// What the command line says about the connection.
#[derive(Debug, Default, Clone)]
pub struct Flags {
    pub address: Option<String>,
    pub namespace: Option<String>,
    pub tls: Tls,
}

/// Where and how to connect.
#[derive(Debug)]
pub struct Connection {
    pub address: String,
    pub namespace: Option<String>,
    pub tls: Tls,
}

/// The connection for `plan`, from `flags`, the environment and the manifest.
pub fn connection(flags: &Flags, plan: &Plan, env: EnvLookup) -> Connection {
    Connection {
        address: address(flags.address.as_deref(), plan.vault.address.as_deref(), env),
        namespace: namespace(
            flags.namespace.as_deref(),
            plan.vault.namespace.as_deref(),
            env,
        ),
        tls: tls(
            &flags.tls,
            plan.vault.tls.as_ref(),
            plan.manifest_dir(),
            env,
        ),
    }
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

/// The login for `auth`, every credential read now (a relative file is relative to `base`, the
/// manifest's folder).
pub fn login(auth: &AuthSection, base: &Path, env: EnvLookup) -> Result<Login, VaultError> {
    let cred = |field, c: &Credential| credential(field, c, base, env);
    let with = |common: &AuthCommon, method: Method| Login {
        mount: common
            .mount
            .as_deref()
            .map(|m| m.trim_matches('/').to_owned())
            .unwrap_or_else(|| Method::default_mount(auth.method()).to_owned()),
        namespace: common.namespace.clone(),
        keep_token: common.keep_token,
        method,
    };
    Ok(match auth {
        AuthSection::Token { token: reference } => Login {
            method: Method::Token(token(reference.as_ref(), base, env)?),
            mount: "token".into(),
            namespace: None,
            keep_token: true,
        },
        AuthSection::Approle {
            common,
            role_id,
            secret_id,
        } => with(
            common,
            Method::AppRole {
                role_id: cred("role_id", role_id)?,
                secret_id: secret_id
                    .as_ref()
                    .map(|c| cred("secret_id", c))
                    .transpose()?,
            },
        ),
        AuthSection::Userpass {
            common,
            username,
            password,
        } => with(
            common,
            Method::Userpass {
                username: username.clone(),
                password: cred("password", password)?,
            },
        ),
        AuthSection::Jwt { common, role, jwt } => with(
            common,
            Method::Jwt {
                role: role.clone(),
                jwt: cred("jwt", jwt)?,
            },
        ),
        AuthSection::Kubernetes { common, role, jwt } => {
            let default = Credential::File(KUBERNETES_JWT.into());
            with(
                common,
                Method::Kubernetes {
                    role: role.clone(),
                    jwt: cred("jwt", jwt.as_ref().unwrap_or(&default))?,
                },
            )
        }
        AuthSection::GithubActions {
            common,
            role,
            audience,
        } => {
            let missing = |name: &str| VaultError::Credential {
                field: "github-actions",
                reason: format!("{name} is not set; give the job `permissions: id-token: write`"),
            };
            let request_url = env("ACTIONS_ID_TOKEN_REQUEST_URL")
                .ok_or_else(|| missing("ACTIONS_ID_TOKEN_REQUEST_URL"))?;
            let request_token = env("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
                .ok_or_else(|| missing("ACTIONS_ID_TOKEN_REQUEST_TOKEN"))?;
            with(
                common,
                Method::GithubActions {
                    role: role.clone(),
                    audience: audience.clone(),
                    request_url,
                    request_token: Secret::new(request_token),
                },
            )
        }
    })
}

/// The token for method `token`: `BAO_TOKEN` > `VAULT_TOKEN` > the manifest's reference >
/// `~/.vault-token`.
fn token(
    reference: Option<&Credential>,
    base: &Path,
    env: EnvLookup,
) -> Result<Secret, VaultError> {
    let from_env = env("BAO_TOKEN").or_else(|| env("VAULT_TOKEN"));
    let token = match (from_env, reference) {
        (Some(t), _) => t,
        (None, Some(c)) => credential("token", c, base, env)?.expose().to_owned(),
        (None, None) => match env("HOME") {
            Some(home) => read_token_file(&PathBuf::from(home).join(".vault-token"))?
                .ok_or(VaultError::NoToken)?,
            None => return Err(VaultError::NoToken),
        },
    };
    let token = token.trim();
    if token.is_empty() {
        return Err(VaultError::NoToken);
    }
    Ok(Secret::new(token))
}

/// The environment variables kvenv may have read a credential from, for `auth`: the token
/// variables, every `{ env = "NAME" }` of `[vault.auth]`, GitHub Actions' ID-token request
/// variables for that method, and the `NAME_FILE` twin of each (the convention for a file that
/// holds the credential). `kvenv run` removes them all from the command's environment: the app
/// needs the secrets, not the means to fetch any other.
pub fn credential_variables(auth: &AuthSection) -> Vec<String> {
    let mut names: Vec<String> = vec!["VAULT_TOKEN".into(), "BAO_TOKEN".into()];
    for (_, c) in auth.credentials() {
        if let Credential::Env(name) = c {
            names.push(name.clone());
        }
    }
    if let AuthSection::GithubActions { .. } = auth {
        names.push("ACTIONS_ID_TOKEN_REQUEST_TOKEN".into());
        names.push("ACTIONS_ID_TOKEN_REQUEST_URL".into());
    }
    let twins: Vec<String> = names.iter().map(|n| format!("{n}_FILE")).collect();
    names.extend(twins);
    names.sort();
    names.dedup();
    names
}

/// Read a `{ env = "NAME" }` or `{ file = "PATH" }` credential, trimmed.
fn credential(
    field: &'static str,
    c: &Credential,
    base: &Path,
    env: EnvLookup,
) -> Result<Secret, VaultError> {
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
    let value = value.trim();
    if value.is_empty() {
        return Err(VaultError::Credential {
            field,
            reason: "it is empty".into(),
        });
    }
    Ok(Secret::new(value))
}

fn read_token_file(path: &Path) -> Result<Option<String>, VaultError> {
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
        let token_of = |reference: Option<&Credential>, env: &dyn Fn(&str) -> Option<String>| {
            token(reference, Path::new("."), env).map(|t| t.expose().to_owned())
        };
        let env = env_of(&[("BAO_TOKEN", " b "), ("VAULT_TOKEN", "v"), ("HOME", home)]);
        assert_eq!(token_of(None, &env).unwrap(), "b");
        let env = env_of(&[("VAULT_TOKEN", "v"), ("HOME", home)]);
        assert_eq!(token_of(None, &env).unwrap(), "v");
        let env = env_of(&[("HOME", home)]);
        assert_eq!(token_of(None, &env).unwrap(), "from-file");
        let env = env_of(&[("HOME", "/nonexistent")]);
        assert!(matches!(token_of(None, &env), Err(VaultError::NoToken)));
        let mine = Credential::Env("MY_TOKEN".into());
        let env = env_of(&[("MY_TOKEN", "mine"), ("HOME", home)]);
        assert_eq!(token_of(Some(&mine), &env).unwrap(), "mine");
    }

    #[test]
    fn logins_read_their_credentials_and_default_their_mount() {
        let auth = AuthSection::Approle {
            common: AuthCommon::default(),
            role_id: Credential::Env("RID".into()),
            secret_id: None,
        };
        let env = env_of(&[("RID", " CANARY-role ")]);
        let login = login(&auth, Path::new("."), &env).unwrap();
        assert_eq!(login.mount, "approle");
        assert!(!login.keep_token);
        assert!(
            matches!(&login.method, Method::AppRole { role_id, secret_id: None } if role_id.expose() == "CANARY-role")
        );
        assert!(!format!("{login:?}").contains("CANARY"));
        assert_eq!(
            credential_variables(&auth),
            [
                "BAO_TOKEN",
                "BAO_TOKEN_FILE",
                "RID",
                "RID_FILE",
                "VAULT_TOKEN",
                "VAULT_TOKEN_FILE"
            ]
        );
    }
}
