//! How each reader reads unquoted, single- and double-quoted values, and CR.

use super::*;

#[test]
fn unquoted_values() {
    let every = &ALL_RUN[..];
    assert_eq!(value("A=value # comment\n", every), "value");
    assert_eq!(value("A=value   \n", every), "value");
    assert_eq!(value("A=p@ss:w0rd!%^,.+-=/\n", every), "p@ss:w0rd!%^,.+-=/");
    assert_eq!(
        value("A=postgres://u:p@h:5432/db?x=1\n", every),
        "postgres://u:p@h:5432/db?x=1"
    );
    // `#` without a blank before it: a comment only to node and node-dotenv.
    assert_eq!(
        value("A=a#b\n", &[PythonDotenv, DockerCompose, Dotenvy, Sh]),
        "a#b"
    );
    assert_eq!(value("A=a#b\n", &[NodeDotenv, Node]), "a");
    refused_by("A=a#b\n", &Reader::DEFAULT, NodeDotenv);
    // A tab before `#` does not start a comment for compose.
    assert_eq!(value("A=a\t# c\n", &[DockerCompose]), "a\t# c");
    refused_by("A=a\t# c\n", &Reader::DEFAULT, DockerCompose);
    // `KEY= # c` is empty, except to compose (and godotenv), which keep the `#`.
    assert_eq!(
        value("A= # c\n", &[PythonDotenv, NodeDotenv, Node, Dotenvy, Sh]),
        ""
    );
    assert_eq!(value("A= # c\n", &[DockerCompose, Godotenv]), "# c");
    // Inner blanks: the shell runs the second word, dotenvy stops.
    assert_eq!(
        value(
            "A=two words\n",
            &[PythonDotenv, NodeDotenv, Node, DockerCompose]
        ),
        "two words"
    );
    refused_by("A=two words\n", &[Sh], Sh);
    refused_by("A=two words\n", &[Dotenvy], Dotenvy);
    // Blanks around `=`: the shell runs a command.
    assert_eq!(
        value(
            "A = 1\n",
            &[PythonDotenv, NodeDotenv, Node, DockerCompose, Dotenvy]
        ),
        "1"
    );
    refused_by("A = 1\n", &[Sh], Sh);
    refused_by("A= 1\n", &[Sh], Sh);
    // node keeps tabs around a value (kvenv refuses rather than model where).
    refused_by("A=\t1\n", &[Node], Node);
    assert_eq!(value("A=1\t\n", &[Node]), "1\t");
    refused_by("A=1\t\n", &[PythonDotenv, Node], Node);
    refused_by("A=a\u{a0}b\n", &[PythonDotenv], PythonDotenv);
}

#[test]
fn what_the_shell_would_do_to_an_unquoted_value() {
    for text in [
        "A=a;b\n",
        "A=a&b\n",
        "A=a|b\n",
        "A=~/x\n",
        "A=$HOME\n",
        "A=`x`\n",
        "A=$(x)\n",
        "A=it's\n",
        "A=C:\\x\n",
        "export A=*.txt\n",
    ] {
        refused_by(text, &[Sh], Sh);
    }
    // A plain assignment neither globs nor brace-expands.
    assert_eq!(value("A=*.txt\n", &[Sh]), "*.txt");
    assert_eq!(value("A={a,b}\n", &[Sh]), "{a,b}");
}

#[test]
fn dollar_in_unquoted_values() {
    let text = "A=pa$$word\n";
    assert_eq!(value(text, &[PythonDotenv, NodeDotenv, Node]), "pa$$word");
    assert_eq!(value(text, &[DockerCompose]), "pa$word");
    refused_by(text, &[Dotenvy], Dotenvy);
    refused_by("A=$HOME\n", &[DockerCompose], DockerCompose);
    refused_by("A=${HOME}\n", &[PythonDotenv], PythonDotenv);
    assert_eq!(
        value("A=${HOME}\n", &[PythonDotenvRaw, NodeDotenv]),
        "${HOME}"
    );
    refused_by("A=$HOME\n", &[Godotenv], Godotenv);
}

