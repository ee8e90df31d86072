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

pub(super) fn man() -> Result<u8, Error> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .map_err(|e| Error::Usage(format!("cannot render the man page: {e}")))?;
    ui::stdout(&page)?;
    Ok(code::OK)
}
