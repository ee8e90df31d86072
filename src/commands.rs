//! The commands, each the pipeline manifest → plan → fetch → render → write, cut where the
//! command needs it. All human-facing output goes to stderr; stdout carries only what a command
//! is asked to print (export, validate).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::cli::{Command, Common};
use crate::diff::diff;
use crate::error::{Error, code};
use crate::fetch::{self, FetchError, Fetched};
use crate::plan::{OnMissing, Overrides, Plan, Target};
use crate::render::{self, Format};
use crate::vault::client::Tls;
use crate::vault::{Client, VaultError, auth};
use crate::write::{self, Outcome};
use crate::{gitignore, render::Options};

/// Run one command; the `Ok` value is the exit code.
pub fn run(command: Command) -> Result<u8, Error> {
    match command {
        Command::Sync(c) => sync(&c),
        Command::Check(c) => check(&c),
        Command::Export { common } => export(&common),
        Command::Validate(c) => validate(&c),
    }
}

/// What the user sees on stderr, at the verbosity asked for.
struct Ui {
    quiet: bool,
    verbose: bool,
}

impl Ui {
    fn of(c: &Common) -> Ui {
        Ui {
            quiet: c.quiet,
            verbose: c.verbose,
        }
    }
    fn info(&self, line: &str) {
        if !self.quiet {
            eprintln!("kvenv: {line}");
        }
    }
    fn detail(&self, line: &str) {
        if self.verbose {
            eprintln!("kvenv: {line}");
        }
    }
    fn warn(&self, line: &str) {
        eprintln!("kvenv: warning: {line}");
    }
}

fn load(c: &Common, allow_github: bool) -> Result<Plan, Error> {
    if c.format == Some(Format::Github) && !allow_github {
        return Err(Error::Usage(
            "--format github is for `kvenv export` only".into(),
        ));
    }
    let overrides = Overrides {
        vars: c.vars.clone(),
        output: c.output.clone(),
        format: c.format,
        readers: c.readers.clone(),
    };
    Ok(Plan::load(&c.manifest, &overrides)?)
}

/// Log in if the manifest says so, fetch everything the plan names within the deadline, and
/// revoke a token obtained by login, whatever happened. It runs on a single-threaded runtime:
/// the work is waiting on the network, and one thread starts faster than a pool.
fn fetch_all(plan: &Plan, c: &Common, ui: &Ui) -> Result<Fetched, Error> {
    let env = auth::process_env;
    let address = auth::address(c.address.as_deref(), plan.vault.address.as_deref(), &env);
    let namespace = auth::namespace(
        c.namespace.as_deref(),
        plan.vault.namespace.as_deref(),
        &env,
    );
    let flags = Tls {
        ca_cert: c.ca_cert.clone(),
        ca_path: c.ca_path.clone(),
        client_cert: c.client_cert.clone(),
        client_key: c.client_key.clone(),
        server_name: c.tls_server_name.clone(),
        skip_verify: c.tls_skip_verify,
    };
    let tls = auth::tls(&flags, plan.vault.tls.as_ref(), plan.manifest_dir(), &env);
    if tls.skip_verify && address.starts_with("https:") {
        ui.warn("TLS certificate verification is off (skip_verify): anyone on the path can read the secrets");
    }
    let client = Client::new(&address, namespace.as_deref(), &tls)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))?;
    let deadline = c.timeout;
    let timed_out = || {
        FetchError::Timeout(VaultError::Timeout {
            seconds: deadline.as_secs_f64(),
        })
    };
    let fetched: Result<Fetched, Error> = runtime.block_on(async {
        let started = tokio::time::Instant::now();
        let revoke = match tokio::time::timeout(
            deadline,
            auth::authenticate(&client, &plan.vault.auth, plan.manifest_dir(), &env),
        )
        .await
        {
            Ok(result) => result?,
            Err(_) => return Err(timed_out().into()),
        };
        let left = deadline.saturating_sub(started.elapsed());
        let result =
            match tokio::time::timeout(left, fetch::fetch(plan, &client, c.concurrency.into()))
                .await
            {
                Ok(result) => result.map_err(Error::from),
                Err(_) => Err(timed_out().into()),
            };
        if revoke {
            // Best effort, briefly: the run's outcome is already decided.
            match tokio::time::timeout(Duration::from_secs(5), auth::revoke(&client)).await {
                Ok(Ok(())) => ui.detail("revoked the login token"),
                Ok(Err(e)) => ui.warn(&format!("could not revoke the login token: {e}")),
                Err(_) => ui.warn("could not revoke the login token: no answer within 5s"),
            }
        }
        result
    });
    let fetched = fetched?;
    for w in &fetched.warnings {
        ui.warn(&format!("Vault: {w}"));
    }
    for v in &fetched.vars {
        let version = v
            .version
            .map(|n| format!(" version {n}"))
            .unwrap_or_default();
        ui.detail(&format!("{} from {}{version}", v.name, v.path));
    }
    for (label, why) in &fetched.skipped {
        ui.detail(&format!("{label} skipped (optional): {why}"));
    }
    ui.detail(&format!(
        "{} HTTP requests to {}",
        client.requests(),
        client.address()
    ));
    Ok(fetched)
}

fn render_options(plan: &Plan) -> Options<'_> {
    Options {
        format: plan.output.format,
        readers: &plan.output.readers,
        export: plan.output.export,
        header: header(plan),
    }
}

