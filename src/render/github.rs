//! GitHub Actions: `::add-mask::` lines first (so the runner masks every line of every value
//! before any value appears), then `NAME<<DELIM` blocks for `$GITHUB_ENV`.
//!
//! The delimiter is random per run and checked against every value line, so a value cannot end
//! its block early and inject another variable.

use std::hash::{BuildHasher, Hasher};

use crate::secret::Var;

pub fn render(vars: &[Var]) -> String {
    let mut out = String::new();
    for v in vars {
        for line in v.value.expose().split('\n') {
            if !line.is_empty() {
                out.push_str("::add-mask::");
                out.push_str(&escape_command(line));
                out.push('\n');
            }
        }
    }
    let delim = delimiter(vars);
    for v in vars {
        out.push_str(&v.name);
        out.push_str("<<");
        out.push_str(&delim);
        out.push('\n');
        out.push_str(v.value.expose());
        out.push('\n');
        out.push_str(&delim);
        out.push('\n');
    }
    out
}

/// Workflow-command data escaping: `%`, CR and LF.
fn escape_command(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn delimiter(vars: &[Var]) -> String {
    let state = std::collections::hash_map::RandomState::new();
    let mut n = 0u64;
    loop {
        let mut h = state.build_hasher();
        h.write_u64(n);
        let d = format!("ghadelimiter_{:016x}", h.finish());
        if !vars.iter().any(|v| v.value.expose().contains(&d)) {
            return d;
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    #[test]
    fn masks_then_blocks() {
        let v = Var {
            name: "A".into(),
            value: Secret::new("l1\n\n50%\r"),
            path: "p".into(),
            version: None,
            default: false,
            mask: true,
        };
        let out = render(&[v]);
        let lines: Vec<&str> = out.split('\n').collect();
        assert_eq!(lines[0], "::add-mask::l1");
        assert_eq!(lines[1], "::add-mask::50%25%0D");
        assert!(lines[2].starts_with("A<<ghadelimiter_"));
        let delim = &lines[2][3..];
        assert_eq!(&lines[3..6], ["l1", "", "50%\r"]);
        assert_eq!(lines[6], delim);
    }
}
