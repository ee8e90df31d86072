//! The command line. Each flag's doc comment is its `--help` text.
//!
//! Flags come in groups (the manifest, the Vault connection, the output file, verbosity), and
//! each command flattens exactly the groups it uses, as xh and just do: a flag a command would
//! ignore is not in its `--help`, and giving it is a usage error (exit 2), not a silent no-op.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::render::{Format, Reader};

/// Where the token comes from: after the help of the top level and of every command that talks
/// to Vault.
macro_rules! token_help {
    () => {
        "The token: BAO_TOKEN, then VAULT_TOKEN, then [vault.auth] token = { env = \"NAME\" } or
{ file = \"PATH\" } in the manifest, then ~/.vault-token (what `bao login` / `vault login`
write). [vault.auth] method = \"approle\", \"jwt\", \"github-actions\", \"kubernetes\" or
\"userpass\" logs in instead."
    };
}

const TOKEN_HELP: &str = token_help!();

const AFTER_HELP: &str = concat!(
    token_help!(),
    "

Example:
  VAULT_ADDR=https://vault.example.com:8200 kvenv sync     # secrets.toml -> .env

Exit codes:
  0  success (check: the file is up to date)
  1  check: the file would change
  2  usage or manifest error, or a value no declared reader can read back exactly
  3  authentication failed (no token, bad or expired token)
  4  a secret, key or version is missing, or the token may not read it
  5  Vault unreachable, sealed, or failing after retries; an answer too large; timeout
  6  the output file (or .gitignore, $GITHUB_ENV, stdout) could not be read or written
  run: the command's own exit status (126/127 when it cannot be started)"
);

/// Turn secrets from Vault or OpenBao KV into a .env file, atomically.
#[derive(Debug, Parser)]
#[command(name = "kvenv", version, about, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fetch every secret and atomically rewrite the output file.
    #[command(after_help = TOKEN_HELP)]
    Sync(SyncArgs),
    /// Exit 0 if the output file is up to date, 1 if a sync would change it (names only, never
    /// values).
    #[command(after_help = TOKEN_HELP)]
    Check(CheckArgs),
    /// Print the secrets to stdout (with --format github: masks on stdout, variables into
    /// $GITHUB_ENV).
    #[command(after_help = TOKEN_HELP)]
    Export(ExportArgs),
    /// Run a command with the secrets in its environment; nothing is written to disk.
    #[command(after_help = TOKEN_HELP)]
    Run(RunArgs),
    /// Check the manifest offline and print the plan; no server needed.
    Validate(ValidateArgs),
    /// Print the Vault policy (HCL) a token needs to read everything the manifest names.
    #[command(after_help = TOKEN_HELP)]
    Policy(PolicyArgs),
    /// Write values from an existing .env into Vault at the manifest's paths (dry run unless
    /// --apply).
    #[command(after_help = TOKEN_HELP)]
    Push(PushArgs),
    /// Write a starter secrets.toml, from an existing .env's names when one is given.
    Init(InitArgs),
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

#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub manifest: ManifestArgs,
    #[command(flatten)]
    pub verbosity: Verbosity,
    #[command(flatten)]
    pub file: FileArgs,
    #[command(flatten)]
    pub vault: ConnectionArgs,
    #[command(flatten)]
    pub watch: WatchArgs,
    /// With --watch: run this shell command after each rewrite of the file, e.g.
    /// 'docker compose up -d' (it gets no Vault credentials).
    #[arg(long, value_name = "CMD", requires = "watch", help_heading = "Watch")]
    pub exec: Option<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub manifest: ManifestArgs,
    #[command(flatten)]
    pub verbosity: Verbosity,
    #[command(flatten)]
    pub file: FileArgs,
    #[command(flatten)]
    pub vault: ConnectionArgs,
    /// Print one JSON object on stdout: up_to_date, mode, and per variable name, status, path,
    /// version.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub manifest: ManifestArgs,
    #[command(flatten)]
    pub verbosity: Verbosity,
    /// Output format [default: the manifest's, or dotenv]. github: `::add-mask::` lines on
    /// stdout, the variables appended to $GITHUB_ENV.
    #[arg(long, value_name = "FORMAT", value_enum)]
    pub format: Option<ExportFormat>,
    #[command(flatten)]
    pub readers: ReaderArgs,
    #[command(flatten)]
    pub vault: ConnectionArgs,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub manifest: ManifestArgs,
    #[command(flatten)]
    pub verbosity: Verbosity,
    #[command(flatten)]
    pub vault: ConnectionArgs,
    /// Pass on to the command the credentials kvenv read (VAULT_TOKEN, BAO_TOKEN, the
    /// variables [vault.auth] names, their _FILE twins); removed by default.
    #[arg(long)]
    pub keep_vault_env: bool,
    /// Keep variables already set in the environment instead of overriding them.
    #[arg(long)]
    pub no_override: bool,
    #[command(flatten)]
    pub watch: WatchArgs,
    /// With --watch: how long the command may take to stop for a restart before it is killed.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration, requires = "watch", help_heading = "Watch")]
    pub grace: Duration,
    /// With --watch: the signal that asks the command to stop for a restart.
    #[arg(long, value_name = "SIGNAL", default_value = "TERM", value_parser = crate::child::parse_signal, requires = "watch", help_heading = "Watch")]
    pub restart_signal: i32,
    /// The command and its arguments, after `--`: kvenv run -- ./server --port 8000
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub manifest: ManifestArgs,
    #[command(flatten)]
    pub verbosity: Verbosity,
    /// The output flags of the sync being checked (the plan is the one that sync would run).
    #[command(flatten)]
    pub file: FileArgs,
    /// Print the plan as one JSON object: manifest, output, format, and per entry name, path,
    /// key, version, optional, has_default.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PolicyArgs {
    #[command(flatten)]
    pub manifest: ManifestArgs,
    #[command(flatten)]
    pub verbosity: Verbosity,
    /// Also grant what `kvenv push` needs (create, update).
    #[arg(long)]
    pub push: bool,
    #[command(flatten)]
    pub vault: ConnectionArgs,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    #[command(flatten)]
    pub manifest: ManifestArgs,
    #[command(flatten)]
    pub verbosity: Verbosity,
    /// The file to read [default: the manifest's output file].
    #[arg(long, value_name = "FILE", value_parser = parse_path)]
    pub from: Option<PathBuf>,
    /// Write to Vault; without it, only print the plan.
    #[arg(long)]
    pub apply: bool,
    /// Replace existing values that differ.
    #[arg(long)]
    pub overwrite: bool,
    #[command(flatten)]
    pub readers: ReaderArgs,
    #[command(flatten)]
    pub vault: ConnectionArgs,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write the manifest.
    #[arg(
        short,
        long,
        value_name = "PATH",
        default_value = "secrets.toml",
        value_parser = parse_path
    )]
    pub manifest: PathBuf,
    /// A .env file whose variable names to map.
    #[arg(long, value_name = "FILE", value_parser = parse_path)]
    pub from: Option<PathBuf>,
    /// The {project} placeholder's value [default: this folder's name].
    #[arg(long, value_name = "NAME")]
    pub project: Option<String>,
    /// The {env} placeholder's value.
    #[arg(long, value_name = "NAME", default_value = "local")]
    pub env: String,
    /// The KV mount.
    #[arg(long, value_name = "MOUNT", default_value = "kv")]
    pub mount: String,
    #[command(flatten)]
    pub readers: ReaderArgs,
}

