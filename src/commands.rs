//! The commands, each the pipeline manifest → plan → fetch → render → write, cut where the
//! command needs it. All human-facing output goes to stderr; stdout carries only what a command
//! is asked to print (export, validate).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::cli::{Command, Common};
use crate::diff::diff;
use crate::error::{Error, code};
use crate::fetch::{self, FetchError, Fetched};
use crate::plan::{OnMissing, Overrides, Plan, Target, find_mount};
use crate::render::{self, Format};
use crate::ui::{self, Ui};
use crate::vault::client::Tls;
use crate::vault::kv::Mount;
use crate::vault::{Client, VaultError, auth};
use crate::write::{self, Outcome};
use crate::{gitignore, render::Options};

/// Run one command; the `Ok` value is the exit code.
pub fn run(command: Command) -> Result<u8, Error> {
    match command {
        Command::Sync(c) => sync(&c),
        Command::Check { common, json } => check(&common, json),
        Command::Export { common } => export(&common),
        Command::Run {
            common,
            keep_vault_env,
            no_override,
            command,
        } => run_command(&common, keep_vault_env, no_override, &command),
        Command::Validate { common, json } => validate(&common, json),
        Command::Policy { common, push } => policy(&common, push),
        Command::Push {
            common,
            from,
            apply,
            overwrite,
        } => push(&common, from.as_deref(), apply, overwrite),
        Command::Init {
            manifest,
            from,
            project,
            env,
            mount,
            readers,
        } => init(&manifest, from.as_deref(), project, &env, &mount, &readers),
        Command::Completions { shell } => {
            let mut cmd = <crate::cli::Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "kvenv", &mut script);
            ui::stdout(&script)?;
            Ok(code::OK)
        }
        Command::Man { out_dir: None } => {
            ui::stdout(&crate::man::top_page())?;
            Ok(code::OK)
        }
        Command::Man { out_dir: Some(dir) } => {
            for path in crate::man::write_all(&dir)? {
                ui::line(&path.display().to_string());
            }
            Ok(code::OK)
        }
    }
}

impl Ui {
    fn of(c: &Common) -> Ui {
        Ui {
            quiet: c.quiet,
            verbose: c.verbose,
        }
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

/// A connection to Vault for one run: the client, a single-threaded runtime (the work is
/// waiting on the network, and one thread starts faster than a pool), the run's deadline, and
/// whether the token came from a login that must be revoked when the run ends.
struct Session {
    runtime: tokio::runtime::Runtime,
    client: Client,
    deadline: Instant,
    timeout: Duration,
    revoke: bool,
}

impl Session {
    /// Build the client and log in (or take the token), within the deadline.
    fn open(plan: &Plan, c: &Common, ui: &Ui) -> Result<Session, Error> {
        let deadline = Instant::now() + c.timeout;
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
        client.set_deadline(deadline);
        client.set_max_response(c.max_response);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))?;
        let mut session = Session {
            runtime,
            client,
            deadline,
            timeout: c.timeout,
            revoke: false,
        };
        session.revoke = session.within(auth::authenticate(
            &session.client,
            &plan.vault.auth,
            plan.manifest_dir(),
            &env,
        ))?;
        Ok(session)
    }

    /// Run `work` to completion or until the run's deadline.
    fn within<T, E: Into<Error>>(
        &self,
        work: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, Error> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        self.runtime
            .block_on(async { tokio::time::timeout(left, work).await })
            .map_err(|_| {
                Error::from(FetchError::Timeout(VaultError::Timeout {
                    seconds: self.timeout.as_secs_f64(),
                }))
            })?
            .map_err(Into::into)
    }

    /// Revoke a login token (best effort, briefly: the run's outcome is already decided).
    fn close(self, ui: &Ui) {
        ui.detail(&format!(
            "{} HTTP requests to {}",
            self.client.requests(),
            self.client.address()
        ));
        if !self.revoke {
            return;
        }
        let outcome = self.runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(5), auth::revoke(&self.client)).await
        });
        match outcome {
            Ok(Ok(())) => ui.detail("revoked the login token"),
            Ok(Err(e)) => ui.warn(&format!("could not revoke the login token: {e}")),
            Err(_) => ui.warn("could not revoke the login token: no answer within 5s"),
        }
    }
}

