//! Robustness tests: nothing lost, nothing leaked (issue 7), each producing figures.
//!
//! The real `kvenv` binary, killed at random points, run twenty at once, denied its folder, fed
//! hostile manifests and values, and audited for leaks, against the same real OpenBao dev server
//! the integration tests use (their `server.rs`, `proxy.rs`, `rng.rs` and builder, included
//! unchanged), plus a real three-node raft cluster for failover. Each test counts its figures
//! (runs, kills, torn files, exit codes, fuzz cases, leaks), prints them and writes them to
//! `$CARGO_TARGET_TMPDIR/robustness/<test>.md` (`cargo test --test robustness -- --nocapture`
//! shows them); the ones that hold on every run make its section of `docs/robustness.md`, which
//! the test checks (`kit::Figures`).

#[allow(dead_code)]
#[path = "../integration/proxy.rs"]
mod proxy;
#[path = "../integration/rng.rs"]
mod rng;
#[allow(dead_code)]
#[path = "../integration/running.rs"]
mod running;
#[allow(dead_code)]
#[path = "../integration/server.rs"]
mod server;
#[allow(dead_code)]
#[path = "../integration/test.rs"]
mod test;

mod kit;

mod concurrent;
mod crash;
mod ha;
mod hostile;
mod leaks;
mod write_failures;
