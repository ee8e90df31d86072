//! The plan: a manifest with every rule checked and every placeholder filled in.
//!
//! A [`Plan`] is what the rest of the pipeline works from. Its types carry the manifest's
//! invariants, so later stages never re-check them: every variable name is a valid environment
//! variable name, every path is a clean logical KV path (mount first, no `data/` inserted, no
//! empty, `.` or `..` segments) with its `{placeholders}` substituted, every pinned version is at
//! least 1, and each entry knows its manifest line for error messages.
//!
//! What cannot be known offline (the KV version of a mount that the manifest does not declare,
//! the keys of a `PREFIX_*` import) is checked by [`crate::fetch`] once the server has answered.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use crate::error::ManifestError;
use crate::manifest::{AuthSection, Credential, Manifest, RawEntry, Source, TlsSection};
use crate::render::{Format, Reader};
use crate::vault::kv::{KvVersion, Mount};

/// Overrides from the command line that change the plan itself.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--var NAME=VALUE`, in order; a later one wins.
    pub vars: Vec<(String, String)>,
    /// `--output PATH`, taken relative to the working directory.
    pub output: Option<PathBuf>,
    /// `--format`.
    pub format: Option<Format>,
    /// `--reader`, repeatable; replaces the manifest's list.
    pub readers: Vec<Reader>,
}

/// Everything a run needs from the manifest.
#[derive(Debug)]
pub struct Plan {
    /// The manifest's path, as given.
    pub manifest: PathBuf,
    pub vault: VaultPlan,
    pub output: OutputPlan,
    pub entries: Vec<Entry>,
}

#[derive(Debug)]
pub struct VaultPlan {
    pub address: Option<String>,
    pub namespace: Option<String>,
    /// The mounts whose KV version the manifest declares (`kv_version`), longest path first,
    /// so kvenv need not ask the server about them.
    pub mounts: Vec<Mount>,
    pub auth: AuthSection,
    pub tls: Option<TlsSection>,
}

#[derive(Debug)]
pub struct OutputPlan {
    pub path: PathBuf,
    pub format: Format,
    pub readers: Vec<Reader>,
    pub gitignore: bool,
    pub mode: u32,
    pub export: bool,
}

/// One `[secrets]` entry, checked.
#[derive(Debug, Clone)]
pub struct Entry {
    pub target: Target,
    /// The logical KV path: `kv/app/db`.
    pub path: String,
    pub version: Option<u64>,
    pub missing: OnMissing,
    /// Masked in CI logs (`mask = false` turns it off for plain configuration).
    pub mask: bool,
    /// `secrets.toml:12`, for error messages.
    pub location: String,
}

/// What an entry produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// One variable from one key.
    Var { name: String, key: String },
    /// `PREFIX_*`: one variable per key of the secret.
    Import { prefix: String },
}

/// What happens when the secret, key or version is not there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnMissing {
    Fail,
    Skip,
    Default(String),
}

impl Entry {
    /// The name as written in the manifest: `DB_PASSWORD` or `POSTGRES_*`.
    pub fn label(&self) -> String {
        match &self.target {
            Target::Var { name, .. } => name.clone(),
            Target::Import { prefix } => format!("{prefix}*"),
        }
    }
}

impl Plan {
    /// Read, parse and check a manifest.
    pub fn load(manifest: &Path, overrides: &Overrides) -> Result<Plan, ManifestError> {
        let source = Source::read(manifest)?;
        let parsed = source.parse()?;
        Plan::build(&source, parsed, overrides)
    }

