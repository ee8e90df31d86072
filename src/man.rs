//! Man pages: `kvenv.1` and one page per subcommand (`kvenv-sync.1`, ...), rendered from the
//! clap definitions with `clap_mangen`, plus what clap does not know: the environment each
//! command reads, its exit statuses, the files it touches, and the other pages.
//!
//! `kvenv man` prints the top page; `kvenv man --out-dir DIR` writes them all (the release
//! archives ship them under `man/man1/`).

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, italic, roman};

use crate::error::io_reason;
use crate::write::WriteError;

/// One rendered page: its file name (`kvenv-sync.1`) and its roff source.
pub struct Page {
    pub name: String,
    pub roff: Vec<u8>,
}

/// Which commands something applies to.
#[derive(Clone, Copy)]
enum Scope {
    /// Every command.
    All,
    /// The commands that may talk to Vault: sync, check, export, run, push, policy.
    Vault,
    /// The commands that read a manifest.
    Manifest,
    /// Only these subcommands.
    Only(&'static [&'static str]),
}

impl Scope {
    fn covers(self, command: &str) -> bool {
        const VAULT: &[&str] = &["sync", "check", "export", "run", "push", "policy"];
        const MANIFEST: &[&str] = &[
            "sync", "check", "export", "run", "push", "policy", "validate",
        ];
        match self {
            Scope::All => true,
            // The top page describes them all.
            _ if command == "kvenv" => true,
            Scope::Vault => VAULT.contains(&command),
            Scope::Manifest => MANIFEST.contains(&command),
            Scope::Only(names) => names.contains(&command),
        }
    }
}

/// The environment, as `src/vault/auth.rs`, `src/vault/client.rs` and the commands read it. An
/// empty value counts as unset.
const ENVIRONMENT: &[(&[&str], &str, Scope)] = &[
    (
        &["BAO_ADDR", "VAULT_ADDR"],
        "The server's address, when --address is not given (BAO_ADDR first). Then the manifest's [vault] address, then https://127.0.0.1:8200.",
        Scope::Vault,
    ),
    (
        &["BAO_TOKEN", "VAULT_TOKEN"],
        "The token, for the default auth method (token). Without them: the manifest's [vault.auth] token reference, then ~/.vault-token.",
        Scope::Vault,
    ),
    (
        &["HOME"],
        "Where ~/.vault-token is read from.",
        Scope::Vault,
    ),
    (
        &["BAO_NAMESPACE", "VAULT_NAMESPACE"],
        "The namespace (X-Vault-Namespace), when --namespace is not given.",
        Scope::Vault,
    ),
    (
        &["BAO_CACERT", "VAULT_CACERT"],
        "A PEM file of CA certificates to trust instead of the system's (--ca-cert).",
        Scope::Vault,
    ),
    (
        &["BAO_CAPATH", "VAULT_CAPATH"],
        "A folder of PEM CA certificates (--ca-path).",
        Scope::Vault,
    ),
    (
        &[
            "BAO_CLIENT_CERT",
            "VAULT_CLIENT_CERT",
            "BAO_CLIENT_KEY",
            "VAULT_CLIENT_KEY",
        ],
        "The client certificate and key for mutual TLS (--client-cert, --client-key).",
        Scope::Vault,
    ),
    (
        &["BAO_TLS_SERVER_NAME", "VAULT_TLS_SERVER_NAME"],
        "The name expected on the server's certificate (--tls-server-name).",
        Scope::Vault,
    ),
    (
        &["BAO_SKIP_VERIFY", "VAULT_SKIP_VERIFY"],
        "Do not verify the server's certificate (insecure; warned about on every run).",
        Scope::Vault,
    ),
    (
        &["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"],
        "Proxies for the server's address (any case), as curl reads them. A loopback address is never reached through a proxy.",
        Scope::Vault,
    ),
    (
        &[
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        ],
        "Auth method github-actions: where GitHub Actions hands out the job's OIDC token (set by the runner when the job has permission id-token: write).",
        Scope::Vault,
    ),
    (
        &["GITHUB_ENV"],
        "export --format github: the file the variables are appended to (set by the GitHub Actions runner; required).",
        Scope::Only(&["export"]),
    ),
    (
        &["RUNNER_OS"],
        "export --format github: Windows makes kvenv refuse the values the Windows runner would read back differently.",
        Scope::Only(&["export"]),
    ),
];

