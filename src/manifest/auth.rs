//! `[vault.auth]`: how kvenv gets its token, as a tagged enum so serde checks the fields.

use serde::{Deserialize, Deserializer};

use super::Credential;

/// `[vault.auth]`: how kvenv gets its token. `method` (default `token`) picks the variant, and
/// each variant takes exactly its own fields: serde refuses a field the method does not use (a
/// `role` under `method = "token"` is a mistake, not something to ignore) and names a missing
/// one. Credentials are only ever references ([`Credential`]), never values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthSection {
    Token {
        token: Option<Credential>,
    },
    Approle {
        common: AuthCommon,
        role_id: Credential,
        secret_id: Option<Credential>,
    },
    Jwt {
        common: AuthCommon,
        role: String,
        jwt: Credential,
    },
    GithubActions {
        common: AuthCommon,
        role: String,
        audience: Option<String>,
    },
    Kubernetes {
        common: AuthCommon,
        role: String,
        jwt: Option<Credential>,
    },
    Userpass {
        common: AuthCommon,
        username: String,
        password: Credential,
    },
}

/// What every login method takes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthCommon {
    /// Where the method is enabled (default: its usual path).
    pub mount: Option<String>,
    /// The namespace to log in to, when it is not the one the reads use.
    pub namespace: Option<String>,
    /// Leave the token alive after the run.
    pub keep_token: bool,
}

impl Default for AuthSection {
    fn default() -> Self {
        AuthSection::Token { token: None }
    }
}

impl AuthSection {
    /// The method's name as the manifest writes it.
    pub fn method(&self) -> &'static str {
        match self {
            AuthSection::Token { .. } => "token",
            AuthSection::Approle { .. } => "approle",
            AuthSection::Jwt { .. } => "jwt",
            AuthSection::GithubActions { .. } => "github-actions",
            AuthSection::Kubernetes { .. } => "kubernetes",
            AuthSection::Userpass { .. } => "userpass",
        }
    }

    /// Every credential reference the section holds, with its field name.
    pub fn credentials(&self) -> Vec<(&'static str, &Credential)> {
        let fields: [(&'static str, Option<&Credential>); 2] = match self {
            AuthSection::Token { token } => [("token", token.as_ref()), ("", None)],
            AuthSection::Approle {
                role_id, secret_id, ..
            } => [
                ("role_id", Some(role_id)),
                ("secret_id", secret_id.as_ref()),
            ],
            AuthSection::Jwt { jwt, .. } => [("jwt", Some(jwt)), ("", None)],
            AuthSection::Kubernetes { jwt, .. } => [("jwt", jwt.as_ref()), ("", None)],
            AuthSection::Userpass { password, .. } => [("password", Some(password)), ("", None)],
            AuthSection::GithubActions { .. } => [("", None), ("", None)],
        };
        fields
            .into_iter()
            .filter_map(|(name, c)| c.map(|c| (name, c)))
            .collect()
    }
}

/// The section as serde reads it: internally tagged by `method`, every variant closed.
#[derive(Deserialize)]
#[serde(tag = "method", rename_all = "kebab-case", deny_unknown_fields)]
enum Tagged {
    Token {
        token: Option<Credential>,
    },
    Approle {
        mount: Option<String>,
        namespace: Option<String>,
        keep_token: Option<bool>,
        role_id: Credential,
        secret_id: Option<Credential>,
    },
    Jwt {
        mount: Option<String>,
        namespace: Option<String>,
        keep_token: Option<bool>,
        role: String,
        jwt: Credential,
    },
    GithubActions {
        mount: Option<String>,
        namespace: Option<String>,
        keep_token: Option<bool>,
        role: String,
        audience: Option<String>,
    },
    Kubernetes {
        mount: Option<String>,
        namespace: Option<String>,
        keep_token: Option<bool>,
        role: String,
        jwt: Option<Credential>,
    },
    Userpass {
        mount: Option<String>,
        namespace: Option<String>,
        keep_token: Option<bool>,
        username: String,
        password: Credential,
    },
}

impl<'de> Deserialize<'de> for AuthSection {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut table = toml::Table::deserialize(d)?;
        // `method` may be left out: a token is the default.
        let method = table
            .entry("method")
            .or_insert_with(|| toml::Value::String("token".into()))
            .as_str()
            .unwrap_or("")
            .to_owned();
        let tagged: Tagged = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| D::Error::custom(auth_message(&method, e.message())))?;
        let common = |mount, namespace, keep_token: Option<bool>| AuthCommon {
            mount,
            namespace,
            keep_token: keep_token.unwrap_or(false),
        };
        Ok(match tagged {
            Tagged::Token { token } => AuthSection::Token { token },
            Tagged::Approle {
                mount,
                namespace,
                keep_token,
                role_id,
                secret_id,
            } => AuthSection::Approle {
                common: common(mount, namespace, keep_token),
                role_id,
                secret_id,
            },
            Tagged::Jwt {
                mount,
                namespace,
                keep_token,
                role,
                jwt,
            } => AuthSection::Jwt {
                common: common(mount, namespace, keep_token),
                role,
                jwt,
            },
            Tagged::GithubActions {
                mount,
                namespace,
                keep_token,
                role,
                audience,
            } => AuthSection::GithubActions {
                common: common(mount, namespace, keep_token),
                role,
                audience,
            },
            Tagged::Kubernetes {
                mount,
                namespace,
                keep_token,
                role,
                jwt,
            } => AuthSection::Kubernetes {
                common: common(mount, namespace, keep_token),
                role,
                jwt,
            },
            Tagged::Userpass {
                mount,
                namespace,
                keep_token,
                username,
                password,
            } => AuthSection::Userpass {
                common: common(mount, namespace, keep_token),
                username,
                password,
            },
        })
    }
}

/// serde's message for a bad `[vault.auth]`, said in the manifest's terms.
fn auth_message(method: &str, serde: &str) -> String {
    let ticked =
        |s: &str| -> Vec<String> { s.split('`').skip(1).step_by(2).map(str::to_owned).collect() };
    if let Some(rest) = serde.strip_prefix("unknown field ") {
        let names = ticked(rest);
        if let Some((field, takes)) = names.split_first() {
            return format!(
                "[vault.auth] field `{field}` does not apply to method \"{method}\" (it takes: {})",
                takes.join(", ")
            );
        }
    }
    if let Some(rest) = serde.strip_prefix("missing field ")
        && let Some(field) = ticked(rest).first()
    {
        return format!("[vault.auth] method \"{method}\" needs `{field}`");
    }
    if serde.contains("expected `env` or `file`") {
        return "[vault.auth] a credential is given as { env = \"NAME\" } or { file = \"PATH\" }, never as the value itself".into();
    }
    if serde.starts_with("unknown variant") {
        return format!(
            "[vault.auth] method \"{method}\" is not one of token, approle, jwt, github-actions, kubernetes, userpass"
        );
    }
    format!("[vault.auth] {serde}")
}