    /// Check a parsed manifest and apply the command-line overrides.
    pub fn build(
        source: &Source,
        manifest: Manifest,
        overrides: &Overrides,
    ) -> Result<Plan, ManifestError> {
        let err = |offset: Option<usize>, message: String| ManifestError::Invalid {
            file: source.path.clone(),
            line: offset.map(|o| source.line_of(o)),
            message,
        };

        let mut vars: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in &manifest.vars {
            if !is_identifier(name) {
                return Err(err(
                    Some(value.span().start),
                    format!(
                        "[vars] name {name:?} is not a valid placeholder name (letters, digits, _)"
                    ),
                ));
            }
            check_var_value(value.get_ref()).map_err(|m| {
                err(
                    Some(value.span().start),
                    format!("[vars] {name} = {:?}: {m}", value.get_ref()),
                )
            })?;
            vars.insert(name.clone(), value.get_ref().clone());
        }
        let mut used: Vec<String> = Vec::new();
        for (name, value) in &overrides.vars {
            if !is_identifier(name) {
                return Err(err(
                    None,
                    format!("--var {name}: not a valid placeholder name (letters, digits, _)"),
                ));
            }
            check_var_value(value).map_err(|m| err(None, format!("--var {name}={value}: {m}")))?;
            vars.insert(name.clone(), value.clone());
        }

        let mut mounts = Vec::new();
        for (mount, version) in &manifest.vault.kv_version {
            let at = Some(version.span().start);
            let version = match *version.get_ref() {
                1 => KvVersion::V1,
                2 => KvVersion::V2,
                other => {
                    return Err(err(
                        at,
                        format!("kv_version for mount {mount:?} is {other}; it must be 1 or 2"),
                    ));
                }
            };
            let path = normalize_path(mount)
                .map_err(|m| err(at, format!("kv_version: mount {mount:?}: {m}")))?;
            mounts.push(Mount::declared(&path, version));
        }
        // Longest first, so that the first prefix match is the right mount.
        mounts.sort_by_key(|m| std::cmp::Reverse(m.path.len()));

        let output = build_output(source, &manifest, overrides, &err)?;
        let auth = match manifest.vault.auth {
            Some(auth) => {
                let at = Some(auth.span().start);
                let auth = auth.into_inner();
                for (field, c) in auth.credentials() {
                    if let Credential::File(p) = c {
                        check_path(p).map_err(|m| err(at, format!("[vault.auth] {field}: {m}")))?;
                    }
                }
                auth
            }
            None => AuthSection::default(),
        };

        if let Some(tls) = &manifest.vault.tls {
            for (field, p) in [
                ("ca_cert", &tls.ca_cert),
                ("ca_path", &tls.ca_path),
                ("client_cert", &tls.client_cert),
                ("client_key", &tls.client_key),
            ] {
                if let Some(p) = p {
                    check_path(p).map_err(|m| err(None, format!("[vault.tls] {field}: {m}")))?;
                }
            }
        }

        let mut entries = Vec::with_capacity(manifest.secrets.0.len());
        for raw in &manifest.secrets.0 {
            let at = raw.name.span().start;
            let location = format!("{}:{}", source.path.display(), source.line_of(at));
            let entry = build_entry(raw, &vars, &mut used, location)
                .map_err(|m| err(Some(at), format!("{}: {m}", raw.name.get_ref())))?;
            if let (Some(_), Some(mount)) = (entry.version, declared_mount(&mounts, &entry.path))
                && mount.version == KvVersion::V1
            {
                return Err(err(
                    Some(at),
                    format!(
                        "{}: version pins need a KV v2 mount, and {} is declared kv_version = 1",
                        raw.name.get_ref(),
                        mount.path.trim_end_matches('/')
                    ),
                ));
            }
            entries.push(entry);
        }
        for (name, _) in &overrides.vars {
            if !manifest.vars.contains_key(name) && !used.contains(name) {
                return Err(err(
                    None,
                    format!(
                        "--var {name}: the manifest has no {{{name}}} placeholder and no [vars] entry {name:?}"
                    ),
                ));
            }
        }

        Ok(Plan {
            manifest: source.path.clone(),
            vault: VaultPlan {
                address: manifest.vault.address,
                namespace: manifest.vault.namespace,
                mounts,
                auth,
                tls: manifest.vault.tls,
            },
            output,
            entries,
        })
    }