#[test]
fn single_quotes() {
    let every = &ALL_RUN[..];
    assert_eq!(
        value("A='s3cr=t #not a comment'\n", every),
        "s3cr=t #not a comment"
    );
    assert_eq!(value("A='$HOME `x` $(y)'\n", every), "$HOME `x` $(y)");
    assert_eq!(value("A='a\\b \\n'\n", every), "a\\b \\n");
    assert_eq!(value("A='x' # c\n", every), "x");
    assert_eq!(value("A='say \"hi\"'\n", every), "say \"hi\"");
    // python-dotenv and compose read `\'` as `'`; sh ends the quote there.
    let text = "A='it\\'s'\n";
    assert_eq!(value(text, &[PythonDotenv, DockerCompose]), "it's");
    refused_by(text, &[Sh], Sh);
    refused_by(text, &[NodeDotenv], NodeDotenv);
    // python-dotenv expands `${...}` even in single quotes.
    refused_by("A='${HOME}'\n", &[PythonDotenv], PythonDotenv);
    assert_eq!(
        value("A='${HOME}'\n", &[PythonDotenvRaw, DockerCompose, Sh]),
        "${HOME}"
    );
    // A trailing `\` escapes the closing quote for python-dotenv, compose and dotenvy.
    refused_by("A='ends\\'\n", &[PythonDotenv], PythonDotenv);
    refused_by("A='ends\\'\n", &[DockerCompose], DockerCompose);
    assert_eq!(value("A='ends\\'\n", &[Sh, Node]), "ends\\");
    // Text right after the closing quote.
    refused_by("A='x'#c\n", &[Sh], Sh);
    refused_by("A='x'#c\n", &[Dotenvy], Dotenvy);
    assert_eq!(
        value("A='x'#c\n", &[PythonDotenv, NodeDotenv, DockerCompose]),
        "x"
    );
    refused("A='x' y\n", &[PythonDotenv]);
    // The shell's `'\''` joins single-quoted runs for sh and dotenvy only.
    assert_eq!(value("A='it'\\''s'\n", &[Sh, Dotenvy]), "it's");
    refused_by("A='it'\\''s'\n", &[PythonDotenv], PythonDotenv);
    refused("A='open\nB=1\n", &[PythonDotenv]);
    // Blank before the quote: fine but for the shell.
    assert_eq!(
        value(
            "A= 'x'\n",
            &[PythonDotenv, NodeDotenv, Node, DockerCompose, Dotenvy]
        ),
        "x"
    );
    refused_by("A= 'x'\n", &[Sh], Sh);
}

#[test]
fn double_quotes() {
    let every = &ALL_RUN[..];
    assert_eq!(value("A=\"hello world\"\n", every), "hello world");
    assert_eq!(value("A=\"it's\"\n", every), "it's");
    assert_eq!(value("A=\"a #b\" # c\n", every), "a #b");
    // `\"` and `\\`: python-dotenv, compose, dotenvy and sh unescape; node and node-dotenv
    // keep the `\`.
    let text = "A=\"say \\\"hi\\\"\"\n";
    assert_eq!(
        value(text, &[PythonDotenv, DockerCompose, Dotenvy, Sh]),
        "say \"hi\""
    );
    refused_by(text, &[NodeDotenv], NodeDotenv);
    assert_eq!(
        value(
            "A=\"C:\\\\dir\"\n",
            &[PythonDotenv, DockerCompose, Dotenvy, Sh]
        ),
        "C:\\dir"
    );
    assert_eq!(value("A=\"C:\\\\dir\"\n", &[NodeDotenv, Node]), "C:\\\\dir");
    // `\n`: a line break to all but the shell.
    let text = "A=\"a\\nb\"\n";
    assert_eq!(
        value(
            text,
            &[PythonDotenv, NodeDotenv, Node, DockerCompose, Dotenvy]
        ),
        "a\nb"
    );
    assert_eq!(value(text, &[Sh]), "a\\nb");
    // `\t`: a tab to python-dotenv and compose; an error to dotenvy.
    assert_eq!(
        value("A=\"a\\tb\"\n", &[PythonDotenv, DockerCompose]),
        "a\tb"
    );
    assert_eq!(value("A=\"a\\tb\"\n", &[NodeDotenv, Node, Sh]), "a\\tb");
    refused_by("A=\"a\\tb\"\n", &[Dotenvy], Dotenvy);
    // `\$`: `$` to compose, dotenvy and sh; kept by python-dotenv.
    assert_eq!(
        value("A=\"\\$HOME\"\n", &[DockerCompose, Dotenvy, Sh]),
        "$HOME"
    );
    assert_eq!(
        value("A=\"\\$HOME\"\n", &[PythonDotenv, NodeDotenv]),
        "\\$HOME"
    );
    // A `\` before a line break: the shell joins the lines.
    assert_eq!(value("A=\"a\\\nb\"\n", &[Sh]), "ab");
    assert_eq!(
        value("A=\"a\\\nb\"\n", &[PythonDotenv, DockerCompose]),
        "a\\\nb"
    );
    refused_by("A=\"a\\0101\"\n", &[DockerCompose], DockerCompose);
}

