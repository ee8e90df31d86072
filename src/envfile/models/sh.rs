//! `set -a; . ./.env` in bash and dash.

use super::*;

/// Names bash or dash set, guard or give a meaning of their own: an assignment may not stick.
pub(super) const SH_SPECIAL: &[&str] = &[
    "_",
    "BASH",
    "BASHOPTS",
    "BASHPID",
    "COLUMNS",
    "DIRSTACK",
    "ENV",
    "EPOCHREALTIME",
    "EPOCHSECONDS",
    "EUID",
    "FUNCNAME",
    "GROUPS",
    "HISTCMD",
    "HOSTNAME",
    "HOSTTYPE",
    "IFS",
    "LINENO",
    "LINES",
    "MACHTYPE",
    "OLDPWD",
    "OPTARG",
    "OPTERR",
    "OPTIND",
    "OSTYPE",
    "PIPESTATUS",
    "PPID",
    "PS1",
    "PS2",
    "PS3",
    "PS4",
    "PWD",
    "RANDOM",
    "SECONDS",
    "SHELLOPTS",
    "SHLVL",
    "SRANDOM",
    "UID",
];

/// Characters that end or change an unquoted assignment: operators, and `~` (tilde expansion).
pub(super) const SH_OPERATORS: &[char] = &['|', '&', ';', '<', '>', '(', ')', '~'];

/// Characters of a word that `export` (unlike a plain assignment) may glob or brace-expand.
pub(super) const SH_GLOB: &[char] = &['*', '?', '[', ']', '{', '}'];

pub(super) fn sh(e: &Entry) -> Result<Reading, Why> {
    if SH_SPECIAL.contains(&e.name) || e.name.starts_with("BASH_") || e.name.starts_with("COMP_") {
        return Err("gives this name a meaning of its own (bash or dash sets or guards it)");
    }
    if !e.before_eq.is_empty() {
        return Err("runs the name as a command when a blank comes before =");
    }
    let mut r = Reading::default();
    if !e.after_eq.is_empty() {
        let (rest, end) = e.rest_of_line(e.value_start);
        if !(rest.is_empty() || rest.starts_with('#')) {
            return Err("runs a value that follows a blank after = as a command");
        }
        if rest.starts_with('#') {
            r.note(HASH_AFTER_EQ_COMMENT);
        }
        r.end = end;
        return Ok(r);
    }
    match e.first() {
        None | Some('\n') => r.end = e.rest_of_line(e.value_start).1,
        Some('\'') => {
            let (content, after) =
                single_runs(e).ok_or("stops with a syntax error: the quote is not closed")?;
            if content.contains('\\') {
                r.note(SQ_BACKSLASH_KEPT);
            }
            if content.contains('\r') {
                r.note(CR_KEPT);
            }
            r.value = content;
            r.end = tail(e, after, Tail::Sh)?;
        }
        Some('"') => {
            let (content, after) = quoted(e, '"', Cr::Raw, Close::Pairs)
                .ok_or("stops with a syntax error: the quote is not closed")?;
            if content.contains('\r') {
                r.note(CR_KEPT);
            }
            let mut chars = pairs(&content).into_iter().peekable();
            while let Some((escape, c)) = chars.next() {
                match escape {
                    Some(x @ ('$' | '`' | '"' | '\\')) => {
                        r.note(match x {
                            '\\' => "reads \\\\ in double quotes as one \\",
                            '"' => "reads \\\" in double quotes as \"",
                            _ => "reads \\$ and \\` in double quotes as $ and `",
                        });
                        r.value.push(x);
                    }
                    Some('\n') => {
                        r.note("joins lines at a \\ before a line break in double quotes")
                    }
                    Some(x) => {
                        r.note("keeps other \\ escapes in double quotes");
                        r.value.push('\\');
                        r.value.push(x);
                    }
                    None if c == '`' => return Err("runs `...` in double quotes as a command"),
                    None if c == '$' => {
                        let next = chars
                            .peek()
                            .map(|&(escape, c)| if escape.is_some() { '\\' } else { c });
                        if next.is_some_and(|n| {
                            n.is_ascii_alphanumeric() || !n.is_ascii() || "_{([@*#?$!-".contains(n)
                        }) {
                            return Err(
                                "expands $ before a name, a digit, {, ( or one of @*#?$!- in double quotes",
                            );
                        }
                        r.value.push('$');
                    }
                    None => r.value.push(c),
                }
            }
            r.end = tail(e, after, Tail::Sh)?;
        }
        Some('`') => return Err("runs `...` as a command"),
        Some(_) => {
            let (raw, end) = e.rest_of_line(e.value_start);
            let word_end = raw.find([' ', '\t']).unwrap_or(raw.len());
            let (word, rest) = raw.split_at(word_end);
            if word.contains('\r') {
                return Err("keeps a CR at the end of an unquoted value as part of it");
            }
            if word.contains(['$', '`']) {
                return Err("expands $ and runs `...` in an unquoted value");
            }
            if word.contains(['\\', '"', '\'']) {
                return Err("reads \\ and quotes inside an unquoted value as shell quoting");
            }
            if word.contains(SH_OPERATORS) {
                return Err(
                    "gives | & ; < > ( ) and ~ in an unquoted value a meaning of their own",
                );
            }
            if e.export.is_some() && word.contains(SH_GLOB) {
                return Err(
                    "may expand * ? [ ] { } in an unquoted value after export (as file names)",
                );
            }
            if word.contains('#') {
                r.note(HASH_KEPT);
            }
            let rest = rest.trim_start_matches([' ', '\t']);
            if !(rest.is_empty() || rest.starts_with('#')) {
                return Err("runs what follows a blank in an unquoted value as a command");
            }
            r.value = word.to_owned();
            r.end = end;
        }
    }
    Ok(r)
}
