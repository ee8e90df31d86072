//! Where the address, namespace and token come from.
//!
//! The precedence follows the `bao` and `vault` CLIs, so a shell that works with them works with
//! kvenv: a command-line flag, then `BAO_*`, then `VAULT_*`, then the manifest. The token
//! (method `token`, the default) comes from `BAO_TOKEN`, `VAULT_TOKEN`, a `token = { env | file }`
//! reference in `[vault.auth]`, then `~/.vault-token`, trimmed of surrounding whitespace (a token
//! file usually ends with a newline, which no header may carry).

use std::path::PathBuf;

use super::VaultError;
use crate::manifest::{AuthMethod, AuthSection, Credential};

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

/// The token for method `token`. Other methods log in, which this version does not do yet:
/// they are refused with a usage error rather than silently falling back to a token.
pub fn token(auth: &AuthSection, env: EnvLookup) -> Result<String, VaultError> {
    if auth.method != AuthMethod::Token {
        return Err(VaultError::UnsupportedAuth {
            method: auth.method.name(),
        });
    }
    let from_env = env("BAO_TOKEN").or_else(|| env("VAULT_TOKEN"));
    let token = match (from_env, &auth.token) {
        (Some(t), _) => t,
        (None, Some(Credential::Env(name))) => env(name).ok_or(VaultError::NoToken)?,
        (None, Some(Credential::File(path))) => {
            read_token_file(path)?.ok_or(VaultError::NoToken)?
        }
        (None, None) => match env("HOME") {
            Some(home) => read_token_file(&PathBuf::from(home).join(".vault-token"))
                .ok()
                .flatten()
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

fn read_token_file(path: &std::path::Path) -> Result<Option<String>, VaultError> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t).filter(|t| !t.trim().is_empty())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
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
        assert_eq!(token(&auth, &env).unwrap(), "b");
        let env = env_of(&[("VAULT_TOKEN", "v"), ("HOME", home)]);
        assert_eq!(token(&auth, &env).unwrap(), "v");
        let env = env_of(&[("HOME", home)]);
        assert_eq!(token(&auth, &env).unwrap(), "from-file");
        let env = env_of(&[("HOME", "/nonexistent")]);
        assert!(matches!(token(&auth, &env), Err(VaultError::NoToken)));
        let auth = AuthSection {
            token: Some(Credential::Env("MY_TOKEN".into())),
            ..Default::default()
        };
        let env = env_of(&[("MY_TOKEN", "mine"), ("HOME", home)]);
        assert_eq!(token(&auth, &env).unwrap(), "mine");
    }
}
