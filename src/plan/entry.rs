//! One `[secrets]` line → one checked [`Entry`].
//!
//! The forms, told apart by the name and the path:
//!
//! | written | entry |
//! |---|---|
//! | `A = "kv/app#key"`, `A = { path = "kv/app", key = "key" }` | one variable from one key |
//! | `"P_*" = "kv/app"` | every key of one secret (an import) |
//! | `"P_*" = "kv/app/"`, `{ path = "kv/app/", recursive = true, names = "secrets", ... }` | every secret of a folder |
//! | `A = { template = "postgresql://${USER}:${PASS\|url}@db/app" }` | a value composed of others |
//! | `A = { read = "database/creds/app", key = "username" }`, `"P_*" = { read = ... }` | a dynamic secret (any engine, with a lease) |
//!
//! A path that ends in `/` names a folder. Fields that do not apply to the form are errors, so a
//! typo (or a field from another form) never passes silently.

use std::collections::BTreeMap;

use super::names::{DENIED_IMPORT_PREFIXES, is_identifier, normalize_path, substitute};
use super::template::Template;
use super::{Entry, Folder, FolderNames, OnMissing, Target};
use crate::manifest::RawEntry;

/// How many secrets a folder import may bring when the manifest does not say: enough for any
/// app, too few for a mount-root import by mistake to copy a company's secrets into a file.
pub const DEFAULT_MAX: usize = 1000;

/// The table form's fields, as given.
#[derive(Default)]
struct Fields {
    path: Option<String>,
    key: Option<String>,
    version: Option<u64>,
    optional: bool,
    default: Option<String>,
    mask: Option<bool>,
    internal: Option<bool>,
    template: Option<String>,
    recursive: Option<bool>,
    names: Option<String>,
    max: Option<usize>,
    read: Option<String>,
}

const KNOWN: &str =
    "path, key, version, optional, default, mask, internal, template, recursive, names, max, read";

fn fields(value: &toml::Value) -> Result<Fields, String> {
    let mut f = Fields::default();
    match value {
        toml::Value::String(s) => match s.split_once('#') {
            // The short form splits at the first '#'; a path or key with '#' uses the table form.
            Some((p, k)) => {
                f.path = Some(p.to_owned());
                f.key = Some(k.to_owned());
            }
            None => f.path = Some(s.clone()),
        },
        toml::Value::Table(t) => {
            for (field, value) in t {
                use toml::Value::{Boolean, Integer, String};
                match (field.as_str(), value) {
                    ("path", String(s)) => f.path = Some(s.clone()),
                    ("key", String(s)) => f.key = Some(s.clone()),
                    ("default", String(s)) => f.default = Some(s.clone()),
                    ("template", String(s)) => f.template = Some(s.clone()),
                    ("names", String(s)) => f.names = Some(s.clone()),
                    ("read", String(s)) => f.read = Some(s.clone()),
                    ("version", Integer(v)) if *v >= 1 => f.version = Some(*v as u64),
                    ("version", _) => return Err("version must be an integer of 1 or more".into()),
                    ("max", Integer(v)) if *v >= 1 => f.max = Some(*v as usize),
                    ("max", _) => return Err("max must be an integer of 1 or more".into()),
                    ("optional", Boolean(b)) => f.optional = *b,
                    ("mask", Boolean(b)) => f.mask = Some(*b),
                    ("internal", Boolean(b)) => f.internal = Some(*b),
                    ("recursive", Boolean(b)) => f.recursive = Some(*b),
                    ("path" | "key" | "default" | "template" | "names" | "read", _) => {
                        return Err(format!("`{field}` must be a string"));
                    }
                    ("optional" | "mask" | "internal" | "recursive", _) => {
                        return Err(format!("`{field}` must be true or false"));
                    }
                    (other, _) => {
                        return Err(format!("unknown field `{other}`; an entry takes {KNOWN}"));
                    }
                }
            }
        }
        _ => {
            return Err(
                "must be a path string (\"mount/path\" or \"mount/path#key\") or a table { path = ... }"
                    .into(),
            );
        }
    }
    Ok(f)
}

