//! Reading hand-kept files: agreement across readers, refusals naming line and reader, and
//! properties over generated lines (the values each reader reads are in `values.rs`).

use super::*;
use Reader::{
    DockerCompose, Dotenvy, Godotenv, Node, NodeDotenv, PythonDotenv, PythonDotenvRaw, Sh,
};
use proptest::prelude::*;

fn read(text: &str, readers: &[Reader]) -> Vec<(String, String)> {
    parse(text, readers).unwrap_or_else(|e| panic!("{text:?}: line {}: {e}", e.line))
}

fn value(text: &str, readers: &[Reader]) -> String {
    let pairs = read(text, readers);
    assert_eq!(pairs.len(), 1, "{text:?}");
    pairs[0].1.clone()
}

fn refused(text: &str, readers: &[Reader]) -> ParseError {
    let e = parse(text, readers).expect_err(text);
    assert!(!e.readers.is_empty(), "{e}");
    for r in &e.readers {
        assert!(readers.contains(r) || readers.is_empty(), "{e}");
        assert!(e.reason.contains(r.name()), "{e}");
    }
    e
}

/// Refused, naming `reader`.
fn refused_by(text: &str, readers: &[Reader], reader: Reader) -> ParseError {
    let e = refused(text, readers);
    assert!(
        e.readers.contains(&reader),
        "{} not named: {e}",
        reader.name()
    );
    e
}

const ALL_RUN: [Reader; 7] = [
    PythonDotenv,
    PythonDotenvRaw,
    NodeDotenv,
    Node,
    DockerCompose,
    Dotenvy,
    Sh,
];

#[test]
fn the_windows_path_of_the_bug_report() {
    let text = "WIN_PATH='C:\\\\new\\\\dir'\n";
    let e = refused_by(text, &Reader::DEFAULT, PythonDotenv);
    assert_eq!(e.line, 1);
    assert_eq!(e.name.as_deref(), Some("WIN_PATH"));
    assert_eq!(
        e.to_string(),
        "WIN_PATH: the readers read different values: python-dotenv reads \\\\ in single quotes \
         as one \\; node-dotenv, docker-compose and sh keep \\ in single quotes"
    );
    assert_eq!(value(text, &[PythonDotenv]), "C:\\new\\dir");
    assert_eq!(value(text, &[NodeDotenv]), "C:\\\\new\\\\dir");
    assert_eq!(
        value(text, &[PythonDotenv, PythonDotenvRaw]),
        "C:\\new\\dir"
    );
    refused_by(text, &[PythonDotenv, Sh], PythonDotenv);
}

#[test]
fn messages_never_hold_a_value() {
    for (text, readers) in [
        ("A='CANARY\\\\x'\n", &Reader::DEFAULT[..]),
        ("A=CANARY two\n", &Reader::DEFAULT),
        ("A=\"CANARY ${X}\"\n", &Reader::DEFAULT),
        ("A='CANARY' more\n", &Reader::DEFAULT),
        ("CANARY\n", &Reader::DEFAULT),
        ("A B=CANARY\n", &Reader::DEFAULT),
        ("A=CANARY1\nA=CANARY2\n", &[Dotenvy]),
        ("A=\"CANARY\\q\"\n", &[Godotenv]),
    ] {
        let e = refused(text, readers);
        assert!(!e.to_string().contains("CANARY"), "{e}");
    }
}

#[test]
fn comments_blank_lines_and_export() {
    let text = "# a comment\n\nexport A=1\n  export B=2\n\t# indented, with a tab\n  \nC=3\n";
    assert_eq!(
        read(
            text,
            &[PythonDotenv, NodeDotenv, DockerCompose, Dotenvy, Sh]
        ),
        [
            ("A".into(), "1".into()),
            ("B".into(), "2".into()),
            ("C".into(), "3".into())
        ]
    );
    // node takes an indented line after a comment or blank line as the start of the next name.
    refused_by(text, &[Node], Node);
    assert_eq!(value("export  A=1\n", &[PythonDotenv, Sh]), "1");
    refused_by("export  A=1\n", &[Node], Node);
    refused_by("export\tA=1\n", &[Node], Node);
    // A CR inside a comment is a line break to python-dotenv and node-dotenv.
    refused_by("# x\rB=1\nA=2\n", &[PythonDotenv], PythonDotenv);
    refused_by("# x\rB=1\nA=2\n", &[NodeDotenv], NodeDotenv);
    assert_eq!(value("# x\rB=1\nA=2\n", &[Node, DockerCompose, Sh]), "2");
}

#[test]
fn names_and_lines_that_are_not_assignments() {
    for text in ["A\n", "export A\n", "A: 1\n", "just some words\n"] {
        let e = refused(text, &Reader::DEFAULT);
        assert!(e.reason.starts_with("this line is not NAME=value"), "{e}");
        assert_eq!(e.name, None);
    }
    for text in ["my-var=1\n", "a.b=1\n", "1A=1\n", "A B=1\n", "=1\n"] {
        let e = refused(text, &[PythonDotenv]);
        assert!(
            e.reason
                .starts_with("the text before = is not a variable name"),
            "{e}"
        );
    }
    assert_eq!(
        read("lower_case=1\n", &ALL_RUN),
        [("lower_case".into(), "1".into())]
    );
    refused_by("RANDOM=4\n", &[Sh], Sh);
    refused_by("BASH_ENV=x\n", &[Sh], Sh);
    assert_eq!(value("RANDOM=4\n", &[PythonDotenv]), "4");
}

