//! `kvenv completions` and `kvenv man`: generated from the clap definitions, so they cannot
//! drift from the flags.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{Error, code};
use crate::ui;

pub(super) fn completions(shell: clap_complete::Shell) -> Result<u8, Error> {
    let mut cmd = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "kvenv", &mut script);
    ui::stdout(&script)?;
    Ok(code::OK)
}

/// The top page on stdout, or with `out_dir` every page written there (each named on stderr).
pub(super) fn man(out_dir: Option<&std::path::Path>) -> Result<u8, Error> {
    match out_dir {
        None => ui::stdout(&crate::man::top_page())?,
        Some(dir) => {
            for path in crate::man::write_all(dir)? {
                ui::line(&path.display().to_string());
            }
        }
    }
    Ok(code::OK)
}