/// `(code, meaning, commands)`, as README's table has them.
const EXIT_STATUS: &[(&str, &str, Scope)] = &[
    ("0", "Success.", Scope::All),
    (
        "1",
        "check: the output file would change (0: it is up to date).",
        Scope::Only(&["check"]),
    ),
    (
        "2",
        "A usage or manifest error, or a value no declared reader would read back exactly.",
        Scope::All,
    ),
    (
        "3",
        "Authentication failed: no token, or a bad, expired or revoked one.",
        Scope::Vault,
    ),
    (
        "4",
        "A secret, key or version is missing, or the token may not read it.",
        Scope::Vault,
    ),
    (
        "5",
        "Vault is unreachable, sealed, or failing after retries; an answer over --max-response; the --timeout deadline passed.",
        Scope::Vault,
    ),
    (
        "6",
        "The output file (or .gitignore, $GITHUB_ENV, stdout) could not be read or written, or is not a regular file.",
        Scope::All,
    ),
    (
        "126, 127",
        "run: the command could not be started (127: not found).",
        Scope::Only(&["run"]),
    ),
    (
        "other",
        "run: the command's own exit status (killed by signal N: the shell sees 128+N).",
        Scope::Only(&["run"]),
    ),
];

const FILES: &[(&str, &str, Scope)] = &[
    (
        "secrets.toml",
        "The manifest (--manifest): which secrets become which variables. It holds no secret values.",
        Scope::Manifest,
    ),
    (
        ".env",
        "The output file ([output] path, --output), replaced atomically with mode 0600.",
        Scope::Only(&["sync", "check", "push"]),
    ),
    (
        ".gitignore",
        "sync appends the output's name to the .gitignore in its folder unless git already ignores it.",
        Scope::Only(&["sync"]),
    ),
    (
        "~/.vault-token",
        "The token when no variable or manifest reference gives one (as the vault CLI writes it).",
        Scope::Vault,
    ),
];

/// Every page: `kvenv.1` first, then one per subcommand, in the order `--help` lists them.
pub fn pages() -> Vec<Page> {
    let mut top = crate::cli::Cli::command().disable_help_subcommand(true);
    top.build();
    let subcommands: Vec<clap::Command> = top
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .cloned()
        .collect();
    let names: Vec<String> = subcommands
        .iter()
        .map(|s| s.get_name().to_owned())
        .collect();
    // The exit codes are a section of their own here; the --help epilogue would repeat them.
    let top = top.after_help(None::<&str>).after_long_help(None::<&str>);
    let mut pages = vec![page(top, "kvenv", &names)];
    for sub in subcommands {
        let name = sub.get_name().to_owned();
        pages.push(page(sub, &name, &names));
    }
    pages
}

/// The top page, as `kvenv man` prints it.
pub fn top_page() -> Vec<u8> {
    pages().swap_remove(0).roff
}

/// Write every page into `dir` (created if needed); returns the paths written.
pub fn write_all(dir: &Path) -> Result<Vec<PathBuf>, WriteError> {
    std::fs::create_dir_all(dir).map_err(|e| WriteError::write(dir, io_reason(&e)))?;
    let mut written = Vec::new();
    for p in pages() {
        let path = dir.join(&p.name);
        std::fs::write(&path, &p.roff).map_err(|e| WriteError::write(&path, io_reason(&e)))?;
        written.push(path);
    }
    Ok(written)
}

