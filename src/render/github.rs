//! GitHub Actions: variables for later steps, masked in every log.
//!
//! The runner reads two channels, at two moments (see `docs/github-actions.md`, where each rule
//! is traced to the runner's source):
//! - **workflow commands** (`::add-mask::VALUE`) from the step's output, line by line, while
//!   the step runs. A mask hides its value in every log line printed after it, for the rest of
//!   the job;
//! - **variables** from the file named by `$GITHUB_ENV`, as `NAME<<DELIM` blocks, once the step
//!   has ended. A command line in that file masks nothing: the runner rejects the line and
//!   prints it, secret included.
//!
//! So [`render`] makes the two apart: the masks, which `kvenv export --format github` prints
//! on stdout (first, and flushed, before anything could echo a value), and the blocks, which it
//! appends to `$GITHUB_ENV` itself. The one-liner `kvenv export --format github` is then right,
//! and the old `>> "$GITHUB_ENV"` mistake cannot happen.
//!
//! Masks: one per line of each value, the lines split at LF and at CR (the runner splits log
//! lines at both), blank lines skipped (the runner warns about them and masks nothing). `%`,
//! CR and LF are escaped as the runner unescapes them. An entry with `mask = false` (plain
//! configuration like `FLASK_ENV=production`) gets no mask: the runner masks every occurrence of
//! a masked word in every later line, so masking `3` or `true` blanks those in the whole log.
//!
//! Blocks: the delimiter is random per run and checked against every value, so a value cannot
//! end its block early and inject another variable. A value the runner would not read back
//! exactly is refused: `NODE_OPTIONS` (the runner refuses to set it) and, on Windows runners, a
//! value ending in CR (there the CR of a line's CRLF belongs to the line ending).

use std::hash::{BuildHasher, Hasher};

use super::RenderError;
use crate::secret::Var;

/// What `kvenv export --format github` writes where.
#[derive(Debug)]
pub struct Github {
    /// `::add-mask::` lines, for stdout.
    pub masks: String,
    /// How many values have masks.
    pub masked: usize,
    /// `NAME<<DELIM` blocks, for the `$GITHUB_ENV` file.
    pub env: String,
}

/// The runner the blocks are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunnerOs {
    Unix,
    Windows,
}

impl RunnerOs {
    /// From `$RUNNER_OS` (`Linux`, `macOS`, `Windows`).
    pub fn from_env(value: Option<&str>) -> RunnerOs {
        match value {
            Some(v) if v.eq_ignore_ascii_case("windows") => RunnerOs::Windows,
            _ => RunnerOs::Unix,
        }
    }
}

pub fn render(vars: &[Var], os: RunnerOs) -> Result<Github, RenderError> {
    super::no_nul(vars)?;
    for v in vars {
        let refuse = |why: &'static str| RenderError::Github {
            name: v.name.clone(),
            path: v.path.clone(),
            why,
        };
        if v.name.eq_ignore_ascii_case("NODE_OPTIONS") {
            return Err(refuse(
                "the runner refuses to set NODE_OPTIONS from $GITHUB_ENV",
            ));
        }
        if os == RunnerOs::Windows && v.value.expose().ends_with('\r') {
            return Err(refuse(
                "a Windows runner drops a value's final CR from $GITHUB_ENV",
            ));
        }
    }
    let mut masks = String::new();
    let mut masked = 0;
    for v in vars.iter().filter(|v| v.mask) {
        let mut any = false;
        for line in v.value.expose().split(['\n', '\r']) {
            if line.trim().is_empty() {
                continue;
            }
            masks.push_str("::add-mask::");
            masks.push_str(&escape_command(line));
            masks.push('\n');
            any = true;
        }
        masked += usize::from(any);
    }
    let delim = delimiter(vars);
    let mut env = String::new();
    for v in vars {
        env.push_str(&v.name);
        env.push_str("<<");
        env.push_str(&delim);
        env.push('\n');
        env.push_str(v.value.expose());
        env.push('\n');
        env.push_str(&delim);
        env.push('\n');
    }
    Ok(Github { masks, masked, env })
}

/// Workflow-command data escaping: `%` first, then CR and LF (the runner undoes them in the
/// opposite order).
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

    fn var(name: &str, value: &str, mask: bool) -> Var {
        Var {
            name: name.into(),
            value: Secret::new(value),
            path: "p".into(),
            version: None,
            default: false,
            mask,
            internal: false,
            dynamic: false,
        }
    }

    #[test]
    fn masks_every_line_blocks_apart() {
        let out = render(
            &[var("A", "l1\n\n50%\rx\r\n  \n", true), var("F", "3", false)],
            RunnerOs::Unix,
        )
        .unwrap();
        assert_eq!(
            out.masks,
            "::add-mask::l1\n::add-mask::50%25\n::add-mask::x\n"
        );
        assert_eq!(out.masked, 1);
        let lines: Vec<&str> = out.env.split('\n').collect();
        assert!(lines[0].starts_with("A<<ghadelimiter_"));
        let delim = &lines[0][3..];
        assert_eq!(&lines[1..7], ["l1", "", "50%\rx\r", "  ", "", delim]);
        assert_eq!(lines[7], format!("F<<{delim}"));
        assert_eq!(&lines[8..], ["3", delim, ""]);
    }

    #[test]
    fn refuses_what_the_runner_would_not_set_exactly() {
        let err = render(&[var("node_options", "--x", true)], RunnerOs::Unix).unwrap_err();
        assert!(err.to_string().contains("refuses to set NODE_OPTIONS"));
        assert!(render(&[var("A", "cr\r", true)], RunnerOs::Unix).is_ok());
        let err = render(&[var("A", "CANARY\r", true)], RunnerOs::Windows).unwrap_err();
        assert!(!err.to_string().contains("CANARY"));
    }
}
