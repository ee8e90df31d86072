//! `kvenv validate --json`: the checked plan as one JSON object, for tools that need to know what
//! a manifest writes without running it (the pre-commit hook that refuses a staged output file).
//!
//! ```json
//! {"manifest": "secrets.toml", "output": ".env", "format": "dotenv",
//!  "entries": [{"name": "DB_URL", "kind": "secret", "path": "kv/app/db", "key": "url",
//!               "version": null, "optional": false, "has_default": false, "internal": false}]}
//! ```
//!
//! `output` is where the file goes, as kvenv opens it: relative to the working directory unless
//! the manifest or `--output` made it absolute. `kind` is `secret`, `import` (`"PREFIX_*"`, name
//! as written, `key: null`), `folder` (a path ending in `/`; `key` is the one taken from each
//! secret, if any), `template` (`path: null`) or `dynamic` (`read =`). No value is ever part of
//! it (a default's value neither).

use serde_json::{Value, json};

use crate::plan::{FolderNames, OnMissing, Plan, Target};
use crate::render::Format;

/// The plan as `kvenv validate --json` prints it.
pub fn plan_json(plan: &Plan) -> Value {
    let entries: Vec<Value> = plan
        .entries
        .iter()
        .map(|e| {
            let (kind, key) = match &e.target {
                Target::Var { key, .. } => ("secret", Value::from(key.as_str())),
                Target::Import { .. } => ("import", Value::Null),
                Target::Folder(f) => match &f.names {
                    FolderNames::Secrets { key: Some(k) } => ("folder", Value::from(k.as_str())),
                    _ => ("folder", Value::Null),
                },
                Target::Template { .. } => ("template", Value::Null),
            };
            let kind = if e.dynamic { "dynamic" } else { kind };
            let path = match &e.target {
                Target::Template { .. } => Value::Null,
                Target::Folder(_) => Value::from(format!("{}/", e.path)),
                _ => Value::from(e.path.as_str()),
            };
            json!({
                "name": e.label(),
                "kind": kind,
                "path": path,
                "key": key,
                "version": e.version,
                "optional": e.missing == OnMissing::Skip,
                "has_default": matches!(e.missing, OnMissing::Default(_)),
                "internal": e.internal,
            })
        })
        .collect();
    json!({
        "manifest": plan.manifest.to_string_lossy(),
        "output": plan.output.path.to_string_lossy(),
        "format": format_name(plan.output.format),
        "entries": entries,
    })
}

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Dotenv => "dotenv",
        Format::Shell => "shell",
        Format::Json => "json",
        Format::Github => "github",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Overrides;

    #[test]
    fn every_field_and_no_default_value() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("app/secrets.toml");
        std::fs::create_dir(dir.path().join("app")).unwrap();
        std::fs::write(
            &manifest,
            "[output]\npath = \"config/app.env\"\nformat = \"shell\"\n[secrets]\nA = \"kv/a#k\"\nB = { path = \"kv/b\", version = 2, optional = true }\nC = { path = \"kv/c\", default = \"DEFAULT-VALUE\" }\n\"P_*\" = \"kv/p\"\n\"F_*\" = \"kv/f/\"\nT = { template = \"${A}\", internal = true }\nD = { read = \"db/creds/app\", key = \"username\" }\n",
        )
        .unwrap();
        let plan = Plan::load(&manifest, &Overrides::default()).unwrap();
        let got = plan_json(&plan);
        let m = manifest.to_string_lossy();
        let out = dir.path().join("app/config/app.env");
        assert_eq!(
            got,
            json!({
                "manifest": m,
                "output": out.to_string_lossy(),
                "format": "shell",
                "entries": [
                    {"name": "A", "kind": "secret", "path": "kv/a", "key": "k", "version": null, "optional": false, "has_default": false, "internal": false},
                    {"name": "B", "kind": "secret", "path": "kv/b", "key": "B", "version": 2, "optional": true, "has_default": false, "internal": false},
                    {"name": "C", "kind": "secret", "path": "kv/c", "key": "C", "version": null, "optional": false, "has_default": true, "internal": false},
                    {"name": "P_*", "kind": "import", "path": "kv/p", "key": null, "version": null, "optional": false, "has_default": false, "internal": false},
                    {"name": "F_*", "kind": "folder", "path": "kv/f/", "key": null, "version": null, "optional": false, "has_default": false, "internal": false},
                    {"name": "T", "kind": "template", "path": null, "key": null, "version": null, "optional": false, "has_default": false, "internal": true},
                    {"name": "D", "kind": "dynamic", "path": "db/creds/app", "key": "username", "version": null, "optional": false, "has_default": false, "internal": false},
                ]
            })
        );
        assert!(!got.to_string().contains("DEFAULT-VALUE"));
    }
}
