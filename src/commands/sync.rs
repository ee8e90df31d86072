//! `kvenv sync`: fetch every secret and atomically rewrite the output file (the main job).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::session::{Leases, fetch_all};
use super::watch::{self, Sink};
use super::{load, render_options, ui};
use crate::assemble::Fetched;
use crate::cli::{FileArgs, ManifestArgs, SyncArgs};
use crate::diff::{Diff, diff};
use crate::error::{Error, code};
use crate::gitignore;
use crate::plan::{Overrides, Plan};
use crate::ui::Ui;
use crate::write::{self, Outcome};
use crate::{render, settings};

pub(super) fn sync(a: &SyncArgs) -> Result<u8, Error> {
    let start = Instant::now();
    let ui = ui(&a.verbosity);
    let plan = load_plan(&a.manifest, &a.file)?;
    // Before any request: a run that cannot write its output should not read a single secret.
    output_target(&plan)?;
    if a.watch.watch {
        let options = watch::Options {
            interval: Some(a.watch.interval),
            grace: Duration::ZERO,
            restart_signal: crate::child::SIGTERM,
        };
        let sink = Sink::File {
            write: Box::new(|fetched: &Fetched| {
                write_file(&plan, fetched, &ui, Instant::now())
                    .map(|outcome| outcome == Outcome::Written)
            }),
            exec: a.exec.clone(),
            remove: settings::credential_variables(&plan.vault.auth),
        };
        return watch::supervise(&plan, &a.vault, &ui, &options, sink);
    }
    let fetched = fetch_all(&plan, &a.vault, &ui, Leases::Keep)?;
    if write_file(&plan, &fetched, &ui, start)? == Outcome::Unchanged {
        ui.info(&format!("{} is up to date", plan.output.path.display()));
    }
    Ok(code::OK)
}

/// Render `fetched` and replace the file with it if it would change, the `.gitignore` rule
/// first; the summary line when it was written.
fn write_file(plan: &Plan, fetched: &Fetched, ui: &Ui, start: Instant) -> Result<Outcome, Error> {
    let target = output_target(plan)?;
    let bytes = render::render(&fetched.vars, &render_options(plan))?;
    let old = write::read_existing(&target)?;
    let changes = diff(old.as_deref(), plan.output.format, &fetched.vars);
    let path = &plan.output.path;
    let staged = write::stage(path, &bytes, plan.output.mode)?;
    // The rule goes in before the secrets do: a run that cannot keep the file out of git does
    // not replace it.
    if plan.output.gitignore {
        for added in gitignore::ensure_ignored(path)? {
            let why = if added.for_link_target {
                format!(" ({} links to that file)", path.display())
            } else {
                String::new()
            };
            ui.info(&format!(
                "added {} to {}{why}",
                added.rule,
                added.gitignore.display()
            ));
        }
        if gitignore::tracked_by_git(path) == Some(true) {
            ui.warn(&format!(
                "git already tracks {}, so ignoring it does not keep it out of commits; run `git rm --cached {}`",
                path.display(),
                path.display()
            ));
        }
    }
    let outcome = staged.commit()?;
    if outcome == Outcome::Written {
        ui.info(&format!(
            "wrote {} ({} variables from {} secrets, {} changed) in {} ms",
            path.display(),
            fetched.vars.len(),
            fetched.reads,
            if changes.unreadable {
                fetched.vars.len()
            } else {
                changes.count()
            },
            start.elapsed().as_millis()
        ));
    }
    Ok(outcome)
}

/// The plan, with the output flags applied.
pub(super) fn load_plan(manifest: &ManifestArgs, file: &FileArgs) -> Result<Plan, Error> {
    load(
        manifest,
        Overrides {
            output: file.output.clone(),
            format: file.format.map(Into::into),
            readers: file.readers.readers.clone(),
            ..Overrides::default()
        },
    )
}

/// What sync and check share: the new content, the file's current content, and the difference.
pub(super) struct Prepared {
    pub plan: Plan,
    pub fetched: Fetched,
    pub bytes: Vec<u8>,
    pub old: Option<Vec<u8>>,
    /// The existing file's permission bits, when there is one.
    pub mode: Option<u32>,
    pub changes: Diff,
}

/// Fetch and render. With [`Leases::Revoke`] (`check`, which writes nothing), each variable
/// of a dynamic read that the file already has keeps the file's value: every read makes new
/// credentials, so comparing them would always find a change.
pub(super) fn prepare(
    manifest: &ManifestArgs,
    file: &FileArgs,
    vault: &crate::cli::ConnectionArgs,
    ui: &Ui,
    leases: Leases,
) -> Result<Prepared, Error> {
    let plan = load_plan(manifest, file)?;
    // Before any request: a run that cannot write its output should not read a single secret.
    let target = output_target(&plan)?;
    let mut fetched = fetch_all(&plan, vault, ui, leases)?;
    let old = write::read_existing(&target)?;
    if leases == Leases::Revoke {
        keep_dynamic_values(&mut fetched, old.as_deref(), &plan, ui);
    }
    let bytes = render::render(&fetched.vars, &render_options(&plan))?;
    let mode = old.as_ref().and_then(|_| write::existing_mode(&target));
    let changes = diff(old.as_deref(), plan.output.format, &fetched.vars);
    Ok(Prepared {
        plan,
        fetched,
        bytes,
        old,
        mode,
        changes,
    })
}

/// For `check`: the values of dynamic variables as the file has them.
fn keep_dynamic_values(fetched: &mut Fetched, old: Option<&[u8]>, plan: &Plan, ui: &Ui) {
    let in_file =
        crate::diff::decode(old.unwrap_or_default(), plan.output.format).unwrap_or_default();
    for v in fetched.vars.iter_mut().filter(|v| v.dynamic) {
        if let Some((_, value)) = in_file.iter().find(|(name, _)| *name == v.name) {
            v.value = crate::secret::Secret::new(value.clone());
            ui.detail(&format!(
                "{}: dynamic credentials, not compared (every read makes new ones)",
                v.name
            ));
        }
    }
}

/// The file the output path finally names, checked: a regular file or nothing yet (exit 6
/// otherwise), and not one kvenv must never overwrite (exit 2): the manifest, a `.gitignore`,
/// anything under `.git/`.
pub(super) fn output_target(plan: &Plan) -> Result<PathBuf, Error> {
    let target = write::writable_target(&plan.output.path)?;
    if let Some(why) = write::forbidden_output(&plan.output.path, &target, &plan.manifest) {
        return Err(Error::Usage(format!(
            "output {}: {why}; choose another [output] path or --output",
            plan.output.path.display()
        )));
    }
    Ok(target)
}