/// `# Generated by kvenv from secrets.toml. Do not edit: run `kvenv sync`.` The manifest is named
/// relative to the output when they share a folder, so the header (and so the file) does not
/// depend on where kvenv was run from.
fn header(plan: &Plan) -> String {
    let out_dir = plan
        .output
        .path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let same_dir = std::fs::canonicalize(if out_dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        &out_dir
    })
    .ok()
    .zip(std::fs::canonicalize(plan.manifest_dir()).ok())
    .is_some_and(|(a, b)| a == b);
    let name: PathBuf = if same_dir {
        plan.manifest
            .file_name()
            .map(PathBuf::from)
            .unwrap_or_default()
    } else {
        plan.manifest.clone()
    };
    format!(
        "# Generated by kvenv from {}. Do not edit: run `kvenv sync` to update.",
        name.display()
    )
}

fn elapsed_ms(start: Instant) -> u128 {
    start.elapsed().as_millis()
}

fn sync(c: &Common) -> Result<u8, Error> {
    let start = Instant::now();
    let ui = Ui::of(c);
    let plan = load(c, false)?;
    let fetched = fetch_all(&plan, c, &ui)?;
    let bytes = render::render(&fetched.vars, &render_options(&plan))?;
    let path = &plan.output.path;
    let old = write::read_existing(&write::resolve_target(path)?)?;
    let changes = diff(old.as_deref(), plan.output.format, &fetched.vars);
    let outcome = write::write_atomic(path, &bytes, plan.output.mode)?;
    if plan.output.gitignore {
        if let gitignore::Outcome::Added(_) = gitignore::ensure_ignored(path)? {
            let shown = match path.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir.join(".gitignore"),
                _ => PathBuf::from(".gitignore"),
            };
            ui.info(&format!(
                "added /{} to {}",
                file_name(path),
                shown.display()
            ));
        }
        if gitignore::tracked_by_git(path) == Some(true) {
            ui.warn(&format!(
                "git already tracks {}, so ignoring it does not keep it out of commits; run `git rm --cached {}`",
                path.display(),
                path.display()
            ));
        }
    }
    match outcome {
        Outcome::Unchanged => ui.info(&format!("{} is up to date", path.display())),
        Outcome::Written => ui.info(&format!(
            "wrote {} ({} variables from {} secrets, {} changed) in {} ms",
            path.display(),
            fetched.vars.len(),
            fetched.reads,
            if changes.unreadable {
                fetched.vars.len()
            } else {
                changes.count()
            },
            elapsed_ms(start)
        )),
    }
    Ok(code::OK)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn check(c: &Common) -> Result<u8, Error> {
    let ui = Ui::of(c);
    let plan = load(c, false)?;
    let fetched = fetch_all(&plan, c, &ui)?;
    let bytes = render::render(&fetched.vars, &render_options(&plan))?;
    let path = &plan.output.path;
    let old = write::read_existing(&write::resolve_target(path)?)?;
    if old.as_deref() == Some(bytes.as_slice()) {
        ui.info(&format!("{} is up to date", path.display()));
        return Ok(code::OK);
    }
    match old {
        None => ui.info(&format!(
            "{} does not exist; a sync would write {} variables",
            path.display(),
            fetched.vars.len()
        )),
        Some(old) => ui.info(&format!(
            "{} would change: {}",
            path.display(),
            diff(Some(&old), plan.output.format, &fetched.vars).describe()
        )),
    }
    Ok(code::WOULD_CHANGE)
}

fn export(c: &Common) -> Result<u8, Error> {
    let ui = Ui::of(c);
    let plan = load(c, true)?;
    let fetched = fetch_all(&plan, c, &ui)?;
    let bytes = render::render(&fetched.vars, &render_options(&plan))?;
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(&bytes)
        .and_then(|()| out.flush())
        .map_err(|e| {
            Error::Usage(format!(
                "cannot write to stdout: {}",
                crate::error::io_reason(&e)
            ))
        })?;
    Ok(code::OK)
}

fn validate(c: &Common) -> Result<u8, Error> {
    let ui = Ui::of(c);
    let plan = load(c, false)?;
    let width = plan
        .entries
        .iter()
        .map(|e| e.label().len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for e in &plan.entries {
        let source = match &e.target {
            Target::Var { key, .. } => format!("{}#{key}", e.path),
            Target::Import { .. } => format!("{} (every key)", e.path),
        };
        let mut notes = Vec::new();
        if let Some(v) = e.version {
            notes.push(format!("version {v}"));
        }
        match &e.missing {
            OnMissing::Fail => {}
            OnMissing::Skip => notes.push("optional".into()),
            OnMissing::Default(_) => notes.push("has default".into()),
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!("  ({})", notes.join(", "))
        };
        out.push_str(&format!("{:width$}  {source}{notes}\n", e.label()));
    }
    print!("{out}");
    let mut paths: Vec<&str> = plan.entries.iter().map(|e| e.path.as_str()).collect();
    paths.sort_unstable();
    paths.dedup();
    ui.info(&format!(
        "{} is valid: {} entries, {} secrets, output {}",
        plan.manifest.display(),
        plan.entries.len(),
        paths.len(),
        plan.output.path.display()
    ));
    Ok(code::OK)
}
