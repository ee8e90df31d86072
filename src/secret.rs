//! A wrapper for secret values that cannot be printed by accident.
//!
//! A value leaves the server's answer as a [`Secret`] (the raw answer before it never prints
//! more than its status, and a secret's data, `vault::data::Data`, only its keys), and so do the
//! credentials kvenv reads. A `Secret` has no `Display` and its `Debug` prints `[redacted]`, so a
//! stray `{:?}` in an error, a log line or a panic message cannot leak it. The only way to the
//! bytes is [`Secret::expose`], which the renderers, `run` and the login call when they build what
//! the user asked for.

use std::fmt;

/// A secret value (always valid UTF-8: Vault's API is JSON).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself. Call it only where the value is meant to be written out.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(format!("{:?}", Some(vec![s.clone()])), "Some([[redacted]])");
        assert_eq!(s.expose(), "hunter2");
    }
}

/// One environment variable as fetched: its name, value, and where the value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Var {
    pub name: String,
    pub value: Secret,
    /// The logical KV path it was read from.
    pub path: String,
    /// The KV v2 version that was read; `None` on KV v1 or for a `default`.
    pub version: Option<u64>,
    /// The value is the entry's `default`: nothing was found at `path`.
    pub default: bool,
    /// Masked in CI logs (`::add-mask::`); `mask = false` in the manifest for plain
    /// configuration, whose short values would otherwise blank every such word in the log.
    pub mask: bool,
    /// Used by templates only: never written, exported or passed to `run`.
    pub internal: bool,
    /// From a dynamic read (or a template using one): new credentials on every read, so
    /// `check` does not compare its value.
    pub dynamic: bool,
}

impl Var {
    /// A variable read from `path` (latest version, masked): what most tests need.
    pub fn new(name: impl Into<String>, value: impl Into<String>, path: impl Into<String>) -> Var {
        Var {
            name: name.into(),
            value: Secret::new(value),
            path: path.into(),
            version: None,
            default: false,
            mask: true,
            internal: false,
            dynamic: false,
        }
    }
}
