//! The command `kvenv run` supervises when it must stay (a watch, or leases to renew and revoke):
//! starting it with the secrets in its environment, passing signals on, stopping it for a
//! restart, and its exit status as kvenv's.
//!
//! Without a watch or a lease, `run` replaces itself with the command (exec) and none of this
//! applies. Here kvenv is the parent, so:
//!
//! - **The child stays in kvenv's process group**, as an exec'd command would be: it keeps the
//!   terminal (an interactive `psql` under `kvenv run` reads its prompt), and a terminal's
//!   Ctrl-C reaches it directly.
//! - **Signals sent to kvenv are passed on** (INT, TERM, HUP, QUIT, USR1, USR2), so `kill`,
//!   `docker stop` and systemd reach the command. When kvenv's stdin is a terminal, INT and
//!   QUIT are not passed on: the terminal already sent them to the whole foreground group, and
//!   a second Ctrl-C makes many programs quit without cleaning up.
//! - **A restart** sends the restart signal (TERM unless `--restart-signal`), waits the grace
//!   period, then kills. A command that wraps another (`sh -c`, `npm start`) must pass the
//!   signal on or `exec`: only the child itself is signalled.
//! - **The child dies with kvenv** on Linux (`PR_SET_PDEATHSIG`): a kvenv killed outright does
//!   not leave the command running on credentials nobody renews.

use std::ffi::OsString;
use std::process::ExitStatus;
use std::time::Duration;

use crate::error::{Error, io_reason};
use crate::secret::{Secret, Var};

#[cfg(unix)]
pub use libc::{SIGHUP, SIGINT, SIGKILL, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};

/// The POSIX numbers, for the flags and messages; Windows has none of these signals (see
/// [`Child::signal`]).
#[cfg(not(unix))]
mod numbers {
    pub const SIGHUP: i32 = 1;
    pub const SIGINT: i32 = 2;
    pub const SIGQUIT: i32 = 3;
    pub const SIGKILL: i32 = 9;
    pub const SIGUSR1: i32 = 10;
    pub const SIGUSR2: i32 = 12;
    pub const SIGTERM: i32 = 15;
}
#[cfg(not(unix))]
pub use numbers::*;

/// What to start: the command, and its environment's changes.
#[derive(Debug, Clone)]
pub struct Spec {
    pub program: OsString,
    pub args: Vec<OsString>,
    /// Variables taken out of kvenv's environment (the Vault credentials).
    pub remove: Vec<String>,
    /// Variables set: the secrets.
    pub set: Vec<(String, Secret)>,
}

impl Spec {
    /// `program` with its arguments and its environment changed: what `run` execs, and what
    /// [`Child::spawn`] starts.
    pub fn command(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(&self.program);
        cmd.args(&self.args);
        for name in &self.remove {
            cmd.env_remove(name);
        }
        for (name, value) in &self.set {
            cmd.env(name, value.expose());
        }
        cmd
    }

    /// Why the command could not be started: exit 127 when it is not found, else 126, as a
    /// shell reports it.
    pub fn not_started(&self, e: &std::io::Error) -> Error {
        Error::Exec {
            command: self.program.to_string_lossy().into_owned(),
            reason: io_reason(e),
            code: if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            },
        }
    }

    /// The command as messages name it: its program's file name.
    pub fn name(&self) -> String {
        std::path::Path::new(&self.program)
            .file_name()
            .unwrap_or(self.program.as_os_str())
            .to_string_lossy()
            .into_owned()
    }
}

/// The variables to set in the command's environment: every secret, except (with
/// `--no-override`) those already set in kvenv's own.
pub fn environment(vars: &[Var], no_override: bool) -> Vec<(String, Secret)> {
    vars.iter()
        .filter(|v| !(no_override && std::env::var_os(&v.name).is_some()))
        .map(|v| (v.name.clone(), v.value.clone()))
        .collect()
}

/// A running command.
pub struct Child {
    inner: tokio::process::Child,
    #[cfg(unix)]
    pid: i32,
}

impl Child {
    /// Start `spec` ([`Spec::not_started`] if it cannot be).
    pub fn spawn(spec: &Spec) -> Result<Child, Error> {
        let mut cmd = tokio::process::Command::from(spec.command());
        #[cfg(target_os = "linux")]
        // SAFETY: prctl is async-signal-safe and touches only the child's own state.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let inner = cmd.spawn().map_err(|e| spec.not_started(&e))?;
        Ok(Child {
            #[cfg(unix)]
            pid: inner.id().map(|p| p as i32).unwrap_or(0),
            inner,
        })
    }

    /// Send `sig` to the command (nothing once it has ended). On Windows, which has no
    /// signals, `TERM`, `KILL` (a restart) end it with `TerminateProcess`, and the others do
    /// nothing.
    pub fn signal(&mut self, sig: i32) {
        #[cfg(unix)]
        if self.pid > 0 {
            // SAFETY: kill(2) on the child's own pid; it is not reaped (and the pid not reused)
            // until `wait` returns.
            unsafe {
                libc::kill(self.pid, sig);
            }
        }
        #[cfg(not(unix))]
        if matches!(sig, SIGTERM | SIGKILL) {
            let _ = self.inner.start_kill();
        }
    }

