//! `kvenv sync`: fetch every secret and atomically rewrite the output file (the main job).

use std::path::PathBuf;
use std::time::Instant;

use super::session::fetch_all;
use super::{load, render_options, ui};
use crate::assemble::Fetched;
use crate::cli::{FileArgs, ManifestArgs, SyncArgs};
use crate::diff::{Diff, diff};
use crate::error::{Error, code};
use crate::gitignore;
use crate::plan::{Overrides, Plan};
use crate::render;
use crate::ui::Ui;
use crate::write::{self, Outcome};

pub(super) fn sync(a: &SyncArgs) -> Result<u8, Error> {
    let start = Instant::now();
    let ui = ui(&a.verbosity);
    let Prepared {
        plan,
        fetched,
        bytes,
        changes,
        ..
    } = prepare(&a.manifest, &a.file, &a.vault, &ui)?;
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
    match staged.commit()? {
        Outcome::Unchanged => ui.info(&format!("{} is up to date", path.display())),
        Outcome::Written => ui.info(&format!(
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
        )),
    }
    Ok(code::OK)
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

pub(super) fn prepare(
    manifest: &ManifestArgs,
    file: &FileArgs,
    vault: &crate::cli::ConnectionArgs,
    ui: &Ui,
) -> Result<Prepared, Error> {
    let plan = load(
        manifest,
        Overrides {
            output: file.output.clone(),
            format: file.format.map(Into::into),
            readers: file.readers.readers.clone(),
            ..Overrides::default()
        },
    )?;
    // Before any request: a run that cannot write its output should not read a single secret.
    let target = output_target(&plan)?;
    let fetched = fetch_all(&plan, vault, ui)?;
    let bytes = render::render(&fetched.vars, &render_options(&plan))?;
    let old = write::read_existing(&target)?;
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
