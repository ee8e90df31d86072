//! `[output]` and its overrides: where the file goes, its format, its readers, its mode.

use std::path::{Component, Path, PathBuf};

use super::{OutputPlan, Overrides, check_path};
use crate::error::ManifestError;
use crate::manifest::{Manifest, Source};
use crate::render::{Format, Reader};

pub(super) fn build_output(
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
