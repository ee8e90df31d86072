//! Integration tests: the real `kvenv` binary against a real OpenBao server, one file per
//! feature, all through the builder in `test.rs`.

mod server;
mod test;

mod action;
mod auth;
mod check;
mod errors;
mod export;
mod faults;
mod files;
mod gitignore;
// Not a feature: the GitHub Actions runner's rules, ported for the `--format github` tests.
#[allow(dead_code)]
mod github_runner;
mod kv;
mod precommit;
mod readme;
mod seed;
mod streams;
mod sync;
mod tls;
mod validate;
mod workflows;