pub(super) fn build_entry(
    raw: &RawEntry,
    vars: &BTreeMap<String, String>,
    used: &mut Vec<String>,
    location: String,
) -> Result<Entry, String> {
    let name = raw.name.get_ref();
    let import = name.strip_suffix('*');
    match import {
        Some(prefix) if !prefix.is_empty() && !is_identifier(prefix) => {
            return Err(
                "an import prefix must be a valid variable name start (letters, digits, _; not a digit first), e.g. \"POSTGRES_*\""
                    .into(),
            );
        }
        None if !is_identifier(name) => {
            return Err(
                "not a valid environment variable name (letters, digits and _, not starting with a digit)"
                    .into(),
            );
        }
        _ => {}
    }
    let f = fields(raw.value.get_ref())?;
    let missing = match (f.optional, &f.default) {
        (true, Some(_)) => {
            return Err("use either `optional = true` or `default`, not both".into());
        }
        (true, None) => OnMissing::Skip,
        (false, Some(d)) => OnMissing::Default(d.clone()),
        (false, None) => OnMissing::Fail,
    };
    let form = Form {
        name,
        import,
        f: &f,
        missing: &missing,
    };
    let (target, path, version) = if let Some(text) = &f.template {
        (form.template(text)?, String::new(), None)
    } else if let Some(read) = &f.read {
        let (target, path) = form.read(read, vars, used)?;
        (target, path, None)
    } else {
        form.secret_or_folder(vars, used)?
    };
    Ok(Entry {
        target,
        path,
        version,
        missing,
        mask: f.mask.unwrap_or(true),
        internal: f.internal.unwrap_or(false),
        dynamic: f.read.is_some(),
        location,
    })
}

/// One entry's name and fields, told apart into its form.
struct Form<'a> {
    name: &'a str,
    /// The prefix of a `PREFIX_*` name.
    import: Option<&'a str>,
    f: &'a Fields,
    missing: &'a OnMissing,
}

