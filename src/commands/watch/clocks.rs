//! The clocks of a watch: when the token and each lease are renewed, when new credentials
//! are due, and what each answer means for them (see [`crate::lifetime`]).

use std::time::{Duration, Instant};

use super::work::{Outcome, Polled, revoke};
use super::{Ctx, Options, Sink, State};
use crate::error::Error;
use crate::lifetime::{capped, due};
use crate::ui::{Ui, duration};
use crate::vault::VaultError;
use crate::vault::auth::Life;
use crate::vault::dynamic::Lease;

/// A lease kvenv holds, and its clock.
pub(super) struct Held {
    pub(super) lease: Lease,
    /// When to renew it next; `None` once it cannot be renewed further.
    pub(super) renew_at: Option<Instant>,
    /// What a renewal asks for: the duration first granted.
    pub(super) increment: Duration,
    /// Whether its end (max TTL, or not renewable) has been reported.
    pub(super) reported: bool,
}

impl Held {
    pub(super) fn new(lease: Lease, now: Instant) -> Held {
        let renewable = lease.renewable && !lease.duration.is_zero();
        Held {
            renew_at: renewable.then(|| due(now, lease.duration)),
            increment: lease.duration,
            reported: false,
            lease,
        }
    }
}

/// What is due now.
#[derive(Debug, Default)]
pub(super) struct Due {
    pub(super) renew_token: Option<Duration>,
    pub(super) login: bool,
    pub(super) renew: Vec<(usize, Lease, Duration)>,
    pub(super) poll: bool,
    /// Read the dynamic secrets again (new credentials).
    pub(super) fresh: bool,
}

impl State {
    /// Hold the leases of the latest fresh read, and plan when their credentials are replaced.
    pub(super) fn take_leases(&mut self, ctx: &Ctx<'_>, now: Instant) {
        self.held = ctx
            .taken
            .borrow_mut()
            .drain(..)
            .map(|l| Held::new(l, now))
            .collect();
        self.refresh_at = self
            .held
            .iter()
            .filter(|h| h.renew_at.is_none() && !h.lease.duration.is_zero())
            .map(|h| due(now, h.lease.duration))
            .min();
    }

    /// Plan the token's renewal (or the next login) from what it has left.
    pub(super) fn clock_token(&mut self, life: Option<Life>, now: Instant, ui: &Ui) {
        self.renew_token_at = None;
        self.login_at = None;
        let Some(life) = life.filter(|l| !l.ttl.is_zero()) else {
            return;
        };
        if life.renewable {
            self.token_increment = life.ttl;
            self.renew_token_at = Some(due(now, life.ttl));
        } else {
            self.token_ends(life.ttl, now, ui);
        }
    }

    /// The token cannot be renewed past `left` from now: log in again before, or say when it
    /// ends.
    fn token_ends(&mut self, left: Duration, now: Instant, ui: &Ui) {
        self.renew_token_at = None;
        if self.can_login {
            self.login_at = Some(due(now, left));
        } else {
            self.warn_once(
                ui,
                &format!(
                    "the Vault token expires in {} and cannot be renewed further; give kvenv a new one before then, or log in with [vault.auth]",
                    duration(left)
                ),
            );
        }
    }

    pub(super) fn next_due(&self) -> Option<Instant> {
        let leases = self.held.iter().filter_map(|h| h.renew_at);
        [
            self.renew_token_at,
            self.login_at,
            self.refresh_at,
            self.next_poll,
        ]
        .into_iter()
        .flatten()
        .chain(leases)
        .min()
    }

    /// What is due at `now`, with its clocks cleared (the outcome sets them again).
    pub(super) fn take_due(&mut self, now: Instant, options: &Options) -> Due {
        let mut due = Due::default();
        if self.renew_token_at.is_some_and(|t| t <= now) {
            self.renew_token_at = None;
            due.renew_token = Some(self.token_increment);
        }
        if self.login_at.is_some_and(|t| t <= now) {
            self.login_at = None;
            due.login = true;
        }
        for (i, h) in self.held.iter_mut().enumerate() {
            if h.renew_at.is_some_and(|t| t <= now) {
                h.renew_at = None;
                due.renew.push((i, h.lease.clone(), h.increment));
            }
        }
        if self.refresh_at.is_some_and(|t| t <= now) {
            self.refresh_at = None;
            // Without --watch the command cannot get new credentials: it is told, once.
            due.fresh = options.interval.is_some();
            due.poll = due.fresh;
        }
        if self.next_poll.is_some_and(|t| t <= now) {
            self.next_poll = None;
            due.poll = true;
        }
        due
    }

