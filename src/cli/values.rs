//! The command line's value parsers: sizes, durations, paths, readers, `--var`.

use std::path::PathBuf;
use std::time::Duration;

use crate::render::Reader;

pub(super) fn parse_var(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err("expected NAME=VALUE".into()),
    }
}

/// A path with no control characters (they would reach messages and `.gitignore` rules).
pub(super) fn parse_path(s: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(s);
    crate::plan::check_path(&path)?;
    Ok(path)
}

pub(super) fn parse_reader(s: &str) -> Result<Reader, String> {
    Reader::parse(s).ok_or_else(|| {
        format!(
            "expected one of {}",
            Reader::ALL.map(|r| r.name()).join(", ")
        )
    })
}

/// `64MiB`, `512KiB`, `1GiB`, or a bare number of bytes.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a size such as 64MiB, 512KiB or 1000000"))?;
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" | "K" | "KB" => 1 << 10,
        "MiB" | "M" | "MB" => 1 << 20,
        "GiB" | "G" | "GB" => 1 << 30,
        _ => {
            return Err(format!(
                "{s:?} is not a size such as 64MiB, 512KiB or 1000000"
            ));
        }
    };
    n.checked_mul(factor)
        .filter(|b| *b >= 1024)
        .ok_or_else(|| "the size must be at least 1KiB".to_string())
}

/// `60s`, `500ms`, `2m`, `1h`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a duration such as 60s, 500ms or 2m"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("{s:?} is not a duration such as 60s, 500ms or 2m")),
    };
    if !(secs > 0.0 && secs < 86_400.0) {
        return Err("the duration must be more than 0 and less than a day".into());
    }
    Ok(Duration::from_secs_f64(secs))
}