    /// The folder the manifest is in: relative output paths start there.
    pub fn manifest_dir(&self) -> &Path {
        crate::files::parent_or_dot(&self.manifest)
    }
}

/// The declared mount a path falls under, if any (`mounts` longest first).
pub fn declared_mount<'a>(mounts: &'a [Mount], path: &str) -> Option<&'a Mount> {
    mounts.iter().find(|m| m.contains(path))
}

fn build_output(
    source: &Source,
    manifest: &Manifest,
    overrides: &Overrides,
    err: &dyn Fn(Option<usize>, String) -> ManifestError,
) -> Result<OutputPlan, ManifestError> {
    let out = &manifest.output;
    let dir = match source.path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::new(),
    };
    let path = match (&overrides.output, &out.path) {
        (Some(p), _) => {
            check_path(p).map_err(|m| err(None, format!("--output: {m}")))?;
            p.clone()
        }
        (None, Some(p)) => {
            check_path(Path::new(p.get_ref()))
                .map_err(|m| err(Some(p.span().start), format!("output path: {m}")))?;
            let rel = Path::new(p.get_ref());
            let escapes = rel.as_os_str().is_empty()
                || rel
                    .components()
                    .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir));
            if escapes {
                return Err(err(
                    Some(p.span().start),
                    format!(
                        "output path {:?} must be a file path inside the manifest's folder (no absolute path, no ..); use --output to write elsewhere",
                        p.get_ref()
                    ),
                ));
            }
            dir.join(rel)
        }
        (None, None) => dir.join(".env"),
    };
    let format = match (overrides.format, &out.format) {
        (Some(f), _) => f,
        (None, Some(f)) => match Format::parse(f.get_ref()) {
            Some(Format::Github) | None => {
                return Err(err(
                    Some(f.span().start),
                    format!("format {:?} is not one of dotenv, shell, json", f.get_ref()),
                ));
            }
            Some(f) => f,
        },
        (None, None) => Format::Dotenv,
    };
    let readers = if !overrides.readers.is_empty() {
        overrides.readers.clone()
    } else if let Some(list) = &out.readers {
        let mut readers = Vec::new();
        for name in list.get_ref() {
            match Reader::parse(name) {
                Some(r) => readers.push(r),
                None => {
                    return Err(err(
                        Some(list.span().start),
                        format!(
                            "unknown reader {name:?}; known readers: {}",
                            Reader::ALL.map(|r| r.name()).join(", ")
                        ),
                    ));
                }
            }
        }
        if readers.is_empty() {
            return Err(err(
                Some(list.span().start),
                "readers is empty; name at least one program that reads the file".into(),
            ));
        }
        readers
    } else {
        Reader::DEFAULT.to_vec()
    };
    let mode = match &out.mode {
        Some(m) => parse_mode(m.get_ref()).ok_or_else(|| {
            err(
                Some(m.span().start),
                format!(
                    "mode {:?} is not an octal file mode such as \"0600\" (owner read and write at least)",
                    m.get_ref()
                ),
            )
        })?,
        None => 0o600,
    };
    Ok(OutputPlan {
        path,
        format,
        readers,
        gitignore: out.gitignore.unwrap_or(true),
        mode,
        export: out.export.unwrap_or(false),
    })
}

fn parse_mode(text: &str) -> Option<u32> {
    if text.is_empty() || text.len() > 4 || !text.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return None;
    }
    let mode = u32::from_str_radix(text, 8).ok()?;
    (mode & 0o600 == 0o600).then_some(mode)
}

