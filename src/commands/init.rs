//! `kvenv init`: a starter manifest, from a hand-kept `.env`'s names when one is given.

use std::io::Write;

use super::read_hand_kept;
use crate::cli::InitArgs;
use crate::error::{Error, code, io_reason};
use crate::render::Reader;
use crate::ui;
use crate::write::WriteError;

/// A starter manifest: each variable of `--from` (or an example) at
/// `kv/{project}/{env}/<lower_snake_name>`, the seed script's convention. `--from` is read the
/// way the readers read it (the default readers when none are given); readers other than the
/// default go into `[output] readers`.
pub(super) fn init(a: &InitArgs) -> Result<u8, Error> {
    let mut chosen: Vec<Reader> = Vec::new();
    for r in &a.readers.readers {
        if !chosen.contains(r) {
            chosen.push(*r);
        }
    }
    if chosen.is_empty() {
        chosen = Reader::DEFAULT.to_vec();
    }
    let manifest = &a.manifest;
    if manifest.exists() {
        return Err(Error::Usage(format!(
            "{} already exists; kvenv init does not overwrite it",
            manifest.display()
        )));
    }
    let project = a.project.clone().unwrap_or_else(|| {
        std::env::current_dir()
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "app".into())
    });
    let mount = a.mount.trim_matches('/');
    let names: Vec<String> = match &a.from {
        Some(file) => read_hand_kept(file, &chosen, "--reader")?
            .into_iter()
            .map(|(name, _)| name)
            .collect(),
        None => vec!["DATABASE_URL".into(), "SECRET_KEY".into()],
    };
    let quote = |s: &str| toml::Value::String(s.to_owned()).to_string();
    let mut text = String::from(
        "# secrets.toml: which Vault secrets become which environment variables.\n\
         # `kvenv sync` writes them to .env; `kvenv validate` checks this file offline.\n\n\
         [vault]\n\
         # address = \"https://vault.example.com:8200\"   # or BAO_ADDR / VAULT_ADDR\n\n",
    );
    text.push_str(&format!(
        "[vars]                  # {{placeholders}} in paths; override with --var env=prod\nproject = {}\nenv = {}\n\n",
        quote(&project),
        quote(&a.env)
    ));
    text.push_str("[output]\npath = \".env\"\n");
    if chosen != Reader::DEFAULT {
        let names: Vec<String> = chosen.iter().map(|r| quote(r.name())).collect();
        text.push_str(&format!("readers = [{}]\n", names.join(", ")));
    }
    text.push_str("\n[secrets]\n");
    let width = names.iter().map(String::len).max().unwrap_or(0);
    for name in &names {
        let path = format!("{mount}/{{project}}/{{env}}/{}", name.to_lowercase());
        text.push_str(&format!("{name:width$} = {}\n", quote(&path)));
    }
    // create_new: never over a file that appeared since the check above.
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(manifest)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| WriteError::write(manifest, io_reason(&e)))?;
    ui::line(&format!(
        "wrote {} ({} variables); check it with `kvenv validate`",
        manifest.display(),
        names.len()
    ));
    Ok(code::OK)
}
