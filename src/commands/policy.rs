//! `kvenv policy`: the least-privilege policy for the manifest (see [`crate::policy`]).

use super::session::{Leases, Session};
use super::{load, ui};
use crate::assemble::check_resolved;
use crate::cli::PolicyArgs;
use crate::error::{Error, code};
use crate::plan::Overrides;
use crate::resolve;
use crate::ui as out;

pub(super) fn policy(a: &PolicyArgs) -> Result<u8, Error> {
    let ui = ui(&a.verbosity);
    let plan = load(&a.manifest, Overrides::default())?;
    let resolved = match resolve::offline(&plan) {
        // Every mount is declared: no server needed.
        Some(r) => r,
        None => {
            let session = Session::open(&plan, &a.vault, &ui)?;
            let resolved = session.within(async {
                Ok::<_, Error>(
                    resolve::mounts_only(&plan, &session.client, a.vault.concurrency()).await,
                )
            });
            session.close(&ui, Leases::Revoke);
            resolved?
        }
    };
    check_resolved(&plan, &resolved)?;
    let hcl = crate::policy::render(&plan, &resolved, a.push).map_err(Error::Usage)?;
    out::stdout(hcl.as_bytes())?;
    Ok(code::OK)
}
