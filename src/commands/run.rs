//! `kvenv run -- CMD`: the secrets in a command's environment, nothing on disk.

use super::session::{Leases, fetch_all};
use super::watch::{self, Sink};
use super::{load, ui};
use crate::child::{self, Spec};
use crate::cli::RunArgs;
use crate::error::Error;
use crate::plan::Overrides;
use crate::{render, settings};

/// Fetch, then replace this process with the command, the secrets in its environment: signals
/// and the exit status are then the command's own, with no kvenv in between. The credentials
/// kvenv read are removed from its environment (see [`settings::credential_variables`]).
///
/// With `--watch`, or dynamic secrets whose leases must be renewed and then revoked when the
/// command ends, kvenv stays as its parent instead ([`watch`], [`crate::child`]).
pub(super) fn run(a: &RunArgs) -> Result<u8, Error> {
    let ui = ui(&a.verbosity);
    let plan = load(&a.manifest, Overrides::default())?;
    let (program, args) = a
        .command
        .split_first()
        .ok_or_else(|| Error::Usage("no command given after --".into()))?;
    let remove = if a.keep_vault_env {
        Vec::new()
    } else {
        settings::credential_variables(&plan.vault.auth)
    };
    let spec = Spec {
        program: program.clone(),
        args: args.to_vec(),
        remove,
        set: Vec::new(),
    };
    if a.watch.watch || plan.entries.iter().any(|e| e.dynamic) {
        let options = watch::Options {
            interval: a.watch.watch.then_some(a.watch.interval),
            grace: a.grace,
            restart_signal: a.restart_signal,
        };
        let sink = Sink::Child {
            spec,
            no_override: a.no_override,
        };
        return watch::supervise(&plan, &a.vault, &ui, &options, sink);
    }
    let fetched = fetch_all(&plan, &a.vault, &ui, Leases::Revoke)?;
    render::no_nul(&fetched.vars)?;
    let spec = Spec {
        set: child::environment(&fetched.vars, a.no_override),
        ..spec
    };
    let mut cmd = spec.command();
    #[cfg(unix)]
    let e = std::os::unix::process::CommandExt::exec(&mut cmd);
    // No exec on Windows: the command runs as kvenv's child, and its code is kvenv's.
    #[cfg(not(unix))]
    let e = match cmd.status() {
        Ok(status) => return Ok(child::exit_code(status)),
        Err(e) => e,
    };
    Err(spec.not_started(&e))
}
