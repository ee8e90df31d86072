//! Integration tests: the real `kvenv` binary against a real OpenBao server, one file per
//! feature, all through the builder in `test.rs`.

// Shared with tests/robustness (through #[path]), which uses parts this binary does not.
#[allow(dead_code)]
mod proxy;
mod running;
#[allow(dead_code)]
mod server;
mod test;

mod action;
mod auth;
mod check;
mod concurrency;
mod dynamic;
mod errors;
mod export;
mod faults;
mod files;
mod folders;
mod gitignore;
// Not a feature: the GitHub Actions runner's rules, ported for the `--format github` tests.
#[allow(dead_code)]
mod github_runner;
mod kv;
mod postgres;
mod precommit;
mod readme;
mod seed;
mod streams;
mod sync;
mod templates;
mod tls;
mod validate;
mod watch;
mod workflows;
