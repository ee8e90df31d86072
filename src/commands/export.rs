//! `kvenv export`: the secrets on stdout, in the format asked for; for GitHub Actions, masks on
//! stdout and the variables appended to `$GITHUB_ENV`.

use std::path::Path;

use super::session::{Leases, fetch_all};
use super::{load, render_options, ui};
use crate::cli::ExportArgs;
use crate::error::{Error, code};
use crate::plan::{Overrides, Plan};
use crate::render::{self, Format};
use crate::ui::{self as out, Ui};
use crate::{settings, write};

pub(super) fn export(a: &ExportArgs) -> Result<u8, Error> {
    let ui = ui(&a.verbosity);
    let plan = load(
        &a.manifest,
        Overrides {
            format: a.format.map(Into::into),
            readers: a.readers.readers.clone(),
            ..Overrides::default()
        },
    )?;
    if plan.output.format == Format::Github {
        return github(&plan, a, &ui);
    }
    let fetched = fetch_all(&plan, &a.vault, &ui, Leases::Keep)?;
    let bytes = render::render(&fetched.vars, &render_options(&plan))?;
    out::stdout(&bytes)?;
    Ok(code::OK)
}

/// GitHub Actions: masks on stdout (where the runner reads workflow commands), then the
/// variables appended to the `$GITHUB_ENV` file (where it reads them after the step); see
/// [`render::github`].
fn github(plan: &Plan, a: &ExportArgs, ui: &Ui) -> Result<u8, Error> {
    let env_file = settings::process_env("GITHUB_ENV").ok_or_else(|| {
        Error::Usage(
            "--format github appends to the file named by $GITHUB_ENV, which is not set: run it in a GitHub Actions step (elsewhere, use --format dotenv, shell or json)"
                .into(),
        )
    })?;
    if out::stdout_is(Path::new(&env_file)) {
        // The old one-liner `kvenv export --format github >> "$GITHUB_ENV"`: the masks would
        // land in the env file, where the runner rejects them and prints the secret.
        return Err(Error::Usage(
            "stdout is the $GITHUB_ENV file: run `kvenv export --format github` without `>> \"$GITHUB_ENV\"`; kvenv appends the variables to it itself and prints only the masks".into(),
        ));
    }
    let fetched = fetch_all(plan, &a.vault, ui, Leases::Keep)?;
    let os = render::github::RunnerOs::from_env(settings::process_env("RUNNER_OS").as_deref());
    let github = render::github::render(&fetched.vars, os)?;
    out::stdout(github.masks.as_bytes())?;
    write::append(Path::new(&env_file), github.env.as_bytes())?;
    ui.info(&format!(
        "added {} variables to $GITHUB_ENV ({} masked in the log)",
        fetched.vars.len(),
        github.masked
    ));
    Ok(code::OK)
}
