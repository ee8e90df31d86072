//! Hand-kept lines: the shapes a `.env` takes when people write it, for `kvenv push` and
//! `kvenv init --from` (`src/envfile.rs`). Every quoting style, and each hazard the readers
//! disagree on: escapes in single and double quotes, `$` expansion, `#`, blanks, CR, a BOM,
//! duplicates, lines a reader rejects.
//!
//! `KV_A`, `KV_B` and `KV_C` stand for variable names; each file gets names of its own (Node's
//! built-in parser reads every file of a batch into one environment). Nothing here is a real
//! secret, and a line that would run a command if a shell read it wrong runs one that does not
//! exist.

/// One hand-kept file (most hold one entry).
pub struct Line {
    pub name: &'static str,
    pub text: String,
}

/// The placeholders for variable names, in the order they are numbered.
pub const PLACEHOLDERS: [&str; 3] = ["KV_A", "KV_B", "KV_C"];

pub fn corpus() -> Vec<Line> {
    let pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n-----END PRIVATE KEY-----";
    let lines: Vec<(&'static str, String)> = vec![
        // The name part.
        ("PLAIN", "KV_A=hunter2\n".into()),
        ("EXPORT", "export KV_A=hunter2\n".into()),
        ("EXPORT_TAB", "export\tKV_A=hunter2\n".into()),
        ("EXPORT_TWO_SPACES", "export  KV_A=hunter2\n".into()),
        ("INDENTED", "  KV_A=hunter2\n".into()),
        ("INDENTED_TAB", "\tKV_A=hunter2\n".into()),
        ("INDENTED_EXPORT", "  export KV_A=hunter2\n".into()),
        ("BLANKS_AROUND_EQ", "KV_A = hunter2\n".into()),
        ("BLANK_AFTER_EQ", "KV_A= hunter2\n".into()),
        ("TAB_AFTER_EQ", "KV_A=\thunter2\n".into()),
        ("LOWER_CASE_NAME", "kv_lower_KV_A=x1\n".into()),
        ("NAME_WITH_DASH", "my-KV_A=x2\n".into()),
        ("NAME_WITH_DOT", "my.KV_A=x3\n".into()),
        ("NAME_STARTS_WITH_DIGIT", "1KV_A=x4\n".into()),
        ("NO_EQUALS", "KV_A\n".into()),
        ("EXPORT_WITHOUT_VALUE", "export KV_A\n".into()),
        ("YAML_COLON", "KV_A: x5\n".into()),
        ("TWO_ON_ONE_LINE", "KV_A=x6 KV_B=x7\n".into()),
        ("SHELL_SPECIAL_NAME", "RANDOM=4\n".into()),
        // Comments and blank lines.
        (
            "COMMENTS_AND_BLANKS",
            "# a comment\nKV_A=x8\n\n# another one\n\nKV_B=x9\n".into(),
        ),
        (
            "INDENTED_COMMENT",
            "KV_A=x10\n  # indented\nKV_B=x11\n".into(),
        ),
        ("BLANK_LINE_OF_SPACES", "KV_A=x12\n   \nKV_B=x13\n".into()),
        (
            "COMMENT_WITH_QUOTES",
            "# it's \"quoted\" \\\nKV_A=x14\n".into(),
        ),
        (
            "COMMENT_WITH_LONE_CR",
            "# note\rKV_B=x36\nKV_A=x37\n".into(),
        ),
        ("COMMENT_LAST_NO_NEWLINE", "KV_A=x38\n# the end".into()),
        // Empty values.
        ("EMPTY", "KV_A=\n".into()),
        ("EMPTY_SINGLE", "KV_A=''\n".into()),
        ("EMPTY_DOUBLE", "KV_A=\"\"\n".into()),
        ("EMPTY_THEN_BLANKS", "KV_A=   \nKV_B=x15\n".into()),
        ("EMPTY_WITH_COMMENT", "KV_A= # nothing\n".into()),
        ("EMPTY_NO_FINAL_NEWLINE", "KV_A=".into()),
        // Unquoted values.
        ("UNQUOTED_COMMENT", "KV_A=value # a comment\n".into()),
        (
            "UNQUOTED_COMMENT_AFTER_TAB",
            "KV_A=value\t# a comment\n".into(),
        ),
        ("UNQUOTED_HASH_INSIDE", "KV_A=val#ue\n".into()),
        ("UNQUOTED_HASH_FIRST", "KV_A=#value\n".into()),
        ("UNQUOTED_TWO_WORDS", "KV_A=two words\n".into()),
        ("UNQUOTED_TRAILING_BLANKS", "KV_A=value   \n".into()),
        ("UNQUOTED_TRAILING_TAB", "KV_A=value\t\n".into()),
        ("UNQUOTED_EQUALS", "KV_A=a=b=c\n".into()),
        ("UNQUOTED_STARTS_WITH_EQUALS", "KV_A==x\n".into()),
        (
            "UNQUOTED_URL",
            "KV_A=postgres://app:p%40ss@db.internal:5432/app\n".into(),
        ),
        (
            "UNQUOTED_URL_QUERY",
            "KV_A=https://example.com/cb?x=1,y:2\n".into(),
        ),
        ("UNQUOTED_URL_AMPERSAND", "KV_A=https://h/?a=1&b=2\n".into()),
        ("UNQUOTED_DOLLAR", "KV_A=pa$$word\n".into()),
        ("UNQUOTED_DOLLAR_BRACE", "KV_A=${HOME}/x\n".into()),
        ("UNQUOTED_BACKSLASH", "KV_A=C:\\dir\n".into()),
        (
            "UNQUOTED_TRAILING_BACKSLASH",
            "KV_A=abc\\\nKV_B=x39\n".into(),
        ),
        ("UNQUOTED_LONE_DOLLAR_AT_END", "KV_A=cost$\n".into()),
        ("UNQUOTED_APOSTROPHE", "KV_A=it's\n".into()),
        ("UNQUOTED_BACKQUOTES", "KV_A=`kvenv-no-such-cmd`\n".into()),
        ("UNQUOTED_SEMICOLON", "KV_A=a;kvenv-no-such-cmd\n".into()),
        ("UNQUOTED_TILDE", "KV_A=~/dir\n".into()),
        ("UNQUOTED_GLOB", "KV_A=*.txt\n".into()),
        ("UNQUOTED_GLOB_EXPORT", "export KV_A=K*\n".into()),
        ("UNQUOTED_BRACES", "KV_A={a,b}\n".into()),
        ("UNQUOTED_UNICODE", "KV_A=pässwörd-日本-🔑\n".into()),
        ("UNQUOTED_NBSP", "KV_A=a\u{a0}b\n".into()),
        ("UNQUOTED_SYMBOLS", "KV_A=p@ss:w0rd!%^,.+-=/\n".into()),
        // Single quotes.
        ("SINGLE", "KV_A='s3cr=t #not a comment'\n".into()),
        (
            "SINGLE_DOLLAR",
            "KV_A='$HOME $(kvenv-no-such-cmd) `kvenv-no-such-cmd` $$'\n".into(),
        ),
        ("SINGLE_DOLLAR_BRACE", "KV_A='${HOME}'\n".into()),
        ("SINGLE_BACKSLASH", "KV_A='a\\b'\n".into()),
        ("SINGLE_BACKSLASH_N", "KV_A='a\\nb'\n".into()),
        ("SINGLE_WIN_PATH", "KV_A='C:\\\\new\\\\dir'\n".into()),
        ("SINGLE_ESCAPED_QUOTE", "KV_A='it\\'s'\n".into()),
        ("SINGLE_TRAILING_BACKSLASH", "KV_A='ends\\'\n".into()),
        ("SINGLE_DOUBLE_INSIDE", "KV_A='say \"hi\"'\n".into()),
        ("SINGLE_TAB", "KV_A='a\tb'\n".into()),
        ("SINGLE_UNICODE", "KV_A='ünï cödé 🔑'\n".into()),
        ("SINGLE_MULTILINE", format!("KV_A='{pem}'\n")),
        ("SINGLE_COMMENT", "KV_A='x16' # a comment\n".into()),
        ("SINGLE_HASH_RIGHT_AFTER", "KV_A='x17'#c\n".into()),
        ("SINGLE_TEXT_AFTER", "KV_A='x18' more\n".into()),
        ("SINGLE_CONCATENATED", "KV_A='it'\\''s'\n".into()),
        ("SINGLE_UNCLOSED", "KV_A='open\nKV_B=x19\n".into()),
        ("SINGLE_BLANK_BEFORE", "KV_A= 'x20'\n".into()),
        ("SINGLE_BLANKS_AROUND_EQ", "KV_A = 'x21'\n".into()),
        // Double quotes.
        ("DOUBLE", "KV_A=\"hello world\"\n".into()),
        (
            "DOUBLE_ESCAPED_QUOTE",
            "KV_A=\"say \\\"hi\\\" now\"\n".into(),
        ),
        ("DOUBLE_BACKSLASH", "KV_A=\"C:\\\\dir\"\n".into()),
        ("DOUBLE_ENDS_IN_BACKSLASH", "KV_A=\"ends\\\\\"\n".into()),
        ("DOUBLE_NEWLINE_ESCAPE", "KV_A=\"line1\\nline2\"\n".into()),
        ("DOUBLE_TAB_ESCAPE", "KV_A=\"a\\tb\"\n".into()),
        ("DOUBLE_CR_ESCAPE", "KV_A=\"a\\rb\"\n".into()),
        ("DOUBLE_ESCAPED_BACKSLASH_N", "KV_A=\"a\\\\nb\"\n".into()),
        ("DOUBLE_UNKNOWN_ESCAPE", "KV_A=\"a\\qb\"\n".into()),
        ("DOUBLE_APOSTROPHE_ESCAPE", "KV_A=\"it\\'s\"\n".into()),
        ("DOUBLE_DOLLAR_NAME", "KV_A=\"$HOME\"\n".into()),
        ("DOUBLE_DOLLAR_BRACE", "KV_A=\"${HOME}\"\n".into()),
        (
            "DOUBLE_DOLLAR_DEFAULT",
            "KV_A=\"${KVENV_UNSET:-d}\"\n".into(),
        ),
        ("DOUBLE_LONE_DOLLAR", "KV_A=\"costs 5$ or $ 6\"\n".into()),
        ("DOUBLE_ESCAPED_DOLLAR", "KV_A=\"\\$HOME\"\n".into()),
        ("DOUBLE_BACKQUOTES", "KV_A=\"`kvenv-no-such-cmd`\"\n".into()),
        ("DOUBLE_APOSTROPHE", "KV_A=\"it's\"\n".into()),
        ("DOUBLE_MULTILINE", "KV_A=\"line one\nline two\"\n".into()),
        ("DOUBLE_PEM", format!("KV_A=\"{pem}\"\n")),
        ("DOUBLE_BACKSLASH_NEWLINE", "KV_A=\"a\\\nb\"\n".into()),
        ("DOUBLE_COMMENT", "KV_A=\"x22\" # a comment\n".into()),
        ("DOUBLE_HASH_INSIDE", "KV_A=\"a #b\"\n".into()),
        ("DOUBLE_HASH_RIGHT_AFTER", "KV_A=\"x40\"#c\n".into()),
        ("DOUBLE_DOLLAR_DOLLAR", "KV_A=\"pa$$word\"\n".into()),
        ("DOUBLE_JSON", "KV_A=\"{\\\"a\\\": 1}\"\n".into()),
        ("DOUBLE_UNCLOSED", "KV_A=\"open\nKV_B=x23\n".into()),
        // Backquotes.
        ("BACKQUOTED", "KV_A=`x y`\n".into()),
        ("BACKQUOTED_NBSP", "KV_A=`x\u{a0}`\n".into()),
        // CR.
        ("CRLF_FILE", "KV_A=x24\r\nKV_B='x25'\r\n# c\r\n".into()),
        ("CRLF_INSIDE_QUOTES", "KV_A='a\r\nb'\n".into()),
        ("CR_INSIDE_DOUBLE", "KV_A=\"a\rb\"\n".into()),
        ("CR_INSIDE_UNQUOTED", "KV_A=a\rb\n".into()),
        ("CR_BLANK_LINE", "KV_A=x26\n\r\nKV_B=x27\n".into()),
        // The file's framing.
        ("BOM", "\u{feff}KV_A=x28\n".into()),
        ("NO_FINAL_NEWLINE", "KV_A=x29".into()),
        ("NO_FINAL_NEWLINE_BLANK", "KV_A=x30 ".into()),
        ("NO_FINAL_NEWLINE_QUOTED", "KV_A='x31'".into()),
        // Duplicates.
        ("DUPLICATE_SAME", "KV_A=x32\nKV_A=x32\n".into()),
        (
            "DUPLICATE_DIFFERENT",
            "KV_A=x33a\nKV_B=x33\nKV_A=x33b\n".into(),
        ),
        // A comment that holds a quote after an unquoted value.
        (
            "COMMENT_QUOTE_AFTER_TWO_BLANKS",
            "KV_A=x34  # it's\nKV_B=x35\nKV_C='y'\n".into(),
        ),
    ];
    lines
        .into_iter()
        .map(|(name, text)| Line { name, text })
        .collect()
}