fn build_entry(
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

    // The short form splits at the first '#'; a path or key that contains '#' uses the table form.
    let mut mask = true;
    let (path, key, version, missing) = match raw.value.get_ref() {
        toml::Value::String(s) => match s.split_once('#') {
            Some((p, k)) => (p.to_owned(), Some(k.to_owned()), None, OnMissing::Fail),
            None => (s.clone(), None, None, OnMissing::Fail),
        },
        toml::Value::Table(t) => {
            let mut path = None;
            let mut key = None;
            let mut version = None;
            let mut optional = false;
            let mut default = None;
            for (field, value) in t {
                match (field.as_str(), value) {
                    ("path", toml::Value::String(s)) => path = Some(s.clone()),
                    ("key", toml::Value::String(s)) => key = Some(s.clone()),
                    ("version", toml::Value::Integer(v)) if *v >= 1 => version = Some(*v as u64),
                    ("version", _) => {
                        return Err("version must be an integer of 1 or more".into());
                    }
                    ("optional", toml::Value::Boolean(b)) => optional = *b,
                    ("mask", toml::Value::Boolean(b)) => mask = *b,
                    ("default", toml::Value::String(s)) => default = Some(s.clone()),
                    ("path" | "key" | "default", _) => {
                        return Err(format!("`{field}` must be a string"));
                    }
                    ("optional" | "mask", _) => {
                        return Err(format!("`{field}` must be true or false"));
                    }
                    (other, _) => {
                        return Err(format!(
                            "unknown field `{other}`; an entry takes path, key, version, optional, default, mask"
                        ));
                    }
                }
            }
            let path = path.ok_or("the table form needs `path`")?;
            let missing = match (optional, default) {
                (true, Some(_)) => {
                    return Err("use either `optional = true` or `default`, not both".into());
                }
                (true, None) => OnMissing::Skip,
                (false, Some(d)) => OnMissing::Default(d),
                (false, None) => OnMissing::Fail,
            };
            (path, key, version, missing)
        }
        _ => {
            return Err(
                "must be a path string (\"mount/path\" or \"mount/path#key\") or a table { path = ... }"
                    .into(),
            );
        }
    };

    let path = substitute(&path, vars, used)?;
    let path = normalize_path(&path).map_err(|m| format!("path {path:?}: {m}"))?;
    if !path.contains('/') {
        return Err(format!(
            "path {path:?} names only a mount; write mount/path/to/secret"
        ));
    }
    let target = match import {
        Some(prefix) => {
            if key.is_some() {
                return Err(
                    "an import (NAME_*) takes every key; it cannot pick one with #key or `key`"
                        .into(),
                );
            }
            if let OnMissing::Default(_) = missing {
                return Err("an import (NAME_*) cannot have a `default`".into());
            }
            if let Some(denied) = DENIED_IMPORT_PREFIXES
                .iter()
                .find(|d| prefix.to_ascii_uppercase().starts_with(*d))
            {
                return Err(format!(
                    "an import may not set {denied}* variables (they change how programs load code, run git or reach Vault); map each key explicitly"
                ));
            }
            Target::Import {
                prefix: prefix.to_owned(),
            }
        }
        None => {
            let key = key.unwrap_or_else(|| name.clone());
            if key.is_empty() {
                return Err("the key after '#' is empty".into());
            }
            Target::Var {
                name: name.clone(),
                key,
            }
        }
    };
    Ok(Entry {
        target,
        path,
        version,
        missing,
        mask,
        location,
    })
}

/// Variables an import (`"PREFIX_*"`, folders) may never set, whatever a secret's keys are:
/// whoever can write one secret must not be able to make the app's loader, shell, language
/// runtime, git or TLS stack run their code or trust their server, nor redirect kvenv's own
/// Vault settings. An explicit entry may still name one: then the manifest's author chose it.
pub const DENIED_IMPORTS: &[&str] = &[
    "PATH",
    "HOME",
    "SHELL",
    "IFS",
    "ENV",
    "BASH_ENV",
    "CDPATH",
    "PS4",
    "PROMPT_COMMAND",
    "NODE_OPTIONS",
    "NODE_PATH",
    "NODE_EXTRA_CA_CERTS",
    "PYTHONPATH",
    "PYTHONSTARTUP",
    "PYTHONHOME",
    "PERL5LIB",
    "PERL5OPT",
    "RUBYOPT",
    "RUBYLIB",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "GCONV_PATH",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
];

