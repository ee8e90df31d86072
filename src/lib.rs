//! kvenv: secrets from Vault or OpenBao KV into a `.env` file, atomically.
//!
//! The data flows one way, one module per stage:
//!
//! ```text
//! Manifest ──▶ Plan ──▶ Resolved ──▶ Fetched ──▶ bytes ──▶ file
//! manifest     plan     resolve      fetch,      render    write,
//!                                    assemble              gitignore
//! ```
//!
//! - [`manifest`]: `secrets.toml` as written (serde, with spans for line numbers);
//! - [`plan`]: every rule checked, placeholders filled: valid names, clean paths;
//! - `resolve`: each path's mount and KV version, as typed references, and the distinct reads
//!   (asking the server only about undeclared mounts);
//! - `fetch`: one request per read, concurrently, through [`vault`]; [`assemble`] (pure) turns
//!   the answers into variables: keys, imports, defaults, optionality;
//! - [`render`]: bytes in the chosen format, refusing a value a declared reader would misread;
//! - [`write`]: the atomic replace (mode 0600, symlinks, ownership), with `gitignore` keeping
//!   the file out of git.
//!
//! Around the pipeline: `settings` joins flags, environment and manifest into what [`vault`]
//! needs (address, TLS, a login with its credentials read); [`commands`] strings the stages
//! together for each subcommand; [`ui`] prints; `files` reads the files kvenv did not write
//! (regular files only, bounded); `policy` and [`push`] are functions of the resolved reads;
//! `child` supervises the command of a `run` that stays (a watch, leases), on the clocks of
//! `lifetime`;
//! [`envfile`] reads hand-kept `.env` files as their readers would; `diff` names what a sync
//! would change.

pub mod assemble;
pub(crate) mod child;
pub mod cli;
pub mod commands;
pub(crate) mod diff;
pub mod envfile;
pub mod error;
pub(crate) mod fetch;
pub(crate) mod files;
pub(crate) mod gitignore;
pub(crate) mod lifetime;
pub mod man;
pub mod manifest;
pub(crate) mod os;
pub mod plan;
pub mod plan_json;
pub(crate) mod policy;
pub mod push;
pub mod render;
pub(crate) mod resolve;
pub mod secret;
pub(crate) mod settings;
pub mod ui;
pub mod vault;
pub mod write;
