//! `kvenv`: parse the command line, run the command, print the error, exit with its code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = kvenv::cli::Cli::parse();
    match kvenv::commands::run(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // One line of text, whatever a server or a manifest put in the message.
            kvenv::ui::line(&format!("error: {e}"));
            ExitCode::from(e.exit_code())
        }
    }
}
