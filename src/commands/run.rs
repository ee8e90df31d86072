//! `kvenv run -- CMD`: the secrets in a command's environment, nothing on disk.

use super::session::fetch_all;
use super::{load, ui};
use crate::cli::RunArgs;
use crate::error::Error;
use crate::plan::Overrides;
use crate::{render, settings};

/// Fetch, then replace this process with the command, the secrets in its environment: signals
/// and the exit status are then the command's own, with no kvenv in between. The credentials
/// kvenv read are removed from its environment (see [`settings::credential_variables`]).
pub(super) fn run(a: &RunArgs) -> Result<u8, Error> {
    use std::os::unix::process::CommandExt;
    let ui = ui(&a.verbosity);
    let plan = load(&a.manifest, Overrides::default())?;
    let fetched = fetch_all(&plan, &a.vault, &ui)?;
    render::no_nul(&fetched.vars)?;
    let (program, args) = a
        .command
        .split_first()
        .ok_or_else(|| Error::Usage("no command given after --".into()))?;
    let mut cmd = std::process::Command::new(program);
    cmd.args(args);
    if !a.keep_vault_env {
        for name in settings::credential_variables(&plan.vault.auth) {
            cmd.env_remove(name);
        }
    }
    for v in &fetched.vars {
        if a.no_override && std::env::var_os(&v.name).is_some() {
            continue;
        }
        cmd.env(&v.name, v.value.expose());
    }
    let e = cmd.exec();
    Err(Error::Exec {
        command: program.to_string_lossy().into_owned(),
        reason: crate::error::io_reason(&e),
        code: if e.kind() == std::io::ErrorKind::NotFound {
            127
        } else {
            126
        },
    })
}