#[test]
fn line_numbers_count_multi_line_values() {
    let text = "A='one\ntwo'\n# c\nB=\"x\ny\"\nC=a b\n";
    let e = refused_by(text, &Reader::DEFAULT, Sh);
    assert_eq!(e.line, 6);
    assert_eq!(e.name.as_deref(), Some("C"));
}

#[test]
fn byte_order_mark() {
    let text = "\u{feff}A=1\n";
    assert_eq!(value(text, &[PythonDotenv, NodeDotenv, DockerCompose]), "1");
    for r in [Node, Dotenvy, Godotenv, Sh] {
        let e = refused_by(text, &[r], r);
        assert_eq!((e.line, e.name), (1, None));
    }
}

#[test]
fn duplicates_keep_the_last_value_except_in_dotenvy() {
    let text = "A=1\nB=2\nA=3\n";
    assert_eq!(
        read(
            text,
            &[PythonDotenv, NodeDotenv, Node, DockerCompose, Sh, Godotenv]
        ),
        [("A".into(), "3".into()), ("B".into(), "2".into())]
    );
    let e = refused_by(text, &[PythonDotenv, Dotenvy], Dotenvy);
    assert_eq!((e.line, e.name.as_deref()), (3, Some("A")));
    assert_eq!(value("A=1\nA=1\n", &[Dotenvy]), "1");
}

#[test]
fn end_of_file() {
    assert_eq!(value("A=x", &ALL_RUN), "x");
    assert_eq!(value("A='x'", &ALL_RUN), "x");
    assert_eq!(value("A=", &ALL_RUN), "");
    assert_eq!(value("A=x ", &[PythonDotenv, Sh]), "x");
    refused_by("A=x ", &[Dotenvy], Dotenvy);
    refused_by("A=1\n  ", &[Dotenvy], Dotenvy);
}

#[test]
fn dotenvy_joins_lines_after_a_quote_in_a_comment() {
    // Two blanks before `#` are not a comment to dotenvy's line joiner, so the `'` opens a quote.
    let text = "A=x  # it's\nB=y\n";
    refused_by(text, &[Dotenvy], Dotenvy);
    assert_eq!(value("A=x # it's\n", &[Dotenvy]), "x");
}

#[test]
fn godotenv_is_read_conservatively() {
    let g = &[Godotenv];
    assert_eq!(value("A='x y'\n", g), "x y");
    assert_eq!(
        value("A=\"say \\\"hi\\\" \\\\ \\n\"\n", g),
        "say \"hi\" \\ \n"
    );
    assert_eq!(value("A=a #b #c\n", g), "a #b");
    refused_by("A=\"a\\tb\"\n", g, Godotenv);
    refused_by("A=\"ends \\\"\"\n", g, Godotenv);
    refused_by("A=\"x$Y\"\n", g, Godotenv);
    refused_by("A=\"open\n", g, Godotenv);
}

#[test]
fn nul_is_refused() {
    let e = refused("A=1\nB='a\0b'\n", &[PythonDotenv]);
    assert_eq!(e.line, 2);
}

#[test]
fn no_readers_means_the_default() {
    assert_eq!(
        parse("A='x\\\\y'\n", &[]),
        parse("A='x\\\\y'\n", &Reader::DEFAULT)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parse_never_panics(text in "[\\PC\\r\\n\\t'\"`\\\\$#= A-Z]{0,200}") {
        for readers in [&Reader::ALL[..], &[Sh], &[Node], &[Dotenvy]] {
            let _ = parse(&text, readers);
        }
    }

    /// What kvenv writes for a set of readers, it reads back as that value (its dotenv writer
    /// and these models agree).
    #[test]
    fn reads_back_what_kvenv_writes(
        value in "[\\PC\\r\\n\\t'\"`\\\\$#= {}a-z]{0,30}",
        set in 0..Reader::ALL.len() + 1,
    ) {
        // The shell models refuse `$` before a non-ASCII letter (bash's `isalpha` depends on the
        // locale), which the writer allows.
        let value = value.replace(|c: char| !c.is_ascii(), "é").replace("$é", "$x");
        let readers: Vec<Reader> = if set == Reader::ALL.len() {
            Reader::DEFAULT.to_vec()
        } else {
            vec![Reader::ALL[set]]
        };
        let var = crate::secret::Var::new("A", value.as_str(), "kv/x");
        let options = crate::render::Options {
            format: crate::render::Format::Dotenv,
            readers: &readers,
            export: false,
            header: "# h".into(),
        };
        if let Ok(bytes) = crate::render::render(std::slice::from_ref(&var), &options) {
            let text = String::from_utf8(bytes).unwrap();
            let read = parse(&text, &readers);
            prop_assert_eq!(read, Ok(vec![("A".to_string(), value.clone())]), "{:?}", text);
        }
    }
}

mod values;
