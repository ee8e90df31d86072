//! The command line's shape and its value parsers.

use super::*;
use clap::CommandFactory;

#[test]
fn cli_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn durations() {
    assert_eq!(parse_duration("60s").unwrap(), Duration::from_secs(60));
    assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
    assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
    assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
    assert!(parse_duration("0s").is_err());
    assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
    assert!(parse_duration("24h").is_err());
    assert!(parse_duration("abc").is_err());
}

#[test]
fn sizes() {
    assert_eq!(parse_size("64MiB").unwrap(), 64 << 20);
    assert_eq!(parse_size("512KiB").unwrap(), 512 << 10);
    assert_eq!(parse_size("1000000").unwrap(), 1_000_000);
    assert!(parse_size("12").is_err());
    assert!(parse_size("1TiB").is_err());
    assert!(parse_size("lots").is_err());
}

#[test]
fn each_command_takes_only_its_own_flags() {
    let parse =
        |args: &[&str]| Cli::try_parse_from(std::iter::once("kvenv").chain(args.iter().copied()));
    assert!(parse(&["validate", "--address", "x"]).is_err());
    // validate checks the plan a sync would run, output flags included.
    assert!(parse(&["validate", "-o", "x", "--format", "json"]).is_ok());
    assert!(parse(&["validate", "--timeout", "5s"]).is_err());
    assert!(parse(&["sync", "--interval", "5s"]).is_err());
    assert!(parse(&["sync", "--watch", "--interval", "5s", "--exec", "true"]).is_ok());
    assert!(parse(&["run", "--exec", "x", "--", "true"]).is_err());
    assert!(
        parse(&[
            "run",
            "--watch",
            "--grace",
            "1s",
            "--restart-signal",
            "HUP",
            "--",
            "true"
        ])
        .is_ok()
    );
    assert!(parse(&["run", "--grace", "1s", "--", "true"]).is_err());
    assert!(parse(&["run", "-o", "x", "--", "true"]).is_err());
    assert!(parse(&["sync", "--format", "github"]).is_err());
    assert!(parse(&["export", "--format", "github"]).is_ok());
    assert!(parse(&["export", "-o", "x"]).is_err());
    assert!(parse(&["policy", "--reader", "sh"]).is_err());
    assert!(parse(&["sync", "-o", "x", "--reader", "sh", "--timeout", "5s", "-q"]).is_ok());
    assert!(parse(&["push", "--reader", "sh", "--from", "x"]).is_ok());
}
