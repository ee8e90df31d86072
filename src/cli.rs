//! The command line. Each flag's doc comment is its `--help` text.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::render::{Format, Reader};

const EXIT_CODES: &str = "\
Exit codes:
  0  success (check: the file is up to date)
  1  check: the file would change
  2  usage or manifest error, or a value no declared reader can read back exactly
  3  authentication failed (no token, bad or expired token)
  4  a secret, key or version is missing, or the token may not read it
  5  Vault unreachable, sealed, or failing after retries; timeout
  6  the output file (or .gitignore) could not be written";

/// Turn secrets from Vault or OpenBao KV into a .env file, atomically.
#[derive(Debug, Parser)]
#[command(name = "kvenv", version, about, after_help = EXIT_CODES, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fetch every secret and atomically rewrite the output file.
    Sync(Common),
    /// Exit 0 if the output file is up to date, 1 if a sync would change it (names only, never values).
    Check {
        #[command(flatten)]
        common: Common,
        /// Print one JSON object on stdout: up_to_date, and per variable name, status, path, version.
        #[arg(long)]
        json: bool,
    },
    /// Print the secrets to stdout.
    Export {
        #[command(flatten)]
        common: Common,
    },
    /// Run a command with the secrets in its environment; nothing is written to disk.
    Run {
        #[command(flatten)]
        common: Common,
        /// Pass on to the command the credentials kvenv read (VAULT_TOKEN, BAO_TOKEN, the
        /// variables [vault.auth] names, their _FILE twins); removed by default.
        #[arg(long)]
        keep_vault_env: bool,
        /// Keep variables already set in the environment instead of overriding them.
        #[arg(long)]
        no_override: bool,
        /// The command and its arguments, after `--`.
        #[arg(last = true, required = true, value_name = "CMD")]
        command: Vec<std::ffi::OsString>,
    },
    /// Check the manifest offline and print the plan; no server needed.
    Validate {
        #[command(flatten)]
        common: Common,
        /// Print the plan as one JSON object: manifest, output, format, and per entry name,
        /// path, key, version, optional, has_default.
        #[arg(long)]
        json: bool,
    },
    /// Print the Vault policy (HCL) a token needs to read everything the manifest names.
    Policy {
        #[command(flatten)]
        common: Common,
        /// Also grant what `kvenv push` needs (create, update).
        #[arg(long)]
        push: bool,
    },
    /// Write values from an existing .env into Vault at the manifest's paths (dry run unless --apply).
    Push {
        #[command(flatten)]
        common: Common,
        /// The file to read [default: the manifest's output file].
        #[arg(long, value_name = "FILE", value_parser = parse_path)]
        from: Option<PathBuf>,
        /// Write to Vault; without it, only print the plan.
        #[arg(long)]
        apply: bool,
        /// Replace existing values that differ.
        #[arg(long)]
        overwrite: bool,
    },
    /// Write a starter secrets.toml, from an existing .env's names when one is given.
    Init {
        /// Where to write the manifest.
        #[arg(short, long, value_name = "PATH", default_value = "secrets.toml", value_parser = parse_path)]
        manifest: PathBuf,
        /// A .env file whose variable names to map.
        #[arg(long, value_name = "FILE", value_parser = parse_path)]
        from: Option<PathBuf>,
        /// The {project} placeholder's value [default: this folder's name].
        #[arg(long, value_name = "NAME")]
        project: Option<String>,
        /// The {env} placeholder's value.
        #[arg(long, value_name = "NAME", default_value = "local")]
        env: String,
        /// The KV mount.
        #[arg(long, value_name = "MOUNT", default_value = "kv")]
        mount: String,
        /// A program that reads the .env (repeatable; written to [output] readers): --from is
        /// read as they all read it [default: python-dotenv, node-dotenv, docker-compose, sh].
        #[arg(long = "reader", value_name = "NAME", value_parser = parse_reader)]
        readers: Vec<Reader>,
    },
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write every page (kvenv.1, kvenv-sync.1, ...) into a folder.
    Man {
        /// Write kvenv.1 and one page per subcommand here, and name each on stderr.
        #[arg(long, value_name = "DIR", value_parser = parse_path)]
        out_dir: Option<PathBuf>,
    },
}

