//! What a sync would change, by variable name, for `kvenv check` and the sync summary.
//!
//! The existing file is decoded with the decoder of the format kvenv would write, so the
//! comparison is of values, not bytes; only names leave this module.

use std::collections::HashMap;

use crate::render::{Format, dotenv, shell};
use crate::secret::Var;

/// Names of variables added, changed and removed, in file order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Diff {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
    /// The existing file could not be read as kvenv's format (hand-edited, another tool's).
    pub unreadable: bool,
}

impl Diff {
    pub fn count(&self) -> usize {
        self.added.len() + self.changed.len() + self.removed.len()
    }

    /// `added A, B; changed C; removed D`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        for (label, names) in [
            ("added", &self.added),
            ("changed", &self.changed),
            ("removed", &self.removed),
        ] {
            if !names.is_empty() {
                parts.push(format!("{label} {}", names.join(", ")));
            }
        }
        if self.unreadable {
            parts.push("the existing file is not in kvenv's format and would be replaced".into());
        }
        if parts.is_empty() {
            parts.push("formatting only".into());
        }
        parts.join("; ")
    }
}

/// Compare the existing file (if any) with the variables a sync would write.
pub fn diff(old: Option<&[u8]>, format: Format, new: &[Var]) -> Diff {
    let old_vars: Vec<(String, String)> = match old {
        None => Vec::new(),
        Some(bytes) => match decode(bytes, format) {
            Some(vars) => vars,
            None => {
                return Diff {
                    unreadable: true,
                    ..Diff::default()
                };
            }
        },
    };
    let old_map: HashMap<&str, &str> = old_vars
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut d = Diff::default();
    for v in new {
        match old_map.get(v.name.as_str()) {
            None => d.added.push(v.name.clone()),
            Some(old) if *old != v.value.expose() => d.changed.push(v.name.clone()),
            Some(_) => {}
        }
    }
    for (name, _) in &old_vars {
        if !new.iter().any(|v| &v.name == name) {
            d.removed.push(name.clone());
        }
    }
    d
}

/// The variables of a file kvenv wrote in `format`, or `None` when it is not in that format.
pub fn decode(bytes: &[u8], format: Format) -> Option<Vec<(String, String)>> {
    let text = std::str::from_utf8(bytes).ok()?;
    match format {
        Format::Dotenv => dotenv::decode(text).ok(),
        Format::Shell => shell::decode(text),
        Format::Json => {
            let map: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(text).ok()?;
            map.into_iter()
                .map(|(k, v)| v.as_str().map(|s| (k, s.to_owned())))
                .collect()
        }
        Format::Github => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(n: &str, v: &str) -> Var {
        Var::new(n, v, "p")
    }

    #[test]
    fn names_only() {
        let old = b"# h\nA='1'\nB='2'\nC='3'\n";
        let d = diff(
            Some(old),
            Format::Dotenv,
            &[var("A", "1"), var("B", "x"), var("D", "4")],
        );
        assert_eq!(d.added, ["D"]);
        assert_eq!(d.changed, ["B"]);
        assert_eq!(d.removed, ["C"]);
        assert_eq!(d.describe(), "added D; changed B; removed C");
        let d = diff(Some(b"A=unquoted\n"), Format::Dotenv, &[var("A", "1")]);
        assert!(d.unreadable);
    }
}
