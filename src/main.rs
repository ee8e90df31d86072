//! `kvenv`: parse the command line, run the command, print the error, exit with its code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = kvenv::cli::Cli::parse();
    match kvenv::commands::run(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // One line, whatever a server put in its message.
            let message = e.to_string().replace(['\n', '\r'], " ");
            eprintln!("kvenv: error: {message}");
            ExitCode::from(e.exit_code())
        }
    }
}
