//! `kvenv validate`: the manifest checked offline, and the plan printed.

use super::sync::output_target;
use super::ui;
use crate::cli::ValidateArgs;
use crate::error::{Error, code};
use crate::plan::{FolderNames, OnMissing, Target};
use crate::ui as out;

pub(super) fn validate(a: &ValidateArgs) -> Result<u8, Error> {
    let ui = ui(&a.verbosity);
    let plan = super::sync::load_plan(&a.manifest, &a.file)?;
    // The JSON says where the output goes, whether or not it can be written yet (the pre-commit
    // hook asks before any sync made the folder).
    if a.json {
        let mut text = crate::plan_json::plan_json(&plan).to_string();
        text.push('\n');
        out::stdout(text.as_bytes())?;
        return Ok(code::OK);
    }
    output_target(&plan)?;
    let width = plan
        .entries
        .iter()
        .map(|e| e.label().len())
        .max()
        .unwrap_or(0);
    let mut text = String::new();
    for e in &plan.entries {
        let mut notes = Vec::new();
        let source = match &e.target {
            Target::Var { key, .. } => format!("{}#{key}", e.path),
            Target::Import { .. } => format!("{} (every key)", e.path),
            Target::Folder(f) => {
                if f.recursive {
                    notes.push("recursive".into());
                }
                if let FolderNames::Secrets { key } = &f.names {
                    notes.push(match key {
                        Some(k) => format!("a variable per secret, key {k:?}"),
                        None => "a variable per secret".into(),
                    });
                }
                notes.push(format!("max {}", f.max));
                format!("{}/ (every secret)", e.path)
            }
            Target::Template { template, .. } => format!(
                "template of {}",
                template
                    .references()
                    .iter()
                    .map(|r| format!("${{{r}}}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        if let Some(v) = e.version {
            notes.push(format!("version {v}"));
        }
        match &e.missing {
            OnMissing::Fail => {}
            OnMissing::Skip => notes.push("optional".into()),
            OnMissing::Default(_) => notes.push("has default".into()),
        }
        if e.internal {
            notes.push("internal".into());
        }
        if e.dynamic {
            notes.push("dynamic: one read, with a lease".into());
        }
        if !e.mask {
            notes.push("not masked".into());
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!("  ({})", notes.join(", "))
        };
        text.push_str(&format!("{:width$}  {source}{notes}\n", e.label()));
    }
    out::stdout(text.as_bytes())?;
    let mut paths: Vec<&str> = plan
        .entries
        .iter()
        .filter(|e| e.reads())
        .map(|e| e.path.as_str())
        .collect();
    paths.sort_unstable();
    paths.dedup();
    ui.info(&format!(
        "{} is valid: {} entries, {} secrets, output {}",
        plan.manifest.display(),
        plan.entries.len(),
        paths.len(),
        plan.output.path.display()
    ));
    Ok(code::OK)
}