    /// Take in what the work found.
    pub(super) async fn absorb(
        &mut self,
        outcome: Outcome,
        ctx: &Ctx<'_>,
        ui: &Ui,
        options: &Options,
        sink: &mut Sink<'_>,
    ) -> Result<(), Error> {
        let now = Instant::now();
        match outcome.token {
            Some(Ok(life)) if life.renewable && !capped(self.token_increment, life.ttl) => {
                self.recovered(ui);
                self.renew_token_at = Some(due(now, life.ttl));
            }
            Some(Ok(life)) => self.token_ends(life.ttl, now, ui),
            Some(Err(e)) => self.token_failed(e, now, ui, sink)?,
            None => {}
        }
        match outcome.login {
            Some(Ok(token)) => {
                ui.detail("logged in again: the token reached its max TTL");
                self.token = token;
                self.clock_token(token.life, now, ui);
            }
            Some(Err(e)) => {
                self.failed(&e.to_string(), ui);
                self.login_at = Some(now + self.backoff.next());
            }
            None => {}
        }
        for (i, renewed) in outcome.renewed {
            self.renewed(i, renewed, now, options, ui);
        }
        if let Some(polled) = outcome.poll {
            self.polled(polled, now, ctx, ui, options, sink).await?;
        }
        Ok(())
    }

    /// The answer to renewing lease `i`.
    fn renewed(
        &mut self,
        i: usize,
        renewed: Result<Duration, VaultError>,
        now: Instant,
        options: &Options,
        ui: &Ui,
    ) {
        let Some(increment) = self.held.get(i).map(|h| h.increment) else {
            return;
        };
        match renewed {
            Ok(granted) if !capped(increment, granted) => {
                self.held[i].renew_at = Some(due(now, granted));
            }
            Ok(granted) => {
                let replace = due(now, granted);
                self.refresh_at = Some(self.refresh_at.map_or(replace, |r| r.min(replace)));
                self.lease_ends(i, granted, options, ui);
            }
            Err(e) if e.server_down() || matches!(e, VaultError::Timeout { .. }) => {
                self.failed(&e.to_string(), ui);
                self.held[i].renew_at = Some(now + self.backoff.next());
            }
            // At its max TTL: new credentials now (with --watch), as for a capped grant.
            Err(VaultError::NotRenewable { .. }) => {
                self.refresh_at = Some(now);
                self.lease_ends(i, Duration::ZERO, options, ui);
            }
            Err(e) => {
                ui.warn(&format!(
                    "could not renew the lease of {}: {e}",
                    self.held[i].lease.path
                ));
                self.refresh_at = Some(now);
                self.lease_ends(i, Duration::ZERO, options, ui);
            }
        }
    }

    /// A poll's values: applied when they are good (with new leases, the replaced ones
    /// revoked), else kept as they were and retried.
    async fn polled(
        &mut self,
        polled: Polled,
        now: Instant,
        ctx: &Ctx<'_>,
        ui: &Ui,
        options: &Options,
        sink: &mut Sink<'_>,
    ) -> Result<(), Error> {
        let fresh = polled.dynamic.is_some();
        match polled.fetched {
            Ok(fetched) => {
                self.recovered(ui);
                if let Some(answers) = polled.dynamic {
                    self.dynamic = answers;
                    let old: Vec<Lease> = self.held.drain(..).map(|h| h.lease).collect();
                    self.take_leases(ctx, now);
                    self.apply(fetched, ui, options, sink).await?;
                    revoke(ctx, &old, ui).await;
                } else {
                    self.apply(fetched, ui, options, sink).await?;
                }
                self.next_poll = options.interval.map(|i| now + i);
            }
            Err(e) => {
                let unused: Vec<Lease> = ctx.taken.borrow_mut().drain(..).collect();
                revoke(ctx, &unused, ui).await;
                if let Some(v @ VaultError::TokenRejected) = e.server_wide() {
                    self.token_failed(v.clone(), now, ui, sink)?;
                }
                self.failed(&e.to_string(), ui);
                let retry = now + self.backoff.next();
                if fresh {
                    self.refresh_at = Some(retry);
                }
                self.next_poll = options.interval.map(|_| retry);
            }
        }
        Ok(())
    }

    /// A lease cannot be renewed past `left` from now. With --watch, new credentials come
    /// before (`refresh_at`); without, the user is told once.
    fn lease_ends(&mut self, i: usize, left: Duration, options: &Options, ui: &Ui) {
        let h = &mut self.held[i];
        h.renew_at = None;
        if options.interval.is_none() && !h.reported {
            h.reported = true;
            ui.warn(&format!(
                "the credentials from {} stop working in {}: their lease reaches its max TTL (with --watch, kvenv restarts the command with new ones)",
                h.lease.path,
                duration(left)
            ));
        }
    }

    /// The token was refused or could not be renewed.
    fn token_failed(
        &mut self,
        e: VaultError,
        now: Instant,
        ui: &Ui,
        sink: &Sink<'_>,
    ) -> Result<(), Error> {
        match e {
            e if e.server_down() || matches!(e, VaultError::Timeout { .. }) => {
                self.failed(&e.to_string(), ui);
                self.renew_token_at = Some(now + self.backoff.next());
            }
            VaultError::TokenRejected | VaultError::NotRenewable { .. } if self.can_login => {
                self.login_at = Some(now);
            }
            e @ VaultError::NotRenewable { .. } => self.warn_once(
                ui,
                &format!(
                    "the Vault token: {e}; give kvenv a new one before it expires, or log in with [vault.auth]"
                ),
            ),
            // No command runs to keep going for: the file cannot be kept current any more.
            VaultError::TokenRejected if matches!(sink, Sink::File { .. }) => {
                return Err(Error::Vault(e));
            }
            e => self.warn_once(ui, &format!("{e}; the command keeps the values it has")),
        }
        Ok(())
    }
}