/// Fetch everything the plan names, and report what was fetched at the verbosity asked for.
fn fetch_all(plan: &Plan, c: &Common, ui: &Ui) -> Result<Fetched, Error> {
    let session = Session::open(plan, c, ui)?;
    let result = session.within(fetch::fetch(
        plan,
        &session.client,
        c.concurrency.map(usize::from),
    ));
    if let Ok(fetched) = &result {
        for w in &fetched.warnings {
            ui.warn(&format!("Vault: {w}"));
        }
        for v in &fetched.vars {
            if v.default {
                ui.detail(&format!("{}: default", v.name));
                continue;
            }
            let version = v
                .version
                .map(|n| format!(" version {n}"))
                .unwrap_or_default();
            ui.detail(&format!("{} from {}{version}", v.name, v.path));
        }
        for (label, why) in &fetched.skipped {
            ui.detail(&format!("{label} skipped (optional): {why}"));
        }
    }
    session.close(ui);
    result
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

/// What sync and check share: the new content, the file's current content, and the difference.
struct Prepared {
    plan: Plan,
    fetched: Fetched,
    bytes: Vec<u8>,
    old: Option<Vec<u8>>,
    /// The existing file's permission bits, when there is one.
    mode: Option<u32>,
    changes: crate::diff::Diff,
}

fn prepare(c: &Common, ui: &Ui) -> Result<Prepared, Error> {
    let plan = load(c, false)?;
    // Before any request: a run that cannot write its output should not read a single secret.
    let target = output_target(&plan)?;
    let fetched = fetch_all(&plan, c, ui)?;
    let bytes = render::render(&fetched.vars, &render_options(&plan))?;
    let old = write::read_existing(&target)?;
    let mode = old.as_ref().and_then(|_| write::existing_mode(&target));
    let changes = diff(old.as_deref(), plan.output.format, &fetched.vars);
    Ok(Prepared {
        plan,
        fetched,
        bytes,
        old,
        mode,
        changes,
    })
}

/// The file the output path finally names, checked: a regular file or nothing yet (exit 6
/// otherwise), and not one kvenv must never overwrite (exit 2): the manifest, a `.gitignore`,
/// anything under `.git/`.
fn output_target(plan: &Plan) -> Result<PathBuf, Error> {
    let target = write::writable_target(&plan.output.path)?;
    if let Some(why) = write::forbidden_output(&plan.output.path, &target, &plan.manifest) {
        return Err(Error::Usage(format!(
            "output {}: {why}; choose another [output] path or --output",
            plan.output.path.display()
        )));
    }
    Ok(target)
}

fn sync(c: &Common) -> Result<u8, Error> {
    let start = Instant::now();
    let ui = Ui::of(c);
    let Prepared {
        plan,
        fetched,
        bytes,
        changes,
        ..
    } = prepare(c, &ui)?;
    let path = &plan.output.path;
    let staged = write::stage(path, &bytes, plan.output.mode)?;
    // The rule goes in before the secrets do: a run that cannot keep the file out of git does
    // not replace it.
    if plan.output.gitignore {
        for added in gitignore::ensure_ignored(path)? {
            let why = if added.for_link_target {
                format!(" ({} links to that file)", path.display())
            } else {
                String::new()
            };
            ui.info(&format!(
                "added {} to {}{why}",
                added.rule,
                added.gitignore.display()
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
    match staged.commit()? {
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

fn check(c: &Common, json: bool) -> Result<u8, Error> {
    let ui = Ui::of(c);
    let Prepared {
        plan,
        fetched,
        bytes,
        old,
        mode,
        changes,
    } = prepare(c, &ui)?;
    let path = &plan.output.path;
    let same_bytes = old.as_deref() == Some(bytes.as_slice());
    // A sync would fix the mode too (a 0644 .env is readable by every user of the machine).
    let mode_change = mode.filter(|m| *m != plan.output.mode);
    let up_to_date = same_bytes && mode_change.is_none();
    if json {
        let mut variables: Vec<serde_json::Value> = fetched
            .vars
            .iter()
            .map(|v| {
                let status = if changes.added.contains(&v.name) || changes.unreadable {
                    "added"
                } else if changes.changed.contains(&v.name) {
                    "changed"
                } else {
                    "same"
                };
                serde_json::json!({ "name": v.name, "status": status, "path": v.path, "version": v.version })
            })
            .collect();
        variables.extend(changes.removed.iter().map(|name| {
            serde_json::json!({ "name": name, "status": "removed", "path": null, "version": null })
        }));
        let report = serde_json::json!({
            "up_to_date": up_to_date,
            "path": path.display().to_string(),
            "mode": mode_change.map(|m| serde_json::json!({
                "from": format!("{m:04o}"),
                "to": format!("{:04o}", plan.output.mode),
            })),
            "variables": variables,
        });
        ui::stdout(format!("{report}\n").as_bytes())?;
    } else if up_to_date {
        ui.info(&format!("{} is up to date", path.display()));
    } else if old.is_none() {
        ui.info(&format!(
            "{} does not exist; a sync would write {} variables",
            path.display(),
            fetched.vars.len()
        ));
    } else {
        let mut what = Vec::new();
        if !same_bytes {
            what.push(changes.describe());
        }
        if let Some(m) = mode_change {
            what.push(format!("mode {m:04o} -> {:04o}", plan.output.mode));
        }
        ui.info(&format!(
            "{} would change: {}",
            path.display(),
            what.join("; ")
        ));
    }
    Ok(if up_to_date {
        code::OK
    } else {
        code::WOULD_CHANGE
    })
}

/// Fetch, then replace this process with the command, the secrets in its environment: signals
/// and the exit status are then the command's own, with no kvenv in between.
fn run_command(
    c: &Common,
    keep_vault_env: bool,
    no_override: bool,
    command: &[std::ffi::OsString],
) -> Result<u8, Error> {
    use std::os::unix::process::CommandExt;
    let ui = Ui::of(c);
    let plan = load(c, false)?;
    let fetched = fetch_all(&plan, c, &ui)?;
    render::no_nul(&fetched.vars)?;
    let (program, args) = command
        .split_first()
        .ok_or_else(|| Error::Usage("no command given after --".into()))?;
    let mut cmd = std::process::Command::new(program);
    cmd.args(args);
    if !keep_vault_env {
        for name in auth::credential_variables(&plan.vault.auth) {
            cmd.env_remove(name);
        }
    }
    for v in &fetched.vars {
        if no_override && std::env::var_os(&v.name).is_some() {
            continue;
        }
        cmd.env(&v.name, v.value.expose());
    }
    let e = cmd.exec();
    Err(Error::Exec {
        command: program.to_string_lossy().into_owned(),
        reason: crate::error::io_reason(&e),
        code: if e.kind() == std::io::ErrorKind::NotFound {
            127
        } else {
            126
        },
    })
}

fn policy(c: &Common, push: bool) -> Result<u8, Error> {
    let ui = Ui::of(c);
    let plan = load(c, false)?;
    let paths = distinct_paths(&plan);
    let mounts = if paths
        .iter()
        .all(|p| find_mount(&plan.vault.mounts, p).is_some())
    {
        // Every mount is declared: no server needed.
        declared_mounts(&plan, &paths)
    } else {
        let session = Session::open(&plan, c, &ui)?;
        let result = session.within(resolve_all(&plan, &session.client, &paths, c));
        session.close(&ui);
        result?
    };
    let hcl = crate::policy::render(&plan, &mounts, push).map_err(Error::Usage)?;
    ui::stdout(hcl.as_bytes())?;
    Ok(code::OK)
}

fn distinct_paths(plan: &Plan) -> Vec<&str> {
    let mut paths: Vec<&str> = Vec::new();
    for e in &plan.entries {
        if !paths.contains(&e.path.as_str()) {
            paths.push(&e.path);
        }
    }
    paths
}

fn declared_mounts<'p>(plan: &Plan, paths: &[&'p str]) -> HashMap<&'p str, Mount> {
    paths
        .iter()
        .filter_map(|p| {
            find_mount(&plan.vault.mounts, p).map(|d| {
                (
                    *p,
                    Mount {
                        path: d.path.clone(),
                        version: d.version,
                        declared: true,
                    },
                )
            })
        })
        .collect()
}

/// Every path's mount, or the first lookup error in manifest order.
async fn resolve_all<'p>(
    plan: &Plan,
    client: &Client,
    paths: &[&'p str],
    c: &Common,
) -> Result<HashMap<&'p str, Mount>, Error> {
    let resolved = fetch::resolve_mounts(plan, client, paths, c.concurrency.map(usize::from)).await;
    for e in &plan.entries {
        if let Some(Err(err)) = resolved.get(e.path.as_str()) {
            return Err(FetchError::Vault {
                at: fetch::At::of(e),
                source: err.clone(),
            }
            .into());
        }
    }
    Ok(resolved
        .into_iter()
        .filter_map(|(p, r)| r.ok().map(|m| (p, m)))
        .collect())
}

fn push(c: &Common, from: Option<&Path>, apply: bool, overwrite: bool) -> Result<u8, Error> {
    let ui = Ui::of(c);
    let plan = load(c, false)?;
    let file = from
        .map(Path::to_path_buf)
        .unwrap_or_else(|| plan.output.path.clone());
    let values: HashMap<String, String> =
        read_hand_kept(&file, &plan.output.readers, "[output] readers, --reader")?
            .into_iter()
            .collect();
    let shown = file.display().to_string();
    let session = Session::open(&plan, c, &ui)?;
    let result = session.within(async {
        let paths: Vec<&str> = plan
            .entries
            .iter()
            .filter(|e| matches!(&e.target, Target::Var { name, .. } if values.contains_key(name)) && e.version.is_none())
            .map(|e| e.path.as_str())
            .collect();
        let mounts = resolve_all(&plan, &session.client, &paths, c).await?;
        let steps = crate::push::plan(&plan, &session.client, &mounts, &values, &shown).await?;
        let mut out = String::new();
        let width = steps.steps.iter().map(|s| s.name.len()).chain(steps.skipped.iter().map(|s| s.0.len())).max().unwrap_or(0);
        let (mut create, mut update, mut same) = (0, 0, 0);
        for s in &steps.steps {
            let (word, note) = match s.action {
                crate::push::Action::Create => { create += 1; ("create", "") }
                crate::push::Action::Update => {
                    update += 1;
                    ("update", if overwrite { "" } else { "  (differs; needs --overwrite)" })
                }
                crate::push::Action::Same => { same += 1; ("same  ", "") }
            };
            out.push_str(&format!("{word}  {:width$}  {}#{}{note}\n", s.name, s.path, s.key));
        }
        for (label, why) in &steps.skipped {
            out.push_str(&format!("skip    {label:width$}  ({why})\n"));
        }
        ui::stdout(out.as_bytes())?;
        if !apply {
            ui.info(&format!(
                "dry run: {create} to create, {update} to update, {same} unchanged; run with --apply to write"
            ));
            return Ok::<u8, Error>(code::OK);
        }
        let written = crate::push::apply(steps, &session.client, &mounts, &values, overwrite).await?;
        ui.info(&format!(
            "pushed {} values to {written} secrets ({same} unchanged)",
            create + update
        ));
        Ok(code::OK)
    });
    session.close(&ui);
    result
}

/// A `.env` that kvenv did not write (for `push` and `init --from`): a regular file, bounded,
/// read the way `readers` read it (see [`crate::envfile`]). `where_readers` says where the user
/// names the readers, for the message of a line they read differently.
fn read_hand_kept(
    file: &Path,
    readers: &[render::Reader],
    where_readers: &str,
) -> Result<Vec<(String, String)>, Error> {
    let unreadable =
        |reason: String| Error::Usage(format!("cannot read {}: {reason}", file.display()));
    let text = crate::files::read_text(file, crate::files::LIMIT)
        .map_err(|e| unreadable(crate::error::io_reason(&e)))?
        .ok_or_else(|| unreadable("no such file or directory".into()))?;
    crate::envfile::parse(&text, readers).map_err(|e| {
        Error::Usage(format!(
            "{}:{}: {e}; fix the line, or name the programs that read the file ({where_readers})",
            file.display(),
            e.line
        ))
    })
}

/// A starter manifest: each variable of `from` (or an example) at
/// `kv/{project}/{env}/<lower_snake_name>`, the seed script's convention. `from` is read the way
/// `readers` read it (the default readers when none are given); readers other than the default
/// go into `[output] readers`.
fn init(
    manifest: &Path,
    from: Option<&Path>,
    project: Option<String>,
    env: &str,
    mount: &str,
    readers: &[render::Reader],
) -> Result<u8, Error> {
    let mut chosen: Vec<render::Reader> = Vec::new();
    for r in readers {
        if !chosen.contains(r) {
            chosen.push(*r);
        }
    }
    if chosen.is_empty() {
        chosen = render::Reader::DEFAULT.to_vec();
    }
    if manifest.exists() {
        return Err(Error::Usage(format!(
            "{} already exists; kvenv init does not overwrite it",
            manifest.display()
        )));
    }
    let project = project.unwrap_or_else(|| {
        std::env::current_dir()
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "app".into())
    });
    let mount = mount.trim_matches('/');
    let names: Vec<String> = match from {
        Some(file) => read_hand_kept(file, &chosen, "--reader")?
            .into_iter()
            .map(|(name, _)| name)
            .collect(),
        None => vec!["DATABASE_URL".into(), "SECRET_KEY".into()],
    };
    let quote = |s: &str| toml::Value::String(s.to_owned()).to_string();
    let mut text = String::from(
        "# secrets.toml: which Vault secrets become which environment variables.\n\
         # `kvenv sync` writes them to .env; `kvenv validate` checks this file offline.\n\n\
         [vault]\n\
         # address = \"https://vault.example.com:8200\"   # or BAO_ADDR / VAULT_ADDR\n\n",
    );
    text.push_str(&format!(
        "[vars]                  # {{placeholders}} in paths; override with --var env=prod\nproject = {}\nenv = {}\n\n",
        quote(&project),
        quote(env)
    ));
    text.push_str("[output]\npath = \".env\"\n");
    if chosen != render::Reader::DEFAULT {
        let names: Vec<String> = chosen.iter().map(|r| quote(r.name())).collect();
        text.push_str(&format!("readers = [{}]\n", names.join(", ")));
    }
    text.push_str("\n[secrets]\n");
    let width = names.iter().map(String::len).max().unwrap_or(0);
    for name in &names {
        let path = format!("{mount}/{{project}}/{{env}}/{}", name.to_lowercase());
        text.push_str(&format!("{name:width$} = {}\n", quote(&path)));
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(manifest)
        .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
        .map_err(|e| crate::write::WriteError::write(manifest, crate::error::io_reason(&e)))?;
    ui::line(&format!(
        "wrote {} ({} variables); check it with `kvenv validate`",
        manifest.display(),
        names.len()
    ));
    Ok(code::OK)
}

fn export(c: &Common) -> Result<u8, Error> {
    let ui = Ui::of(c);
    let plan = load(c, true)?;
    if plan.output.format == Format::Github {
        return export_github(&plan, c, &ui);
    }
    let fetched = fetch_all(&plan, c, &ui)?;
    let bytes = render::render(&fetched.vars, &render_options(&plan))?;
    ui::stdout(&bytes)?;
    Ok(code::OK)
}

/// GitHub Actions: masks on stdout (where the runner reads workflow commands), then the
/// variables appended to the `$GITHUB_ENV` file (where it reads them after the step); see
/// [`render::github`].
fn export_github(plan: &Plan, c: &Common, ui: &Ui) -> Result<u8, Error> {
    let env_file = auth::process_env("GITHUB_ENV").ok_or_else(|| {
        Error::Usage(
            "--format github appends to the file named by $GITHUB_ENV, which is not set: run it in a GitHub Actions step (elsewhere, use --format dotenv, shell or json)"
                .into(),
        )
    })?;
    if ui::stdout_is(Path::new(&env_file)) {
        // The old one-liner `kvenv export --format github >> "$GITHUB_ENV"`: the masks would
        // land in the env file, where the runner rejects them and prints the secret.
        return Err(Error::Usage(
            "stdout is the $GITHUB_ENV file: run `kvenv export --format github` without `>> \"$GITHUB_ENV\"`; kvenv appends the variables to it itself and prints only the masks".into(),
        ));
    }
    let fetched = fetch_all(plan, c, ui)?;
    let os = render::github::RunnerOs::from_env(auth::process_env("RUNNER_OS").as_deref());
    let out = render::github::render(&fetched.vars, os)?;
    ui::stdout(out.masks.as_bytes())?;
    write::append(Path::new(&env_file), out.env.as_bytes())?;
    ui.info(&format!(
        "added {} variables to $GITHUB_ENV ({} masked in the log)",
        fetched.vars.len(),
        out.masked
    ));
    Ok(code::OK)
}

fn validate(c: &Common, json: bool) -> Result<u8, Error> {
    let ui = Ui::of(c);
    let plan = load(c, false)?;
    if json {
        let mut text = crate::plan_json::plan_json(&plan).to_string();
        text.push('\n');
        ui::stdout(text.as_bytes())?;
        return Ok(code::OK);
    }
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
    ui::stdout(out.as_bytes())?;
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
