//! `kvenv check`: would a sync change the file? Names only, never values.

use super::session::Leases;
use super::sync::{Prepared, prepare};
use super::ui;
use crate::cli::CheckArgs;
use crate::error::{Error, code};
use crate::ui as out;

pub(super) fn check(a: &CheckArgs) -> Result<u8, Error> {
    let ui = ui(&a.verbosity);
    let Prepared {
        plan,
        fetched,
        bytes,
        old,
        mode,
        changes,
    } = prepare(&a.manifest, &a.file, &a.vault, &ui, Leases::Revoke)?;
    let path = &plan.output.path;
    let same_bytes = old.as_deref() == Some(bytes.as_slice());
    // A sync would fix the mode too (a 0644 .env is readable by every user of the machine).
    let mode_change = mode.filter(|m| *m != plan.output.mode);
    let up_to_date = same_bytes && mode_change.is_none();
    if a.json {
        let mut variables: Vec<serde_json::Value> = fetched
            .vars
            .iter()
            .map(|v| {
                let status = if changes.added.contains(&v.name) || changes.unreadable {
                    "added"
                } else if changes.changed.contains(&v.name) {
                    "changed"
                } else {
                    "same"
                };
                serde_json::json!({ "name": v.name, "status": status, "path": v.path, "version": v.version })
            })
            .collect();
        variables.extend(changes.removed.iter().map(|name| {
            serde_json::json!({ "name": name, "status": "removed", "path": null, "version": null })
        }));
        let report = serde_json::json!({
            "up_to_date": up_to_date,
            "path": path.display().to_string(),
            "mode": mode_change.map(|m| serde_json::json!({
                "from": format!("{m:04o}"),
                "to": format!("{:04o}", plan.output.mode),
            })),
            "variables": variables,
        });
        out::stdout(format!("{report}\n").as_bytes())?;
    } else if up_to_date {
        ui.info(&format!("{} is up to date", path.display()));
    } else if old.is_none() {
        ui.info(&format!(
            "{} does not exist; a sync would write {} variables",
            path.display(),
            fetched.vars.len()
        ));
    } else {
        let mut what = Vec::new();
        if !same_bytes {
            what.push(changes.describe());
        }
        if let Some(m) = mode_change {
            what.push(format!("mode {m:04o} -> {:04o}", plan.output.mode));
        }
        ui.info(&format!(
            "{} would change: {}",
            path.display(),
            what.join("; ")
        ));
    }
    Ok(if up_to_date {
        code::OK
    } else {
        code::WOULD_CHANGE
    })
}
