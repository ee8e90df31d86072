//! Integration tests: the real `kvenv` binary against a real OpenBao server, one file per
//! feature, all through the builder in `test.rs`.

mod server;
mod test;

mod auth;
mod check;
mod errors;
mod export;
mod faults;
mod gitignore;
mod kv;
mod readme;
mod seed;
mod sync;
mod tls;
mod validate;
mod workflows;
