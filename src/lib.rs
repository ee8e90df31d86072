//! kvenv: secrets from Vault or OpenBao KV into a `.env` file, atomically.
//!
//! The data flows one way, one module per stage:
//! [`manifest`] (secrets.toml as written) → [`plan`] (checked, placeholders filled) →
//! [`fetch`] (one read per secret, concurrently, through [`vault`]) → [`render`] (bytes in the
//! chosen format, refusing values a reader would misread) → [`write`] (atomic replace, mode 0600)
//! and [`gitignore`]. [`commands`] strings the stages together for each subcommand.

pub mod cli;
pub mod commands;
pub mod diff;
pub mod envfile;
pub mod error;
pub mod fetch;
pub mod files;
pub mod gitignore;
pub mod man;
pub mod manifest;
pub mod plan;
pub mod plan_json;
pub mod policy;
pub mod push;
pub mod render;
pub mod secret;
pub mod ui;
pub mod vault;
pub mod write;
