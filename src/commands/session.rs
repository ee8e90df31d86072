//! The connection to Vault for one run: the client, a runtime, the deadline, and the login
//! token to revoke at the end.

use std::time::{Duration, Instant};

use crate::assemble::{FetchError, Fetched, assemble};
use crate::cli::ConnectionArgs;
use crate::error::Error;
use crate::plan::Plan;
use crate::ui::Ui;
use crate::vault::client::Tls;
use crate::vault::{Client, VaultError, auth};
use crate::{fetch, resolve, settings};

/// A connection to Vault for one run: the client, a single-threaded runtime (the work is
/// waiting on the network, and one thread starts faster than a pool), the run's deadline, and
/// whether the token came from a login that must be revoked when the run ends.
pub(super) struct Session {
    runtime: tokio::runtime::Runtime,
    pub client: Client,
    deadline: Instant,
    timeout: Duration,
    revoke: bool,
}

impl Session {
    /// Build the client and log in (or take the token), within the deadline.
    pub fn open(plan: &Plan, c: &ConnectionArgs, ui: &Ui) -> Result<Session, Error> {
        let deadline = Instant::now() + c.timeout;
        let env = settings::process_env;
        let flags = settings::Flags {
            address: c.address.clone(),
            namespace: c.namespace.clone(),
            tls: Tls {
                ca_cert: c.ca_cert.clone(),
                ca_path: c.ca_path.clone(),
                client_cert: c.client_cert.clone(),
                client_key: c.client_key.clone(),
                server_name: c.tls_server_name.clone(),
                skip_verify: c.tls_skip_verify,
            },
        };
        let settings::Connection {
            address,
            namespace,
            tls,
        } = settings::connection(&flags, plan, &env);
        if tls.skip_verify && address.starts_with("https:") {
            ui.warn("TLS certificate verification is off (skip_verify): anyone on the path can read the secrets");
        }
        let client = Client::new(&address, namespace.as_deref(), &tls)?;
        client.set_deadline(deadline);
        client.set_max_response(c.max_response);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))?;
        let mut session = Session {
            runtime,
            client,
            deadline,
            timeout: c.timeout,
            revoke: false,
        };
        let login = settings::login(&plan.vault.auth, plan.manifest_dir(), &env)?;
        session.revoke = session.within(auth::login(&session.client, &login))?;
        Ok(session)
    }

    /// Run `work` to completion or until the run's deadline.
    pub fn within<T, E: Into<Error>>(
        &self,
        work: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, Error> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        self.runtime
            .block_on(async { tokio::time::timeout(left, work).await })
            .map_err(|_| {
                Error::from(FetchError::Timeout(VaultError::Timeout {
                    seconds: self.timeout.as_secs_f64(),
                }))
            })?
            .map_err(Into::into)
    }

    /// Revoke a login token (best effort, briefly: the run's outcome is already decided).
    pub fn close(self, ui: &Ui) {
        ui.detail(&format!(
            "{} HTTP requests to {}",
            self.client.requests(),
            self.client.address()
        ));
        if !self.revoke {
            return;
        }
        let outcome = self.runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(5), auth::revoke(&self.client)).await
        });
        match outcome {
            Ok(Ok(())) => ui.detail("revoked the login token"),
            Ok(Err(e)) => ui.warn(&format!("could not revoke the login token: {e}")),
            Err(_) => ui.warn("could not revoke the login token: no answer within 5s"),
        }
    }
}

/// Fetch everything the plan names (resolve, read, assemble), and report what was fetched at
/// the verbosity asked for.
pub(super) fn fetch_all(plan: &Plan, c: &ConnectionArgs, ui: &Ui) -> Result<Fetched, Error> {
    let session = Session::open(plan, c, ui)?;
    let result = session.within(async {
        let resolved = resolve::resolve(plan, &session.client, c.concurrency()).await;
        let reads = fetch::fetch(&resolved, &session.client, c.concurrency()).await;
        assemble(plan, &resolved, reads)
    });
    if let Ok(fetched) = &result {
        report(fetched, ui);
    }
    session.close(ui);
    result
}

/// Vault's warnings, and with `-v` one line per variable (never a value) and per skip.
fn report(fetched: &Fetched, ui: &Ui) {
    for w in &fetched.warnings {
        ui.warn(&format!("Vault: {w}"));
    }
    for f in &fetched.folders {
        ui.detail(&format!(
            "{}: {} secrets under {} ({}, {} request{})",
            f.label,
            f.secrets.len(),
            f.folder,
            f.how,
            f.requests,
            if f.requests == 1 { "" } else { "s" }
        ));
    }
    for v in &fetched.vars {
        if v.default {
            ui.detail(&format!("{}: default", v.name));
            continue;
        }
        let version = v
            .version
            .map(|n| format!(" version {n}"))
            .unwrap_or_default();
        ui.detail(&format!("{} from {}{version}", v.name, v.path));
    }
    for (label, why) in &fetched.skipped {
        ui.detail(&format!("{label} skipped (optional): {why}"));
    }
}