/// Flags every command takes.
#[derive(Debug, Args)]
pub struct Common {
    /// The manifest.
    #[arg(short, long, value_name = "PATH", default_value = "secrets.toml", value_parser = parse_path)]
    pub manifest: PathBuf,

    /// Write here instead of the manifest's [output] path (relative to the current directory).
    #[arg(short, long, value_name = "PATH", value_parser = parse_path)]
    pub output: Option<PathBuf>,

    /// Set a {placeholder} used in the manifest's paths (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,

    /// Vault address [default: BAO_ADDR, VAULT_ADDR, the manifest, https://127.0.0.1:8200].
    #[arg(long, value_name = "URL")]
    pub address: Option<String>,

    /// Vault namespace [default: BAO_NAMESPACE, VAULT_NAMESPACE, the manifest].
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,

    /// A PEM file of CA certificates to trust [default: BAO_CACERT, VAULT_CACERT, [vault.tls]].
    #[arg(long, value_name = "FILE", value_parser = parse_path)]
    pub ca_cert: Option<PathBuf>,

    /// A folder of PEM CA certificates [default: BAO_CAPATH, VAULT_CAPATH, [vault.tls]].
    #[arg(long, value_name = "DIR", value_parser = parse_path)]
    pub ca_path: Option<PathBuf>,

    /// Client certificate for mutual TLS [default: BAO_CLIENT_CERT, VAULT_CLIENT_CERT].
    #[arg(long, value_name = "FILE", requires = "client_key", value_parser = parse_path)]
    pub client_cert: Option<PathBuf>,

    /// Client key for mutual TLS [default: BAO_CLIENT_KEY, VAULT_CLIENT_KEY].
    #[arg(long, value_name = "FILE", requires = "client_cert", value_parser = parse_path)]
    pub client_key: Option<PathBuf>,

    /// The name expected on the server's certificate [default: VAULT_TLS_SERVER_NAME].
    #[arg(long, value_name = "NAME")]
    pub tls_server_name: Option<String>,

    /// Do not verify the server's certificate (insecure; warned about on every run).
    #[arg(long)]
    pub tls_skip_verify: bool,

    /// Output format: dotenv, shell or json (export also takes github).
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    pub format: Option<Format>,

    /// A program that reads the file (repeatable; replaces the manifest's readers):
    /// python-dotenv, python-dotenv-raw, node-dotenv, node, docker-compose, dotenvy, godotenv, sh.
    #[arg(long = "reader", value_name = "NAME", value_parser = parse_reader)]
    pub readers: Vec<Reader>,

    /// Requests in flight at once [default: 16 over HTTP/1.1 connections, 128 over one HTTP/2
    /// connection].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: Option<u16>,

    /// The largest answer accepted from Vault, e.g. 64MiB, 512KiB, 1000000 (bytes); a larger one
    /// fails the run (exit 5).
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = parse_size)]
    pub max_response: u64,

    /// Deadline for the whole run, e.g. 60s, 500ms, 2m.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub timeout: Duration,

    /// Print nothing but errors.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Also print one line per variable: name, path, version (never a value).
    #[arg(short, long)]
    pub verbose: bool,
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err("expected NAME=VALUE".into()),
    }
}

/// A path with no control characters (they would reach messages and `.gitignore` rules).
fn parse_path(s: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(s);
    crate::plan::check_path(&path)?;
    Ok(path)
}

fn parse_format(s: &str) -> Result<Format, String> {
    Format::parse(s).ok_or_else(|| "expected dotenv, shell, json or github".into())
}

fn parse_reader(s: &str) -> Result<Reader, String> {
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

/// `60s`, `500ms`, `2m`, or a bare number of seconds.
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
        _ => return Err(format!("{s:?} is not a duration such as 60s, 500ms or 2m")),
    };
    if !(secs > 0.0 && secs < 86_400.0) {
        return Err("the timeout must be more than 0 and less than a day".into());
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("60s").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("1h").is_err());
        assert!(parse_duration("abc").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_size("512KiB").unwrap(), 512 << 10);
        assert_eq!(parse_size("1000000").unwrap(), 1_000_000);
        assert!(parse_size("12").is_err());
        assert!(parse_size("1TiB").is_err());
        assert!(parse_size("lots").is_err());
    }
}
