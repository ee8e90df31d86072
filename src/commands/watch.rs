//! The long-running side of `run` and `sync`: read again every interval, renew the token and
//! the leases, and apply what changed to the command (restart) or the file (rewrite, `--exec`).
//!
//! One loop waits for whichever comes first: a signal, the command's end, the end of the work
//! in flight, or the next due time ([`crate::lifetime`]: renewals at two thirds of a TTL, the
//! poll interval, retries). Work that talks to Vault runs *beside* the loop, never in it, so a
//! server that hangs until the timeout does not hold up a `docker stop`.
//!
//! What stays true whatever the server does:
//! - **Failures keep the last good values.** The command keeps running, the file keeps its
//!   content; an outage is reported once when it starts and once when it ends, and retried with
//!   a doubling backoff, never less often than the interval. A failure never restarts the
//!   command.
//! - **Dynamic credentials are read once** and then renewed; they are read again only when
//!   their lease (or the login token they hang on) reaches its max TTL. Polls reuse them, so a
//!   watch does not open a lease per interval.
//! - **Leases end with the command** (`run`): revoked when it exits. `sync --watch` keeps the
//!   ones in the file when it stops (the file needs them), and revokes the ones it replaced.
//! - **Nothing that names a value is printed**: a restart names the variables that changed.

mod clocks;
mod work;

use std::cell::RefCell;
use std::time::{Duration, Instant};

use self::clocks::Held;
use self::work::{Outcome, bounded, perform, read};
use super::session::{Leases, Session, report};
use crate::assemble::Fetched;
use crate::child::{self, Child, Signals, Spec, terminal_sent};
use crate::cli::ConnectionArgs;
use crate::error::{Error, code};
use crate::lifetime::Backoff;
use crate::plan::Plan;
use crate::secret::Var;
use crate::ui::Ui;
use crate::vault::auth::{self, Method, Token};
use crate::vault::dynamic::Lease;
use crate::vault::kv::Read;
use crate::vault::{Client, VaultError};

/// Where the secrets go.
pub(super) enum Sink<'a> {
    /// `run`: the command, with the secrets in its environment.
    Child {
        spec: Spec,
        /// Keep variables already set in kvenv's environment (`--no-override`).
        no_override: bool,
    },
    /// `sync --watch`: the file, rewritten when it would change (`write` says whether it did),
    /// then `exec` run.
    File {
        write: Writer<'a>,
        exec: Option<String>,
        /// The Vault credentials, taken out of `exec`'s environment.
        remove: Vec<String>,
    },
}

/// Writes the file when it would change; says whether it did.
pub(super) type Writer<'a> = Box<dyn FnMut(&Fetched) -> Result<bool, Error> + 'a>;

/// How the loop runs.
pub(super) struct Options {
    /// Read again this often (`--watch`); `None`: only renew (a `run` with leases).
    pub interval: Option<Duration>,
    pub grace: Duration,
    pub restart_signal: i32,
}

/// Run `sink` until the command ends (`run`) or kvenv is told to stop (`sync --watch`).
pub(super) fn supervise(
    plan: &Plan,
    c: &ConnectionArgs,
    ui: &Ui,
    options: &Options,
    mut sink: Sink<'_>,
) -> Result<u8, Error> {
    let mut session = Session::open(plan, c, ui)?;
    let taken = RefCell::new(Vec::new());
    let mounts = RefCell::new(Vec::new());
    let ctx = Ctx {
        client: &session.client,
        login: &session.login,
        plan,
        concurrency: c.concurrency(),
        timeout: session.timeout,
        taken: &taken,
        mounts: &mounts,
    };
    let mut state = State::new(&session, options);
    let result = session.block_on(state.run(&ctx, ui, options, &mut sink));
    let mut leases: Vec<Lease> = state.held.drain(..).map(|h| h.lease).collect();
    leases.extend(taken.borrow_mut().drain(..));
    session.token = state.token;
    session.leases = leases;
    let keep = match (&sink, &result) {
        (Sink::File { .. }, Ok(_)) => Leases::Keep,
        _ => Leases::Revoke,
    };
    session.close(ui, keep);
    result
}

