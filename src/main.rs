//! `kvenv`: parse the command line, run the command, print the error, exit with its code.

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

fn main() -> ExitCode {
    let cli = match kvenv::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage(e),
    };
    match kvenv::commands::run(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // One line of text, whatever a server or a manifest put in the message.
            kvenv::ui::line(&format!("error: {e}"));
            ExitCode::from(e.exit_code())
        }
    }
}

/// clap's own message and exit code (2 for a usage error, 0 for `--help` and `--version`), with
/// a tip for the most common slip: `kvenv run env`, the command without `--` before it.
fn usage(e: clap::Error) -> ExitCode {
    let mut args = std::env::args().skip(1);
    let run_without_dashes = e.kind() == ErrorKind::UnknownArgument
        && args.next().as_deref() == Some("run")
        && !args.any(|a| a == "--");
    // A closed stream is no reason to panic; there is nothing else to tell.
    let _ = e.print();
    if run_without_dashes {
        kvenv::ui::line("tip: give the command after `--`: kvenv run [OPTIONS] -- CMD [ARGS...]");
    }
    ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2))
}