impl Form<'_> {
    /// `{ template = "..." }`: a value composed of other variables.
    fn template(&self, text: &str) -> Result<Target, String> {
        let f = self.f;
        if f.path.is_some() || f.key.is_some() || f.version.is_some() || f.read.is_some() {
            return Err(
                "a template takes no path, read, key or version: it is composed of other variables"
                    .into(),
            );
        }
        refuse_folder_fields(f, "a template")?;
        if self.import.is_some() {
            return Err("a template makes one variable; its name cannot end in *".into());
        }
        Ok(Target::Template {
            name: self.name.to_owned(),
            template: Template::parse(text)?,
        })
    }

    /// `{ read = "database/creds/app" }`: a read of any engine, as is.
    fn read(
        &self,
        read: &str,
        vars: &BTreeMap<String, String>,
        used: &mut Vec<String>,
    ) -> Result<(Target, String), String> {
        let f = self.f;
        if f.path.is_some() || f.version.is_some() {
            return Err(
                "`read` names a path of any secrets engine (database/creds/app); it takes no `path` or `version`"
                    .into(),
            );
        }
        refuse_folder_fields(f, "a dynamic read")?;
        let substituted = substitute(read, vars, used)?;
        if substituted.ends_with('/') {
            return Err(format!(
                "read {substituted:?} ends in /: a dynamic read names one path, not a folder"
            ));
        }
        let path =
            normalize_path(&substituted).map_err(|m| format!("read {substituted:?}: {m}"))?;
        Ok((self.one_or_every_key()?, path))
    }

    /// `path`: one secret (a key, or every key), or a folder when the path ends in `/`.
    fn secret_or_folder(
        &self,
        vars: &BTreeMap<String, String>,
        used: &mut Vec<String>,
    ) -> Result<(Target, String, Option<u64>), String> {
        let f = self.f;
        let written = f
            .path
            .as_deref()
            .ok_or("the table form needs `path` (or `template` or `read`)")?;
        let substituted = substitute(written, vars, used)?;
        let path =
            normalize_path(&substituted).map_err(|m| format!("path {substituted:?}: {m}"))?;
        if substituted.ends_with('/') {
            let Some(prefix) = self.import else {
                return Err(format!(
                    "path {substituted:?} ends in /, so it names a folder: import it with a name like \"APP_*\" (or \"*\"), or name one secret without the /"
                ));
            };
            return Ok((self.folder(prefix)?, path, None));
        }
        refuse_folder_fields(f, "one secret (a path without a final /)")?;
        if !path.contains('/') {
            return Err(format!(
                "path {path:?} names only a mount; write mount/path/to/secret (or mount/ to import the whole mount as a folder)"
            ));
        }
        Ok((self.one_or_every_key()?, path, f.version))
    }

    /// `"PREFIX_*" = "kv/folder/"`: every secret of a folder.
    fn folder(&self, prefix: &str) -> Result<Target, String> {
        let f = self.f;
        check_prefix(prefix)?;
        if f.version.is_some() {
            return Err(
                "a folder import takes the latest version of each secret; it cannot pin one".into(),
            );
        }
        if let OnMissing::Default(_) = self.missing {
            return Err("a folder import cannot have a `default`".into());
        }
        let names = match f.names.as_deref() {
            None | Some("keys") => {
                if f.key.is_some() {
                    return Err("names = \"keys\" takes every key of each secret; `key` goes with names = \"secrets\"".into());
                }
                FolderNames::Keys
            }
            Some("secrets") => FolderNames::Secrets { key: f.key.clone() },
            Some(other) => {
                return Err(format!(
                    "names = {other:?} is not \"keys\" (a variable per key) or \"secrets\" (a variable per secret)"
                ));
            }
        };
        Ok(Target::Folder(Folder {
            prefix: prefix.to_owned(),
            recursive: f.recursive.unwrap_or(false),
            names,
            max: f.max.unwrap_or(DEFAULT_MAX),
        }))
    }

    /// One key as a variable (`NAME`), or every key (`PREFIX_*`).
    fn one_or_every_key(&self) -> Result<Target, String> {
        let f = self.f;
        Ok(match self.import {
            Some(prefix) => {
                if f.key.is_some() {
                    return Err(
                        "an import (NAME_*) takes every key; it cannot pick one with #key or `key`"
                            .into(),
                    );
                }
                if let OnMissing::Default(_) = self.missing {
                    return Err("an import (NAME_*) cannot have a `default`".into());
                }
                check_prefix(prefix)?;
                Target::Import {
                    prefix: prefix.to_owned(),
                }
            }
            None => {
                let key = f.key.clone().unwrap_or_else(|| self.name.to_owned());
                if key.is_empty() {
                    return Err("the key after '#' is empty".into());
                }
                Target::Var {
                    name: self.name.to_owned(),
                    key,
                }
            }
        })
    }
}

/// A prefix that could only make names an import may not set is refused offline.
fn check_prefix(prefix: &str) -> Result<(), String> {
    match DENIED_IMPORT_PREFIXES
        .iter()
        .find(|d| prefix.to_ascii_uppercase().starts_with(*d))
    {
        Some(denied) => Err(format!(
            "an import may not set {denied}* variables (they change how programs load code, run git or reach Vault); map each key explicitly"
        )),
        None => Ok(()),
    }
}

fn refuse_folder_fields(f: &Fields, what: &str) -> Result<(), String> {
    for (field, given) in [
        ("recursive", f.recursive.is_some()),
        ("names", f.names.is_some()),
        ("max", f.max.is_some()),
    ] {
        if given {
            return Err(format!(
                "`{field}` is for a folder import (a path ending in /), not {what}"
            ));
        }
    }
    Ok(())
}
