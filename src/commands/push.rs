//! `kvenv push`: a hand-kept `.env` into Vault (see [`crate::push`]), a dry run unless --apply.

use std::collections::HashMap;
use std::fmt::Write;

use super::session::{Leases, Session};
use super::{load, read_hand_kept, ui};
use crate::cli::PushArgs;
use crate::error::{Error, code};
use crate::plan::Overrides;
use crate::push::{self, Action, PushPlan};
use crate::resolve;
use crate::ui as out;

pub(super) fn push(a: &PushArgs) -> Result<u8, Error> {
    let ui = ui(&a.verbosity);
    let plan = load(
        &a.manifest,
        Overrides {
            readers: a.readers.readers.clone(),
            ..Overrides::default()
        },
    )?;
    let file = a.from.clone().unwrap_or_else(|| plan.output.path.clone());
    let values: HashMap<String, String> =
        read_hand_kept(&file, &plan.output.readers, "[output] readers, --reader")?
            .into_iter()
            .collect();
    let shown = file.display().to_string();
    let session = Session::open(&plan, &a.vault, &ui)?;
    let result = session.within(async {
        let resolved = resolve::resolve(&plan, &session.client, a.vault.concurrency()).await;
        let steps = push::plan(&plan, &resolved, &session.client, &values, &shown).await?;
        let (listing, counts) = describe(&steps, a.overwrite);
        out::stdout(listing.as_bytes())?;
        let Counts {
            create,
            update,
            same,
        } = counts;
        if !a.apply {
            ui.info(&format!(
                "dry run: {create} to create, {update} to update, {same} unchanged; run with --apply to write"
            ));
            return Ok::<u8, Error>(code::OK);
        }
        let written = push::apply(steps, &session.client, &values, a.overwrite).await?;
        ui.info(&format!(
            "pushed {} values to {written} secrets ({same} unchanged)",
            create + update
        ));
        Ok(code::OK)
    });
    session.close(&ui, Leases::Revoke);
    result
}

struct Counts {
    create: usize,
    update: usize,
    same: usize,
}

/// One line per variable (what push does with it, where) and per skipped entry: names and
/// paths, never values.
fn describe(steps: &PushPlan, overwrite: bool) -> (String, Counts) {
    let width = steps
        .steps
        .iter()
        .map(|s| s.name.len())
        .chain(steps.skipped.iter().map(|s| s.0.len()))
        .max()
        .unwrap_or(0);
    let mut counts = Counts {
        create: 0,
        update: 0,
        same: 0,
    };
    let mut text = String::new();
    for s in &steps.steps {
        let (word, note) = match s.action {
            Action::Create => {
                counts.create += 1;
                ("create", "")
            }
            Action::Update => {
                counts.update += 1;
                let note = if overwrite {
                    ""
                } else {
                    "  (differs; needs --overwrite)"
                };
                ("update", note)
            }
            Action::Same => {
                counts.same += 1;
                ("same  ", "")
            }
        };
        let _ = writeln!(
            text,
            "{word}  {:width$}  {}#{}{note}",
            s.name, s.path, s.key
        );
    }
    for (label, why) in &steps.skipped {
        let _ = writeln!(text, "skip    {label:width$}  ({why})");
    }
    (text, counts)
}