/// `command` is `kvenv` for the top page, else the subcommand's name.
fn page(cmd: clap::Command, command: &str, all: &[String]) -> Page {
    let has_subcommands = cmd.has_subcommands();
    let man = Man::new(cmd)
        .source(format!("kvenv {}", env!("CARGO_PKG_VERSION")))
        .manual("kvenv manual");
    let mut roff = Vec::new();
    append(&mut roff, |w| man.render_title(w));
    append(&mut roff, |w| man.render_name_section(w));
    append(&mut roff, |w| man.render_synopsis_section(w));
    append(&mut roff, |w| man.render_description_section(w));
    append(&mut roff, |w| man.render_options_section(w));
    if has_subcommands {
        append(&mut roff, |w| man.render_subcommands_section(w));
    }
    let mut extra = Roff::new();
    exit_status(&mut extra, command);
    environment(&mut extra, command);
    files(&mut extra, command);
    see_also(&mut extra, command, all);
    append(&mut roff, |w| extra.to_writer(w));
    append(&mut roff, |w| man.render_version_section(w));
    Page {
        name: if command == "kvenv" {
            "kvenv.1".into()
        } else {
            format!("kvenv-{command}.1")
        },
        roff,
    }
}

/// The string definition every rendered piece starts with; kept once, at the top of the page.
const PREAMBLE: &str = ".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n";

fn append(out: &mut Vec<u8>, render: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) {
    let mut piece = Vec::new();
    // Writing into a Vec cannot fail.
    render(&mut piece).expect("rendering into memory");
    let piece = if out.is_empty() {
        &piece[..]
    } else {
        piece.strip_prefix(PREAMBLE.as_bytes()).unwrap_or(&piece)
    };
    out.extend_from_slice(piece);
}

fn exit_status(roff: &mut Roff, command: &str) {
    roff.control("SH", ["EXIT STATUS"]);
    for (code, text, scope) in EXIT_STATUS {
        if scope.covers(command) {
            roff.control("TP", []);
            roff.text([bold(*code)]);
            roff.text([roman(*text)]);
        }
    }
}

fn environment(roff: &mut Roff, command: &str) {
    let entries: Vec<_> = ENVIRONMENT
        .iter()
        .filter(|(_, _, scope)| scope.covers(command))
        .collect();
    roff.control("SH", ["ENVIRONMENT"]);
    if entries.is_empty() {
        roff.text([roman(
            "None: this command reads no environment variable of its own.",
        )]);
        return;
    }
    roff.text([roman(
        "A flag wins over the environment, and the environment over the manifest; an empty value counts as unset.",
    )]);
    for (names, text, _) in entries {
        roff.control("TP", []);
        let mut line = Vec::new();
        for (i, name) in names.iter().enumerate() {
            if i > 0 {
                line.push(roman(", "));
            }
            line.push(bold(*name));
        }
        roff.text(line);
        roff.text([roman(*text)]);
    }
    if Scope::Vault.covers(command) {
        roff.control("TP", []);
        roff.text([italic("NAME")]);
        roff.text([roman(
            "Any variable the manifest's [vault.auth] names with { env = \"NAME\" } (role_id, secret_id, password, jwt, token).",
        )]);
    }
    if command == "run" {
        roff.control("PP", []);
        roff.text([roman(
            "The command does not get the credentials kvenv read: BAO_TOKEN, VAULT_TOKEN, every variable [vault.auth] names, the GitHub ID-token request variables, and the _FILE twin of each (--keep-vault-env keeps them).",
        )]);
    }
}

fn files(roff: &mut Roff, command: &str) {
    let entries: Vec<_> = FILES
        .iter()
        .filter(|(_, _, scope)| scope.covers(command))
        .collect();
    if entries.is_empty() {
        return;
    }
    roff.control("SH", ["FILES"]);
    for (name, text, _) in entries {
        roff.control("TP", []);
        roff.text([italic(*name)]);
        roff.text([roman(*text)]);
    }
}

