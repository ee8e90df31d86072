//! TLS settings (the `VAULT_CACERT` family) and how they configure the HTTP client.
//!
//! A custom CA replaces the system's roots (as the `vault` CLI does); a client certificate and
//! its key come together or not at all; skip-verify is honoured, and warned about by the caller.

use std::path::PathBuf;

use super::VaultError;

/// TLS settings: the `VAULT_CACERT` family, from flags, environment or manifest.
#[derive(Debug, Default, Clone)]
pub struct Tls {
    /// A PEM file of CA certificates to trust instead of the system's.
    pub ca_cert: Option<PathBuf>,
    /// A folder of PEM CA certificates to trust instead of the system's.
    pub ca_path: Option<PathBuf>,
    /// A client certificate and its key, for servers that require mutual TLS.
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    /// The name to expect on the server's certificate (and send as SNI).
    pub server_name: Option<String>,
    /// Accept any certificate. kvenv warns on every run that uses it.
    pub skip_verify: bool,
}

pub(super) fn configure_tls(
    mut builder: reqwest::ClientBuilder,
    tls: &Tls,
) -> Result<reqwest::ClientBuilder, VaultError> {
    let read = |path: &PathBuf, what: &str| {
        let unreadable = |reason: String| VaultError::Tls {
            reason: format!("cannot read the {what} {}: {reason}", path.display()),
        };
        crate::files::read(path, crate::files::LIMIT)
            .map_err(|e| unreadable(crate::error::io_reason(&e)))?
            .ok_or_else(|| unreadable("no such file or directory".into()))
    };
    let mut ca_files: Vec<PathBuf> = tls.ca_cert.iter().cloned().collect();
    if let Some(dir) = &tls.ca_path {
        let entries = std::fs::read_dir(dir).map_err(|e| VaultError::Tls {
            reason: format!(
                "cannot read the CA folder {}: {}",
                dir.display(),
                crate::error::io_reason(&e)
            ),
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        ca_files.extend(files);
    }
    for file in &ca_files {
        let pem = read(file, "CA certificate")?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|_| VaultError::Tls {
            reason: format!("{} holds no PEM certificate", file.display()),
        })?;
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    match (&tls.client_cert, &tls.client_key) {
        (Some(cert), Some(key)) => {
            let mut pem = read(cert, "client certificate")?;
            pem.push(b'\n');
            pem.extend(read(key, "client key")?);
            let identity = reqwest::Identity::from_pem(&pem).map_err(|_| VaultError::Tls {
                reason: "the client certificate and key are not a PEM certificate and private key"
                    .into(),
            })?;
            builder = builder.identity(identity);
        }
        (None, None) => {}
        _ => {
            return Err(VaultError::Tls {
                reason: "a client certificate needs its key, and a key its certificate".into(),
            });
        }
    }
    if tls.skip_verify {
        builder = builder.danger_accept_invalid_certs(true);
    }
    Ok(builder)
}