/// Prefixes no imported name may start with (see [`DENIED_IMPORTS`]).
pub const DENIED_IMPORT_PREFIXES: &[&str] = &["LD_", "DYLD_", "GIT_", "VAULT_", "BAO_"];

/// Whether an import may not set `name` (compared without case: some platforms and programs
/// read these names case-insensitively).
pub fn denied_import(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    DENIED_IMPORTS.contains(&upper.as_str())
        || DENIED_IMPORT_PREFIXES.iter().any(|p| upper.starts_with(p))
}

/// A placeholder's value must fill whole path segments: not empty, and each `/`-separated part
/// neither empty nor `.` or `..`. An unset CI variable (`--var env=`) or `env=..` would otherwise
/// collapse the path and read another secret than the one meant, with exit 0.
fn check_var_value(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err(
            "a placeholder's value may not be empty (it would drop a segment from the path)".into(),
        );
    }
    if value.chars().any(char::is_control) {
        return Err("control characters are not allowed".into());
    }
    for segment in value.split('/') {
        match segment {
            "" => {
                return Err(
                    "an empty segment is not allowed (a placeholder fills whole path segments: no leading, trailing or doubled /)"
                        .into(),
                );
            }
            "." | ".." => {
                return Err(format!(
                    "the segment {segment:?} is not allowed (it would read another secret than the path names)"
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// A file path from the manifest or the command line: no control characters, which would end
/// up in messages and, for the output, in `.gitignore` rules.
pub fn check_path(path: &Path) -> Result<(), String> {
    if path
        .as_os_str()
        .to_string_lossy()
        .chars()
        .any(char::is_control)
    {
        return Err(format!(
            "{:?} has control characters, which no path kvenv uses may contain",
            path
        ));
    }
    Ok(())
}

/// Fill `{name}` placeholders. Values are inserted as they are and never scanned again, so a
/// value cannot smuggle in another placeholder and expansion always ends.
pub fn substitute(
    template: &str,
    vars: &BTreeMap<String, String>,
    used: &mut Vec<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        if rest.as_bytes()[i] == b'}' {
            return Err(format!("unmatched '}}' in {template:?}"));
        }
        let after = &rest[i + 1..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unclosed '{{' in {template:?}"))?;
        let name = &after[..end];
        if !is_identifier(name) {
            return Err(format!(
                "{{{name}}} in {template:?} is not a placeholder (letters, digits, _)"
            ));
        }
        let value = vars.get(name).ok_or_else(|| {
            format!("{{{name}}} is not defined; add it to [vars] or pass --var {name}=VALUE")
        })?;
        if !used.iter().any(|u| u == name) {
            used.push(name.to_owned());
        }
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Clean a logical path: drop leading, trailing and doubled slashes (Vault answers a trailing
/// slash on a v2 secret with a 500, and `//` with a redirect), refuse `.` and `..` segments
/// (which would name another secret than the one written) and control characters.
pub fn normalize_path(path: &str) -> Result<String, String> {
    let mut segments = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" => continue,
            "." | ".." => return Err(format!("the segment {segment:?} is not allowed")),
            s if s.chars().any(char::is_control) => {
                return Err("control characters are not allowed".into());
            }
            s => segments.push(s),
        }
    }
    if segments.is_empty() {
        return Err("the path is empty".into());
    }
    Ok(segments.join("/"))
}

/// `^[A-Za-z_][A-Za-z0-9_]*$`: what POSIX shells, dotenvy and godotenv accept as a name.
pub fn is_identifier(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(text: &str) -> Result<Plan, String> {
        plan_with(text, &Overrides::default())
    }

    fn plan_with(text: &str, o: &Overrides) -> Result<Plan, String> {
        let src = Source::new("secrets.toml", text);
        let m = src.parse().map_err(|e| e.to_string())?;
        Plan::build(&src, m, o).map_err(|e| e.to_string())
    }

    #[test]
    fn the_three_forms_and_imports() {
        let p = plan(
            r#"
[vars]
project = "app"
env = "dev"
[secrets]
FLASK_APP = "kv/{project}/{env}/flask_app"
FLASK_ENV = "kv/{project}/{env}/flask_environment#FLASK_ENV"
SECRET_KEY = { path = "kv/{project}/{env}/secret_key", key = "SECRET_KEY", version = 3 }
SENTRY_DSN = { path = "kv/{project}/{env}/sentry", key = "dsn", optional = true }
LOG = { path = "kv/x", default = "info" }
"POSTGRES_*" = "kv/{project}/{env}/postgres"
"#,
        )
        .unwrap();
        let e = &p.entries;
        assert_eq!(
            e[0].target,
            Target::Var {
                name: "FLASK_APP".into(),
                key: "FLASK_APP".into()
            }
        );
        assert_eq!(e[0].path, "kv/app/dev/flask_app");
        assert_eq!(e[0].location, "secrets.toml:6");
        assert_eq!(
            e[1].target,
            Target::Var {
                name: "FLASK_ENV".into(),
                key: "FLASK_ENV".into()
            }
        );
        assert_eq!(e[2].version, Some(3));
        assert_eq!(e[3].missing, OnMissing::Skip);
        assert_eq!(e[4].missing, OnMissing::Default("info".into()));
        assert_eq!(
            e[5].target,
            Target::Import {
                prefix: "POSTGRES_".into()
            }
        );
        assert_eq!(p.output.path, PathBuf::from(".env"));
        assert_eq!(p.output.mode, 0o600);
        assert!(p.output.gitignore);
    }

    #[test]
    fn rule_violations_name_line_and_entry() {
        let cases = [
            (
                "[secrets]\n\"1BAD\" = \"kv/a\"\n",
                "secrets.toml:2: 1BAD: not a valid environment variable name",
            ),
            (
                "[secrets]\n\"A-B\" = \"kv/a\"\n",
                "secrets.toml:2: A-B: not a valid",
            ),
            (
                "[secrets]\nA = \"kv/{nope}/a\"\n",
                "secrets.toml:2: A: {nope} is not defined; add it to [vars] or pass --var nope=VALUE",
            ),
            (
                "[secrets]\nA = \"kv/{a/b\"\n",
                "secrets.toml:2: A: unclosed '{'",
            ),
            (
                "[secrets]\nA = \"kv/../b\"\n",
                "secrets.toml:2: A: path \"kv/../b\": the segment \"..\" is not allowed",
            ),
            (
                "[secrets]\nA = \"kv\"\n",
                "secrets.toml:2: A: path \"kv\" names only a mount",
            ),
            (
                "[secrets]\nA = { path = \"kv/a\", version = 0 }\n",
                "secrets.toml:2: A: version must be an integer of 1 or more",
            ),
            (
                "[secrets]\nA = { path = \"kv/a\", versoin = 2 }\n",
                "secrets.toml:2: A: unknown field `versoin`",
            ),
            (
                "[secrets]\nA = { key = \"x\" }\n",
                "secrets.toml:2: A: the table form needs `path`",
            ),
            (
                "[secrets]\nA = { path = \"kv/a\", optional = true, default = \"x\" }\n",
                "secrets.toml:2: A: use either",
            ),
            (
                "[secrets]\n\"P_*\" = \"kv/a#k\"\n",
                "secrets.toml:2: P_*: an import (NAME_*) takes every key",
            ),
            (
                "[secrets]\n\"9_*\" = \"kv/a\"\n",
                "secrets.toml:2: 9_*: an import prefix",
            ),
            (
                "[secrets]\nA = 3\n",
                "secrets.toml:2: A: must be a path string",
            ),
            (
                "[secrets]\nA = \"kv/a#\"\n",
                "secrets.toml:2: A: the key after '#' is empty",
            ),
            (
                "[vault]\nkv_version = { kv = 3 }\n",
                "secrets.toml:2: kv_version for mount \"kv\" is 3",
            ),
            (
                "[vault]\nkv_version = { kv = 1 }\n[secrets]\nA = { path = \"kv/a\", version = 2 }\n",
                "secrets.toml:4: A: version pins need a KV v2 mount",
            ),
            (
                "[output]\npath = \"/etc/passwd\"\n",
                "secrets.toml:2: output path \"/etc/passwd\" must be a file path inside",
            ),
            (
                "[output]\npath = \"../.env\"\n",
                "secrets.toml:2: output path \"../.env\"",
            ),
            (
                "[output]\nmode = \"0999\"\n",
                "secrets.toml:2: mode \"0999\" is not",
            ),
            (
                "[output]\nmode = \"0400\"\n",
                "secrets.toml:2: mode \"0400\" is not",
            ),
            (
                "[output]\nformat = \"yaml\"\n",
                "secrets.toml:2: format \"yaml\" is not one of",
            ),
            (
                "[output]\nreaders = [\"perl\"]\n",
                "secrets.toml:2: unknown reader \"perl\"",
            ),
            (
                "[vault.auth]\nmethod = \"approle\"\n",
                "secrets.toml:1: [vault.auth] method \"approle\" needs `role_id`",
            ),
            (
                "[vault.auth]\nmethod = \"token\"\nrole = \"x\"\n",
                "secrets.toml:1: [vault.auth] field `role` does not apply",
            ),
            (
                "[vars]\n\"a-b\" = \"x\"\n",
                "secrets.toml:2: [vars] name \"a-b\"",
            ),
        ];
        for (text, want) in cases {
            let got = plan(text).unwrap_err();
            assert!(
                got.starts_with(want),
                "for {text:?}\n got: {got}\nwant: {want}"
            );
            assert!(!got.contains('\n'), "{got}");
        }
    }

    #[test]
    fn vars_from_the_command_line() {
        let text = "[vars]\nenv = \"dev\"\n[secrets]\nA = \"kv/{env}/{region}/a\"\n";
        let o = Overrides {
            vars: vec![
                ("env".into(), "prod".into()),
                ("region".into(), "eu".into()),
            ],
            ..Default::default()
        };
        assert_eq!(plan_with(text, &o).unwrap().entries[0].path, "kv/prod/eu/a");
        let o = Overrides {
            vars: vec![
                ("evn".into(), "prod".into()),
                ("region".into(), "eu".into()),
            ],
            ..Default::default()
        };
        let err = plan_with(text, &o).unwrap_err();
        assert!(
            err.contains("--var evn: the manifest has no {evn} placeholder"),
            "{err}"
        );
    }

    #[test]
    fn substitution_does_not_recurse() {
        let vars = BTreeMap::from([
            ("a".to_string(), "{b}".to_string()),
            ("b".into(), "x".into()),
        ]);
        assert_eq!(substitute("kv/{a}", &vars, &mut vec![]).unwrap(), "kv/{b}");
    }

    #[test]
    fn paths_are_normalised() {
        assert_eq!(normalize_path("/kv//app/db/").unwrap(), "kv/app/db");
        assert!(normalize_path("kv/./a").is_err());
        assert!(normalize_path("kv/a\nb").is_err());
        assert!(normalize_path("///").is_err());
    }

    #[test]
    fn declared_mounts_match_by_longest_prefix() {
        let p = plan("[vault]\nkv_version = { \"team\" = 1, \"team/apps/kv\" = 2 }\n").unwrap();
        let m = declared_mount(&p.vault.mounts, "team/apps/kv/svc/db").unwrap();
        assert_eq!(m.path, "team/apps/kv/");
        assert_eq!(m.version, KvVersion::V2);
        assert_eq!(
            declared_mount(&p.vault.mounts, "team/other").unwrap().path,
            "team/"
        );
        assert!(declared_mount(&p.vault.mounts, "teams/x").is_none());
    }

    #[test]
    fn identifiers() {
        assert!(is_identifier("_A1"));
        assert!(!is_identifier("1A"));
        assert!(!is_identifier(""));
        assert!(!is_identifier("A=B"));
        assert!(!is_identifier("É"));
    }
}
