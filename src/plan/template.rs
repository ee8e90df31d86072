//! Composed values: `postgresql://${PG_USER}:${PG_PASSWORD|url}@${PG_HOST}:5432/app`.
//!
//! `${NAME}` is another variable of the manifest (explicit, imported, from a folder, or another
//! template); `${NAME|url}` percent-encodes it for a URL component (everything outside RFC 3986's
//! unreserved characters), so a password with `@`, `:` or `/` cannot break the URL it goes into;
//! `$$` is a literal `$`. Any other `$` is an error: a lone `$` would be ambiguous to the reader
//! of the manifest. The process environment is never read: a value is made only of what the
//! manifest fetched.

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Var { name: String, url: bool },
}

impl Template {
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(i) = rest.find('$') {
            literal.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            if let Some(next) = after.strip_prefix('$') {
                literal.push('$');
                rest = next;
                continue;
            }
            let Some(inner) = after.strip_prefix('{') else {
                return Err(
                    "a template's $ starts ${NAME} or ${NAME|url}; write $$ for a literal $".into(),
                );
            };
            let end = inner
                .find('}')
                .ok_or("a template's ${ is not closed by }")?;
            let (name, filter) = match inner[..end].split_once('|') {
                Some((n, f)) => (n, Some(f)),
                None => (&inner[..end], None),
            };
            if !super::is_identifier(name) {
                return Err(format!(
                    "${{{name}}} is not a variable name (letters, digits, _)"
                ));
            }
            let url = match filter {
                None => false,
                Some("url") => true,
                Some(other) => {
                    return Err(format!(
                        "${{{name}|{other}}}: the only filter is url (${{{name}|url}})"
                    ));
                }
            };
            if !literal.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut literal)));
            }
            parts.push(Part::Var {
                name: name.to_owned(),
                url,
            });
            rest = &inner[end + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Template { parts })
    }

    /// The variables the template uses, in order of first use.
    pub fn references(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for p in &self.parts {
            if let Part::Var { name, .. } = p
                && !names.contains(&name.as_str())
            {
                names.push(name);
            }
        }
        names
    }

    /// The value, each `${NAME}` taken from `value` (which has every referenced name).
    pub fn render(&self, value: impl Fn(&str) -> Option<String>) -> Option<String> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Var { name, url } => {
                    let v = value(name)?;
                    if *url {
                        percent_encode(&v, &mut out);
                    } else {
                        out.push_str(&v);
                    }
                }
            }
        }
        Some(out)
    }
}

/// RFC 3986 percent-encoding of everything but the unreserved characters (`A-Z a-z 0-9 - . _
/// ~`), byte by byte of the UTF-8: safe in any URL component (user, password, host, path).
fn percent_encode(s: &str, out: &mut String) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(t: &str, vars: &[(&str, &str)]) -> String {
        Template::parse(t)
            .unwrap()
            .render(|n| {
                vars.iter()
                    .find(|(k, _)| *k == n)
                    .map(|(_, v)| v.to_string())
            })
            .unwrap()
    }

    #[test]
    fn references_url_encoding_and_dollars() {
        let t = Template::parse("postgresql://${U}:${P|url}@${H}:5432/app?x=$$1${U}").unwrap();
        assert_eq!(t.references(), ["U", "P", "H"]);
        assert_eq!(
            render(
                "postgresql://${U}:${P|url}@${H}:5432/app?x=$$1",
                &[("U", "app"), ("P", "p@ss:w/rd #1?&é"), ("H", "db")]
            ),
            "postgresql://app:p%40ss%3Aw%2Frd%20%231%3F%26%C3%A9@db:5432/app?x=$1"
        );
        assert_eq!(render("plain", &[]), "plain");
        assert_eq!(render("${A}${A|url}", &[("A", "a b")]), "a ba%20b");
    }

    #[test]
    fn mistakes_are_named() {
        for (t, want) in [
            ("a $b", "write $$ for a literal $"),
            ("${A", "not closed"),
            ("${1A}", "is not a variable name"),
            ("${A|base64}", "the only filter is url"),
            ("${}", "is not a variable name"),
        ] {
            let err = Template::parse(t).unwrap_err();
            assert!(err.contains(want), "{t}: {err}");
        }
    }

    #[test]
    fn a_missing_part_makes_the_whole_missing() {
        let t = Template::parse("${A}-${B}").unwrap();
        assert_eq!(t.render(|n| (n == "A").then(|| "a".to_string())), None);
    }
}