/// What the work beside the loop borrows.
struct Ctx<'a> {
    client: &'a Client,
    login: &'a auth::Login,
    plan: &'a Plan,
    concurrency: Option<usize>,
    timeout: Duration,
    /// Leases of the latest fresh dynamic reads, until the loop takes them: work that is
    /// dropped half-way (the command ended) still leaves its leases here to be revoked.
    taken: &'a RefCell<Vec<Lease>>,
    /// The mounts the last good read found (see [`work::read`]).
    mounts: &'a RefCell<Vec<crate::vault::kv::Mount>>,
}

struct State {
    /// What the command has (or the file holds): the last good values.
    vars: Vec<Var>,
    /// The dynamic reads' answers, reused by every poll until new credentials are due.
    dynamic: Vec<Result<Read, VaultError>>,
    held: Vec<Held>,
    token: Token,
    can_login: bool,
    renew_token_at: Option<Instant>,
    token_increment: Duration,
    login_at: Option<Instant>,
    refresh_at: Option<Instant>,
    next_poll: Option<Instant>,
    outage: Option<String>,
    backoff: Backoff,
    child: Option<Child>,
    warned: Vec<String>,
}

impl State {
    fn new(session: &Session, options: &Options) -> State {
        State {
            vars: Vec::new(),
            dynamic: Vec::new(),
            held: Vec::new(),
            token: session.token,
            can_login: !matches!(session.login.method, Method::Token(_)),
            renew_token_at: None,
            token_increment: Duration::ZERO,
            login_at: None,
            refresh_at: None,
            next_poll: None,
            outage: None,
            backoff: Backoff::new(options.interval.unwrap_or(Duration::from_secs(30))),
            child: None,
            warned: Vec::new(),
        }
    }

    async fn run(
        &mut self,
        ctx: &Ctx<'_>,
        ui: &Ui,
        options: &Options,
        sink: &mut Sink<'_>,
    ) -> Result<u8, Error> {
        let mut signals = Signals::catch()?;
        // The first read is a one-shot run's: its failure is the run's.
        let first = bounded(ctx, read(ctx, None)).await;
        let fetched = first.fetched?;
        report(&fetched, ui);
        self.dynamic = first.dynamic.unwrap_or_default();
        let now = Instant::now();
        self.take_leases(ctx, now);
        let life = match self.token.life {
            Some(life) => Some(life),
            None => tokio::time::timeout(ctx.timeout, auth::lookup_self(ctx.client))
                .await
                .ok()
                .and_then(Result::ok)
                .flatten(),
        };
        self.clock_token(life, now, ui);
        self.apply(fetched, ui, options, sink).await?;
        self.next_poll = options.interval.map(|i| now + i);

        let mut work: Option<std::pin::Pin<Box<dyn std::future::Future<Output = Outcome> + '_>>> =
            None;
        loop {
            let next = self.next_due();
            tokio::select! {
                sig = signals.next() => {
                    match &mut self.child {
                        Some(child) if !terminal_sent(sig) => child.signal(sig),
                        Some(_) => {}
                        // sync --watch: HUP reads now; INT, TERM and QUIT stop it.
                        None if sig == child::SIGHUP => self.next_poll = Some(Instant::now()),
                        None if matches!(sig, child::SIGINT | child::SIGTERM | child::SIGQUIT) => {
                            return Ok(code::OK);
                        }
                        None => {}
                    }
                }
                status = wait(&mut self.child) => {
                    return Ok(child::exit_code(status));
                }
                outcome = async { work.as_mut().expect("guarded").await }, if work.is_some() => {
                    work = None;
                    self.absorb(outcome, ctx, ui, options, sink).await?;
                }
                _ = sleep_until(next), if work.is_none() => {
                    let due = self.take_due(Instant::now(), options);
                    let cached = (!due.fresh).then(|| self.dynamic.clone());
                    work = Some(Box::pin(perform(ctx, due, cached)));
                }
            }
        }
    }

