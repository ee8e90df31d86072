//! `export NAME='...'` lines for POSIX shells: exact for every value without NUL, because a
//! single-quoted shell word is raw and `'` is written as `'\''` (close, escaped quote, reopen).

use crate::secret::Var;

pub fn render(header: &str, vars: &[Var]) -> String {
    let mut out = String::new();
    out.push_str(header);
    out.push('\n');
    for v in vars {
        out.push_str("export ");
        out.push_str(&v.name);
        out.push_str("='");
        out.push_str(&v.value.expose().replace('\'', "'\\''"));
        out.push_str("'\n");
    }
    out
}

/// Read back what [`render`] writes: comments and `export NAME='...'` lines, where a value is
/// a run of `'...'` words joined by `\'`. Anything else: `None`.
pub fn decode(text: &str) -> Option<Vec<(String, String)>> {
    let mut vars = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        if rest.starts_with('#') || rest.starts_with('\n') {
            rest = rest.split_once('\n').map_or("", |(_, r)| r);
            continue;
        }
        let body = rest.strip_prefix("export ")?;
        let (name, after) = body.split_once("='")?;
        if !crate::plan::is_identifier(name) {
            return None;
        }
        let (value, after) = super::dotenv::decode_single(after)?;
        rest = match after.strip_prefix('\n') {
            Some(r) => r,
            None if after.is_empty() => after,
            None => return None,
        };
        vars.push((name.to_owned(), value));
    }
    Some(vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes() {
        let v = Var::new("A", "it's $x\n", "p");
        let out = render("# h", &[v]);
        assert_eq!(out, "# h\nexport A='it'\\''s $x\n'\n");
        assert_eq!(
            decode(&out).unwrap(),
            [("A".to_string(), "it's $x\n".to_string())]
        );
    }
}
