//! Hostile values: every class of value some dotenv reader cannot carry (`docs/reference.md`,
//! "Values some dotenv reader cannot carry": `${…}`, `\`, `"`, CR, `$` before a name, `\$`,
//! `` ` `` and `$(`, a trailing `\`, `'` with `$`), plus the shapes real secrets take (PEM and
//! OpenSSH keys, service-account JSON, URLs, generated passwords).
//!
//! Values that would run a command if a reader executed them (`` ` ``, `$(`) `touch` a file named
//! `kvenv-pwned-*` in the reader's working directory; the suite checks that none appears.

/// One value of the corpus, with the name the report shows for it.
pub struct Case {
    pub name: &'static str,
    pub value: String,
}

pub fn corpus() -> Vec<Case> {
    let rsa = pem("RSA PRIVATE KEY", 1, 64, 13);
    let ssh = pem("OPENSSH PRIVATE KEY", 2, 70, 7);
    let cert_chain = format!(
        "{}{}",
        pem("CERTIFICATE", 3, 64, 5),
        pem("CERTIFICATE", 4, 64, 5)
    );
    let gcp_json = format!(
        concat!(
            "{{\n  \"type\": \"service_account\",\n  \"project_id\": \"demo-123\",\n",
            "  \"private_key_id\": \"{}\",\n",
            "  \"private_key\": \"{}\",\n",
            "  \"client_email\": \"svc@demo-123.iam.gserviceaccount.com\"\n}}\n"
        ),
        base64ish(5, 40),
        pem("PRIVATE KEY", 6, 64, 4).replace('\n', "\\n")
    );
    let long = base64ish(8, 3000);
    let cases: Vec<(&'static str, String)> = vec![
        ("EMPTY", String::new()),
        ("SIMPLE", "hunter2".into()),
        (
            "PASSWORD_SYMBOLS",
            "p@ss:w0rd!%^&*()-_=+[]{}|;,.<>/?~".into(),
        ),
        ("SPACES_AROUND", "  padded value  ".into()),
        ("ONLY_SPACES", "   ".into()),
        ("TABS", "\tindented\tand trailing\t".into()),
        ("ONLY_TAB", "\t".into()),
        ("HASH_AFTER_SPACE", "value #not a comment".into()),
        ("HASH_FIRST", "#starts-with-hash".into()),
        ("HASH_NOSPACE", "val#ue".into()),
        ("EQUALS", "a=b=c".into()),
        ("EQUALS_FIRST", "=x".into()),
        ("COLON_YAML", "key: value".into()),
        ("DQUOTE_INSIDE", "say \"hi\" now".into()),
        ("DQUOTE_ENDS", "ends with \"".into()),
        ("DQUOTE_ONLY", "\"".into()),
        ("SQUOTE_INSIDE", "it's".into()),
        ("SQUOTE_ONLY", "'".into()),
        ("SQUOTE_WRAPPED", "'quoted'".into()),
        ("BOTH_QUOTES", "it's \"quoted\"".into()),
        ("ALL_THREE_QUOTES", "it's \"q\" `b`".into()),
        ("BACKTICK_CMD", "`touch kvenv-pwned-1`".into()),
        ("DOLLAR_PAREN_CMD", "$(touch kvenv-pwned-2)".into()),
        ("DOLLAR_VAR", "$HOME".into()),
        ("DOLLAR_BRACE", "${HOME}".into()),
        ("DOLLAR_BRACE_DEFAULT", "${A:-b}".into()),
        ("DOLLAR_BRACE_EMPTY", "${}".into()),
        ("DOLLAR_BRACE_UNCLOSED", "${unclosed".into()),
        ("DOLLAR_LOWER", "$user".into()),
        ("DOLLAR_DOUBLE", "$$".into()),
        ("DOLLAR_END", "cost$".into()),
        ("DOLLAR_DIGITS", "$1$2".into()),
        ("DOLLAR_PASSWORD", "pa$$w0rd$".into()),
        ("DOLLAR_SPECIAL", "$@ $* $# $? $! $- $_".into()),
        ("DOLLAR_SQUOTE", "$'\\n'".into()),
        ("PY_DEFAULT_TRICK", "${:-$}{HOME}".into()),
        ("SQUOTE_AND_DOLLAR", "it's $HOME".into()),
        ("SQUOTE_AND_BRACE", "it's ${HOME}".into()),
        ("SQUOTE_AND_LONE_DOLLAR", "it's 5$ or $ 6".into()),
        (
            "SQUOTE_AND_FOLDED_LETTER",
            "it's $\u{17f}x and $\u{212a}y".into(),
        ),
        ("SQUOTE_AND_CMD", "it's $(touch kvenv-pwned-3)".into()),
        ("SQUOTE_AND_BACKTICK", "it's `touch kvenv-pwned-4`".into()),
        ("SQUOTE_AND_BACKSLASH", "it's C:\\path\\".into()),
        ("BACKSLASH_SINGLE", "a\\b".into()),
        ("BACKSLASH_N_TEXT", "line\\nbreak".into()),
        ("BACKSLASH_DOUBLE", "a\\\\b".into()),
        ("BACKSLASH_TRAILING", "ends\\".into()),
        ("BACKSLASH_TRAILING2", "ends\\\\".into()),
        ("BACKSLASH_ONLY", "\\".into()),
        ("BACKSLASH_QUOTES", "\\\"\\'".into()),
        ("BACKSLASH_SQUOTE", "it\\'s".into()),
        ("BACKSLASH_DOLLAR", "\\$HOME".into()),
        ("BACKSLASH_BACKTICK", "\\`x\\`".into()),
        ("BACKSLASH_NEWLINE", "a\\\nb".into()),
        ("ESCAPE_TEXT", "\\t\\r\\x41\\u0041\\0".into()),
        ("NEWLINE", "line1\nline2".into()),
        ("NEWLINE_LEADING_TRAILING", "\nmiddle\n".into()),
        ("NEWLINE_ONLY", "\n".into()),
        ("NEWLINE_INJECT_ASSIGN", "x\nINJECTED=1".into()),
        (
            "NEWLINE_INJECT_EXPORT",
            "x\nexport INJECTED_EXPORT=1".into(),
        ),
        ("NEWLINE_INJECT_SQUOTE", "x'\nINJECTED_SQ=1\n'".into()),
        ("NEWLINE_INJECT_DQUOTE", "x\"\nINJECTED_DQ=\"1".into()),
        (
            "NEWLINE_INJECT_COMMENT",
            "x\n# comment\nINJECTED_C=2".into(),
        ),
        ("CRLF", "line1\r\nline2".into()),
        ("LONE_CR", "a\rb".into()),
        ("TRAILING_CR", "value\r".into()),
        ("CR_AND_DOLLAR", "a\r$b".into()),
        ("UNICODE", "pässwörd-日本語-🔑".into()),
        (
            "UNICODE_SPACES",
            "\u{a0}nbsp\u{2003}em\u{2028}ls\u{85}nel\u{a0}".into(),
        ),
        ("BOM", "\u{feff}bom".into()),
        (
            "CONTROL_CHARS",
            "\u{1}\u{7}\u{1b}[31mred\u{1b}[0m\u{7f}".into(),
        ),
        (
            "URL",
            "postgres://user:p%40ss@db.internal:5432/app?sslmode=require&x=1".into(),
        ),
        ("SHELL_META", "a;b|c&d>e<f*g?h[i]~j!k".into()),
        ("EXPORT_LOOKALIKE", "export FOO=bar".into()),
        ("KEY_LOOKALIKE", "OTHER=value".into()),
        ("BRACES", "}{ {} {{x}}".into()),
        (
            "JSON_SIMPLE",
            "{\"user\":\"admin\",\"password\":\"s3cr3t\",\"port\":5432}".into(),
        ),
        (
            "JSON_MIXED",
            "{\"a\":\"it's\",\"re\":\"\\\\d+\",\"cost\":\"$5\"}".into(),
        ),
        ("GCP_JSON", gcp_json),
        ("PEM_RSA", rsa),
        ("SSH_OPENSSH", ssh),
        ("PEM_CERT_CHAIN", cert_chain),
        ("LONG_TOKEN", long),
    ];
    cases
        .into_iter()
        .map(|(name, value)| Case { name, value })
        .collect()
}

/// A PEM block of `lines` lines of `width` fake base64 characters (not a real key).
fn pem(label: &str, seed: u64, width: usize, lines: usize) -> String {
    let body = base64ish(seed, width * lines);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(width) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Deterministic base64-alphabet text.
fn base64ish(seed: u64, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ALPHABET[(x % 64) as usize] as char
        })
        .collect()
}