    /// Give the command (or the file) the values, if they changed.
    async fn apply(
        &mut self,
        fetched: Fetched,
        ui: &Ui,
        options: &Options,
        sink: &mut Sink<'_>,
    ) -> Result<(), Error> {
        match sink {
            Sink::Child { spec, no_override } => {
                let changed = changed_names(&self.vars, &fetched.vars);
                if self.child.is_some() && changed.is_empty() {
                    return Ok(());
                }
                crate::render::no_nul(&fetched.vars)?;
                if let Some(child) = &mut self.child {
                    ui.info(&format!(
                        "{} changed: restarting {}",
                        changed.join(", "),
                        spec.name()
                    ));
                    child.stop(options.restart_signal, options.grace).await;
                }
                spec.set = child::environment(&fetched.vars, *no_override);
                self.child = Some(Child::spawn(spec)?);
            }
            Sink::File {
                write,
                exec,
                remove,
            } => match write(&fetched) {
                Ok(true) => {
                    if let Some(cmd) = exec {
                        run_exec(cmd, remove, ui).await;
                    }
                }
                Ok(false) => {}
                // A failed write keeps the file as it was; the next poll tries again.
                Err(e) if !self.vars.is_empty() => {
                    ui.warn(&format!("{e}; the file keeps its last content"));
                    return Ok(());
                }
                Err(e) => return Err(e),
            },
        }
        self.vars = fetched.vars;
        Ok(())
    }

    /// A refresh failed: said once per distinct reason, until it works again.
    fn failed(&mut self, reason: &str, ui: &Ui) {
        if self.outage.as_deref() != Some(reason) {
            ui.warn(&format!(
                "cannot refresh the secrets: {reason}; keeping the last good values and retrying"
            ));
            self.outage = Some(reason.to_owned());
        }
    }

    fn recovered(&mut self, ui: &Ui) {
        if self.outage.take().is_some() {
            ui.info("Vault answers again; the secrets are current");
        }
        self.backoff.reset();
    }

    fn warn_once(&mut self, ui: &Ui, text: &str) {
        if !self.warned.iter().any(|w| w == text) {
            ui.warn(text);
            self.warned.push(text.to_owned());
        }
    }
}

/// The names whose values differ between `old` and `new` (added, changed or gone).
fn changed_names(old: &[Var], new: &[Var]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for v in new {
        if !old.iter().any(|o| o.name == v.name && o.value == v.value) {
            names.push(v.name.clone());
        }
    }
    for o in old {
        if !new.iter().any(|v| v.name == o.name) {
            names.push(o.name.clone());
        }
    }
    names
}

/// `--exec CMD` after a rewrite: `sh -c CMD`, waited for; a failure is reported, not fatal.
async fn run_exec(cmd: &str, remove: &[String], ui: &Ui) {
    let mut command = tokio::process::Command::new("sh");
    command.arg("-c").arg(cmd);
    for name in remove {
        command.env_remove(name);
    }
    match command.status().await {
        Ok(status) if status.success() => ui.detail(&format!("ran {cmd}")),
        Ok(status) => ui.warn(&format!(
            "--exec {cmd} exited with {}",
            child::exit_code(status)
        )),
        Err(e) => ui.warn(&format!(
            "--exec {cmd} could not start: {}",
            crate::error::io_reason(&e)
        )),
    }
}

/// The command's end, or never when there is none.
async fn wait(child: &mut Option<Child>) -> std::process::ExitStatus {
    match child {
        Some(c) => c.wait().await,
        None => std::future::pending().await,
    }
}

/// Sleep until `at`, or forever when nothing is due.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restart_names_what_changed_and_nothing_else() {
        let old = [
            Var::new("A", "1", "p"),
            Var::new("B", "2", "p"),
            Var::new("C", "3", "p"),
        ];
        let new = [
            Var::new("A", "1", "p"),
            Var::new("B", "x", "p"),
            Var::new("D", "4", "p"),
        ];
        assert_eq!(changed_names(&old, &new), ["B", "D", "C"]);
        assert!(changed_names(&old, &old).is_empty());
    }
}
