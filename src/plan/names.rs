//! The rules for names and paths: variable names, placeholders, logical paths, file paths, and
//! the names an import may never set.

use std::collections::BTreeMap;
use std::path::Path;

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
pub(super) fn check_var_value(value: &str) -> Result<(), String> {
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