    /// Wait for the command to end.
    pub async fn wait(&mut self) -> ExitStatus {
        match self.inner.wait().await {
            Ok(status) => status,
            // Waiting on our own child cannot fail but by a kernel bug; report it as killed.
            #[cfg(unix)]
            Err(_) => std::os::unix::process::ExitStatusExt::from_raw(SIGKILL),
            #[cfg(windows)]
            Err(_) => std::os::windows::process::ExitStatusExt::from_raw(1),
        }
    }

    /// Stop the command: `sig`, then SIGKILL if it has not ended after `grace`.
    pub async fn stop(&mut self, sig: i32, grace: Duration) -> ExitStatus {
        self.signal(sig);
        match tokio::time::timeout(grace, self.inner.wait()).await {
            Ok(Ok(status)) => status,
            _ => {
                self.signal(SIGKILL);
                self.wait().await
            }
        }
    }
}

/// An exit status as a shell reports it: the code, or 128 + the signal that killed it.
pub fn exit_code(status: ExitStatus) -> u8 {
    #[cfg(unix)]
    let signal = std::os::unix::process::ExitStatusExt::signal(&status);
    #[cfg(not(unix))]
    let signal: Option<i32> = None;
    match (status.code(), signal) {
        (Some(code), _) => code as u8,
        (None, Some(sig)) => 128u8.saturating_add(sig as u8),
        (None, None) => 1,
    }
}

/// The signals passed on to the child, as one stream.
pub struct Signals {
    #[cfg(unix)]
    streams: Vec<(i32, tokio::signal::unix::Signal)>,
    #[cfg(windows)]
    ctrl_c: tokio::signal::windows::CtrlC,
}

/// The signals `kvenv run` passes on.
#[cfg(unix)]
pub const FORWARDED: [i32; 6] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2];

impl Signals {
    /// Catch every forwarded signal from now on (their default actions would end kvenv); on
    /// Windows, Ctrl-C.
    pub fn catch() -> Result<Signals, Error> {
        let failed =
            |e: std::io::Error| Error::Usage(format!("cannot catch signals: {}", io_reason(&e)));
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let mut streams = Vec::new();
            for sig in FORWARDED {
                streams.push((sig, signal(SignalKind::from_raw(sig)).map_err(failed)?));
            }
            Ok(Signals { streams })
        }
        #[cfg(windows)]
        {
            Ok(Signals {
                ctrl_c: tokio::signal::windows::ctrl_c().map_err(failed)?,
            })
        }
    }

    /// The next signal received.
    pub async fn next(&mut self) -> i32 {
        #[cfg(unix)]
        {
            let waits = self.streams.iter_mut().map(|(sig, stream)| {
                let sig = *sig;
                Box::pin(async move {
                    stream.recv().await;
                    sig
                })
            });
            futures_util::future::select_all(waits).await.0
        }
        #[cfg(windows)]
        {
            self.ctrl_c.recv().await;
            SIGINT
        }
    }
}

/// Whether the terminal already delivered `sig` to the child: INT and QUIT come from the
/// keyboard to the whole foreground process group when stdin is a terminal.
pub fn terminal_sent(sig: i32) -> bool {
    use std::io::IsTerminal;
    matches!(sig, SIGINT | SIGQUIT) && (cfg!(windows) || std::io::stdin().is_terminal())
}

/// A signal by name (`TERM`, `SIGTERM`, `hup`, or its number), for `--restart-signal`.
pub fn parse_signal(s: &str) -> Result<i32, String> {
    let upper = s.trim().to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    let sig = match name {
        "TERM" => SIGTERM,
        "INT" => SIGINT,
        "HUP" => SIGHUP,
        "QUIT" => SIGQUIT,
        "USR1" => SIGUSR1,
        "USR2" => SIGUSR2,
        "KILL" => SIGKILL,
        other => match other.parse::<i32>() {
            Ok(n) if (1..=31).contains(&n) => n,
            _ => {
                return Err(format!(
                    "{s:?} is not a signal: use TERM, INT, HUP, QUIT, USR1, USR2, KILL or a number"
                ));
            }
        },
    };
    Ok(sig)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_by_name_or_number() {
        assert_eq!(parse_signal("TERM"), Ok(SIGTERM));
        assert_eq!(parse_signal("sighup"), Ok(SIGHUP));
        assert_eq!(parse_signal("10"), Ok(10));
        assert!(parse_signal("STOP").is_err());
        assert!(parse_signal("0").is_err());
    }

    #[test]
    fn exit_codes_as_a_shell_reports_them() {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(exit_code(ExitStatus::from_raw(3 << 8)), 3);
        assert_eq!(exit_code(ExitStatus::from_raw(SIGTERM)), 143);
    }
}
