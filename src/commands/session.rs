//! The connection to Vault for one run: the client, a runtime, the deadline, the login token
//! to revoke at the end, and the leases of the dynamic secrets read.

use std::time::{Duration, Instant};

use crate::assemble::{FetchError, Fetched, assemble};
use crate::cli::ConnectionArgs;
use crate::error::Error;
use crate::plan::Plan;
use crate::ui::Ui;
use crate::vault::client::Tls;
use crate::vault::dynamic::{self, Lease};
use crate::vault::{Client, VaultError, auth};
use crate::{fetch, resolve, settings};

/// A connection to Vault for one run: the client, a single-threaded runtime (the work is
/// waiting on the network, and one thread starts faster than a pool), the run's deadline, the
/// token (and whether a login made it, so the run revokes it), and the leases taken.
pub(super) struct Session {
    runtime: tokio::runtime::Runtime,
    pub client: Client,
    deadline: Instant,
    pub timeout: Duration,
    pub token: auth::Token,
    /// How to log in again, for a watch whose login token reaches its max TTL.
    pub login: auth::Login,
    /// The leases of the dynamic secrets read, revoked at the end unless the output needs them.
    pub leases: Vec<Lease>,
}

/// What happens to the leases when a run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Leases {
    /// Revoked: the credentials were for a command that has ended (`run`, `check`).
    Revoke,
    /// Kept: a file or another program holds the credentials (`sync`, `export`); so is the
    /// login token, whose end would end them too.
    Keep,
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
        let login = settings::login(&plan.vault.auth, plan.manifest_dir(), &env)?;
        let mut session = Session {
            runtime,
            client,
            deadline,
            timeout: c.timeout,
            token: auth::Token {
                revoke: false,
                life: None,
            },
            login,
            leases: Vec::new(),
        };
        session.token = session.within(auth::login(&session.client, &session.login))?;
        Ok(session)
    }

    /// Run `work` to completion, with no deadline (a watch sets one per cycle).
    pub fn block_on<F: std::future::Future>(&self, work: F) -> F::Output {
        self.runtime.block_on(work)
    }

    /// Resolve, read and assemble everything `plan` names, keeping the leases of its dynamic
    /// reads (a failed run revokes them at [`Session::close`]).
    pub fn fetch(&mut self, plan: &Plan, concurrency: Option<usize>) -> Result<Fetched, Error> {
        let (fetched, leases) = self.within(async {
            let resolved = resolve::resolve(plan, &self.client, concurrency).await;
            let (answers, leases) = fetch::fetch_all(&resolved, &self.client, concurrency).await;
            Ok::<_, Error>((assemble(plan, &resolved, answers), leases))
        })?;
        self.leases.extend(leases);
        Ok(fetched?)
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

    /// End the run: revoke the leases (or keep them, with the login token they hang on), then
    /// a login token. Best effort, briefly: the run's outcome is already decided.
    pub fn close(mut self, ui: &Ui, leases: Leases) {
        ui.detail(&format!(
            "{} HTTP requests to {}",
            self.client.requests(),
            self.client.address()
        ));
        let kept = leases == Leases::Keep && !self.leases.is_empty();
        if !kept {
            let taken = std::mem::take(&mut self.leases);
            self.revoke_leases(&taken, ui);
        }
        if !self.token.revoke {
            return;
        }
        if kept {
            ui.detail(
                "kept the login token: revoking it would end the leases of the credentials written",
            );
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

    /// Revoke `leases` (best effort, 5 s in all), saying so for each failure.
    pub fn revoke_leases(&self, leases: &[Lease], ui: &Ui) {
        self.runtime.block_on(revoke(&self.client, leases, ui));
    }
}

/// Fetch everything the plan names (resolve, read, assemble) for a run that ends here, and
/// report what was fetched at the verbosity asked for. `leases` says whether the credentials
/// of dynamic reads outlive it.
pub(super) fn fetch_all(
    plan: &Plan,
    c: &ConnectionArgs,
    ui: &Ui,
    leases: Leases,
) -> Result<Fetched, Error> {
    let mut session = Session::open(plan, c, ui)?;
    let result = session.fetch(plan, c.concurrency());
    match &result {
        Ok(fetched) => {
            report(fetched, ui);
            if leases == Leases::Keep {
                report_leases(&session.leases, ui);
            }
            session.close(ui, leases);
        }
        // A failed run writes nothing, so nothing needs its credentials.
        Err(_) => session.close(ui, Leases::Revoke),
    }
    result
}

/// When the credentials written stop working: the shortest lease, once.
fn report_leases(leases: &[Lease], ui: &Ui) {
    if let Some(first) = leases.iter().min_by_key(|l| l.duration) {
        ui.info(&format!(
            "the credentials from {} expire in {}{}",
            first.path,
            crate::ui::duration(first.duration),
            if first.renewable {
                " unless renewed (`kvenv run` and `sync --watch` renew them)"
            } else {
                ""
            }
        ));
    }
}

/// Vault's warnings, and with `-v` one line per variable (never a value) and per skip.
pub(super) fn report(fetched: &Fetched, ui: &Ui) {
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

/// Revoke `leases` (best effort, 5 s in all), saying so for each one that fails.
pub(super) async fn revoke(client: &Client, leases: &[Lease], ui: &Ui) {
    if leases.is_empty() {
        return;
    }
    client.set_deadline(Instant::now() + Duration::from_secs(5));
    let all = futures_util::future::join_all(leases.iter().map(|l| dynamic::revoke(client, l)));
    match tokio::time::timeout(Duration::from_secs(5), all).await {
        Ok(results) => {
            for (lease, result) in leases.iter().zip(results) {
                match result {
                    Ok(()) => ui.detail(&format!("revoked the lease of {}", lease.path)),
                    Err(e) => ui.warn(&format!(
                        "could not revoke the lease of {}: {e}",
                        lease.path
                    )),
                }
            }
        }
        Err(_) => ui.warn("could not revoke the leases: no answer within 5s"),
    }
}