fn see_also(roff: &mut Roff, command: &str, all: &[String]) {
    let mut refs: Vec<String> = Vec::new();
    if command != "kvenv" {
        refs.push("kvenv(1)".into());
    }
    refs.extend(
        all.iter()
            .filter(|n| n.as_str() != command)
            .map(|n| format!("kvenv-{n}(1)")),
    );
    roff.control("SH", ["SEE ALSO"]);
    let mut line = Vec::new();
    for (i, r) in refs.iter().enumerate() {
        if i > 0 {
            line.push(roman(", "));
        }
        let (name, section) = r.split_once('(').expect("name(section)");
        line.push(bold(name));
        line.push(roman(format!("({section}")));
    }
    roff.text(line);
    roff.control("PP", []);
    roff.text([roman(
        "The manifest's format, the encoding rules and the guarantees: README.md, shipped with kvenv and at https://github.com/kvenv/kvenv.",
    )]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(page: &Page) -> String {
        String::from_utf8(page.roff.clone()).unwrap()
    }

    #[test]
    fn one_page_per_subcommand_and_every_reference_exists() {
        let pages = pages();
        let names: Vec<&str> = pages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names[0], "kvenv.1");
        for sub in [
            "sync", "check", "export", "run", "validate", "policy", "push",
        ] {
            assert!(
                names.contains(&format!("kvenv-{sub}.1").as_str()),
                "{names:?}"
            );
        }
        assert!(!names.contains(&"kvenv-help.1"));
        // Every page another page points to is one of these.
        for p in &pages {
            let t = text(p).replace("\\-", "-");
            for word in t.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
                if let Some(sub) = word.strip_prefix("kvenv-") {
                    let file = format!("kvenv-{sub}.1");
                    assert!(
                        names.contains(&file.as_str()),
                        "{} names {word}, which has no page",
                        p.name
                    );
                }
            }
        }
    }

    #[test]
    fn each_page_has_its_flags_environment_and_exit_codes() {
        let pages = pages();
        let find = |n: &str| text(pages.iter().find(|p| p.name == n).unwrap());
        let sync = find("kvenv-sync.1");
        for want in [
            "\\-\\-manifest",
            "\\-\\-timeout",
            "\\-\\-max\\-response",
            "VAULT_ADDR",
            "BAO_TOKEN",
            "VAULT_CACERT",
            "VAULT_NAMESPACE",
            ".SH \"EXIT STATUS\"",
            ".SH ENVIRONMENT",
            ".SH \"SEE ALSO\"",
            "vault\\-token",
        ] {
            assert!(sync.contains(want), "kvenv-sync.1 lacks {want}:\n{sync}");
        }
        assert!(!sync.contains("\\fBGITHUB_ENV\\fR"));
        assert!(find("kvenv-export.1").contains("\\fBGITHUB_ENV\\fR"));
        let code = |c: u8| format!(".TP\n\\fB{c}\\fR\n");
        assert!(find("kvenv-check.1").contains(&code(1)));
        assert!(!sync.contains(&code(1)), "only check exits 1");
        assert!(find("kvenv-run.1").contains("\\-\\-keep\\-vault\\-env"));
        let validate = find("kvenv-validate.1");
        assert!(
            !validate.contains("\\fBVAULT_ADDR\\fR"),
            "validate is offline"
        );
        assert!(!validate.contains(&code(5)), "validate never reaches Vault");
        // The top page lists every code and refers to each subcommand's page.
        let top = find("kvenv.1");
        for c in 0..=6 {
            assert!(top.contains(&code(c)), "kvenv.1 lacks code {c}");
        }
        assert!(top.contains("kvenv\\-sync(1)"));
        assert!(
            !top.contains("EXTRA"),
            "the --help epilogue is not repeated"
        );
        assert_eq!(top.matches(".ds Aq").count(), 2, "one preamble");
    }
}