/// Which manifest, and its placeholders.
#[derive(Debug, Args)]
pub struct ManifestArgs {
    /// The manifest.
    #[arg(
        short,
        long,
        value_name = "PATH",
        default_value = "secrets.toml",
        value_parser = parse_path
    )]
    pub manifest: PathBuf,

    /// Set a {placeholder} used in the manifest's paths (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
}

/// How to reach Vault.
#[derive(Debug, Args)]
#[command(next_help_heading = "Vault connection")]
pub struct ConnectionArgs {
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

    /// Requests in flight at once [default over HTTP/1.1 connections: 16, or 48 once an answer
    /// shows the server more than 5 ms away; 128 over one HTTP/2 connection].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: Option<u16>,

    /// The largest answer accepted from Vault, e.g. 64MiB, 512KiB, 1000000 (bytes); a larger one
    /// fails the run (exit 5).
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = parse_size)]
    pub max_response: u64,

    /// Deadline for the whole run, e.g. 60s, 500ms, 2m.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub timeout: Duration,
}

impl ConnectionArgs {
    /// Requests in flight, if `--concurrency` was given.
    pub fn concurrency(&self) -> Option<usize> {
        self.concurrency.map(usize::from)
    }
}

/// The file a command writes or compares.
#[derive(Debug, Args)]
#[command(next_help_heading = "Output")]
pub struct FileArgs {
    /// Write here instead of the manifest's [output] path (relative to the current directory).
    #[arg(short, long, value_name = "PATH", value_parser = parse_path)]
    pub output: Option<PathBuf>,

    /// Output format [default: the manifest's, or dotenv].
    #[arg(long, value_name = "FORMAT", value_enum)]
    pub format: Option<FileFormat>,

    #[command(flatten)]
    pub readers: ReaderArgs,
}

/// Who reads the file.
#[derive(Debug, Args)]
pub struct ReaderArgs {
    /// A program that reads the file (repeatable; replaces the manifest's readers):
    /// python-dotenv, python-dotenv-raw, node-dotenv, node, docker-compose, dotenvy, godotenv, sh.
    #[arg(long = "reader", value_name = "NAME", value_parser = parse_reader)]
    pub readers: Vec<Reader>,
}

/// Keeping the secrets current while kvenv runs.
#[derive(Debug, Args)]
#[command(next_help_heading = "Watch")]
pub struct WatchArgs {
    /// Stay running: read the secrets again every --interval and apply what changed; renew the
    /// token and the leases of dynamic secrets.
    #[arg(long)]
    pub watch: bool,
    /// With --watch: how often to read the secrets again, e.g. 30s, 5m.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration, requires = "watch")]
    pub interval: Duration,
}

/// What the user sees on stderr.
#[derive(Debug, Args)]
pub struct Verbosity {
    /// Print nothing but errors.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Also print one line per variable: name, path, version (never a value).
    #[arg(short, long)]
    pub verbose: bool,
}

/// The formats of a file kvenv writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FileFormat {
    Dotenv,
    Shell,
    Json,
}

/// What `kvenv export` can print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Dotenv,
    Shell,
    Json,
    Github,
}

impl From<FileFormat> for Format {
    fn from(f: FileFormat) -> Format {
        match f {
            FileFormat::Dotenv => Format::Dotenv,
            FileFormat::Shell => Format::Shell,
            FileFormat::Json => Format::Json,
        }
    }
}

impl From<ExportFormat> for Format {
    fn from(f: ExportFormat) -> Format {
        match f {
            ExportFormat::Dotenv => Format::Dotenv,
            ExportFormat::Shell => Format::Shell,
            ExportFormat::Json => Format::Json,
            ExportFormat::Github => Format::Github,
        }
    }
}

mod values;

pub use values::{parse_duration, parse_size};
use values::{parse_path, parse_reader, parse_var};

#[cfg(test)]
mod tests;
