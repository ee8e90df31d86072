//! `kvenv validate --json`: the checked plan as one JSON object, for tools that need to know what
//! a manifest writes without running it (the pre-commit hook that refuses a staged output file).
//!
//! ```json
//! {"manifest": "secrets.toml", "output": ".env", "format": "dotenv",
//!  "entries": [{"name": "DB_URL", "path": "kv/app/db", "key": "url", "version": null,
//!               "optional": false, "has_default": false}]}
//! ```
//!
//! `output` is where the file goes, as kvenv opens it: relative to the working directory unless
//! the manifest or `--output` made it absolute. An import (`"PREFIX_*"`) has `key: null` and its
//! name as written. No value is ever part of it (a default's value neither).

use serde_json::{Value, json};

use crate::plan::{OnMissing, Plan, Target};
use crate::render::Format;

/// The plan as `kvenv validate --json` prints it.
pub fn plan_json(plan: &Plan) -> Value {
    let entries: Vec<Value> = plan
        .entries
        .iter()
        .map(|e| {
            let key = match &e.target {
                Target::Var { key, .. } => Value::from(key.as_str()),
                Target::Import { .. } => Value::Null,
            };
            json!({
                "name": e.label(),
                "path": e.path,
                "key": key,
                "version": e.version,
                "optional": e.missing == OnMissing::Skip,
                "has_default": matches!(e.missing, OnMissing::Default(_)),
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
            "[output]\npath = \"config/app.env\"\nformat = \"shell\"\n[secrets]\nA = \"kv/a#k\"\nB = { path = \"kv/b\", version = 2, optional = true }\nC = { path = \"kv/c\", default = \"DEFAULT-VALUE\" }\n\"P_*\" = \"kv/p\"\n",
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
                    {"name": "A", "path": "kv/a", "key": "k", "version": null, "optional": false, "has_default": false},
                    {"name": "B", "path": "kv/b", "key": "B", "version": 2, "optional": true, "has_default": false},
                    {"name": "C", "path": "kv/c", "key": "C", "version": null, "optional": false, "has_default": true},
                    {"name": "P_*", "path": "kv/p", "key": null, "version": null, "optional": false, "has_default": false},
                ]
            })
        );
        assert!(!got.to_string().contains("DEFAULT-VALUE"));
    }
}