#[test]
fn expansion_in_double_quotes_cannot_be_migrated() {
    for (text, reader) in [
        ("A=\"$HOME\"\n", DockerCompose),
        ("A=\"$HOME\"\n", Sh),
        ("A=\"$HOME\"\n", Dotenvy),
        ("A=\"${X}\"\n", PythonDotenv),
        ("A=\"${X:-d}\"\n", PythonDotenv),
        ("A=\"${X}\"\n", DockerCompose),
        ("A=\"`x`\"\n", Sh),
        ("A=\"$(x)\"\n", Sh),
        ("A=\"$X\"\n", Godotenv),
    ] {
        let e = refused_by(text, &[reader], reader);
        assert!(
            e.reason.contains("expand") || e.reason.contains("runs"),
            "{e}"
        );
    }
    // A `$` that starts nothing is kept.
    let text = "A=\"costs 5$ or $ 6\"\n";
    assert_eq!(
        value(text, &[PythonDotenv, NodeDotenv, Node, DockerCompose, Sh]),
        "costs 5$ or $ 6"
    );
    refused_by(text, &[Dotenvy], Dotenvy);
    assert_eq!(value("A=\"pa$$word\"\n", &[DockerCompose]), "pa$word");
    // Go's case-insensitive `[_a-z]` folds `ſ` and the Kelvin sign into names.
    refused_by("A=\"x$\u{17f}y\"\n", &[DockerCompose], DockerCompose);
    refused_by("A=\"x$\u{212a}y\"\n", &[DockerCompose], DockerCompose);
    assert_eq!(value("A=\"x$\u{e9}y\"\n", &[DockerCompose]), "x$\u{e9}y");
    assert_eq!(
        value("A=\"${X}\"\n", &[PythonDotenvRaw, NodeDotenv, Node]),
        "${X}"
    );
}

#[test]
fn python_dotenv_with_and_without_interpolation_differ_only_in_braces() {
    for text in [
        "A='x\\\\y'\n",
        "A=\"a\\tb\"\n",
        "A=$HOME\n",
        "A=\"$HOME\"\n",
        "A=v # c\n",
        "A=\"multi\nline\"\n",
    ] {
        assert_eq!(
            read(text, &[PythonDotenv]),
            read(text, &[PythonDotenvRaw]),
            "{text:?}"
        );
    }
    for text in ["A=${X}\n", "A='${X}'\n", "A=\"${X:-d}\"\n", "A=${}\n"] {
        refused_by(text, &[PythonDotenv], PythonDotenv);
        read(text, &[PythonDotenvRaw]);
    }
}

#[test]
fn multi_line_values() {
    let pem = "-----BEGIN KEY-----\nMIIE\n-----END KEY-----";
    for q in ['\'', '"'] {
        let text = format!("A={q}{pem}{q}\nB=after\n");
        assert_eq!(
            read(&text, &ALL_RUN),
            [("A".into(), pem.into()), ("B".into(), "after".into())]
        );
    }
}

#[test]
fn backquotes_are_quotes_to_node_only() {
    let text = "A=`x y`\n";
    assert_eq!(value(text, &[NodeDotenv, Node]), "x y");
    assert_eq!(value(text, &[PythonDotenv, DockerCompose]), "`x y`");
    refused_by(text, &[Sh], Sh);
    refused_by(text, &[NodeDotenv, PythonDotenv], NodeDotenv);
}

#[test]
fn cr_and_crlf() {
    // CRLF line ends: every reader but the shell drops the CR.
    let text = "A=x\r\nB='y'\r\n# c\r\n";
    let both = [("A".to_string(), "x".to_string()), ("B".into(), "y".into())];
    assert_eq!(
        read(
            text,
            &[
                PythonDotenv,
                NodeDotenv,
                Node,
                DockerCompose,
                Dotenvy,
                Godotenv
            ]
        ),
        both
    );
    refused_by(text, &[Sh], Sh);
    // CR inside quotes: LF to python-dotenv and node-dotenv, deleted by node, kept by the others.
    let text = "A='a\r\nb'\n";
    assert_eq!(value(text, &[PythonDotenv, NodeDotenv]), "a\nb");
    assert_eq!(value(text, &[Node]), "a\nb");
    assert_eq!(value(text, &[DockerCompose, Dotenvy, Sh]), "a\r\nb");
    assert_eq!(value(text, &[Godotenv]), "a\nb");
    let e = refused(text, &Reader::DEFAULT);
    assert!(
        e.reason.contains("read CR as LF") && e.reason.contains("keep CR"),
        "{e}"
    );
    // A lone CR outside quotes.
    refused_by("A=a\rb\n", &[PythonDotenv], PythonDotenv);
    assert_eq!(value("A=a\rb\n", &[Node]), "ab");
    refused_by("A=1\n\r\nB=2\n", &[Sh], Sh);
}
