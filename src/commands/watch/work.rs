//! The work that talks to Vault, beside the loop: renewals, a new login, a poll.

use std::time::{Duration, Instant};

use super::Ctx;
use super::clocks::Due;
use crate::assemble::{Fetched, assemble};
use crate::error::Error;
use crate::fetch::{self, Answers};
use crate::resolve;
use crate::ui::Ui;
use crate::vault::VaultError;
use crate::vault::auth::{self, Life, Token};
use crate::vault::dynamic::{self, Lease};
use crate::vault::kv::Read;

/// What the work found.
#[derive(Default)]
pub(super) struct Outcome {
    pub(super) token: Option<Result<Life, VaultError>>,
    pub(super) login: Option<Result<Token, VaultError>>,
    pub(super) renewed: Vec<(usize, Result<Duration, VaultError>)>,
    pub(super) poll: Option<Polled>,
}

pub(super) struct Polled {
    pub(super) fetched: Result<Fetched, Error>,
    /// The new dynamic answers, when the read was fresh.
    pub(super) dynamic: Option<Vec<Result<Read, VaultError>>>,
}

/// The work that talks to Vault: the token first (a new login means new credentials), then the
/// leases, then the poll.
pub(super) async fn perform(
    ctx: &Ctx<'_>,
    due: Due,
    cached: Option<Vec<Result<Read, VaultError>>>,
) -> Outcome {
    let mut out = Outcome::default();
    let deadline = Instant::now() + ctx.timeout;
    ctx.client.set_deadline(deadline);
    let within = |f| tokio::time::timeout_at(deadline.into(), f);
    let timeout = || VaultError::Timeout {
        seconds: ctx.timeout.as_secs_f64(),
    };
    if let Some(increment) = due.renew_token {
        let renewed = within(auth::renew_self(ctx.client, increment)).await;
        out.token = Some(renewed.unwrap_or_else(|_| Err(timeout())));
    }
    let mut fresh = due.fresh;
    if due.login {
        let login = tokio::time::timeout_at(deadline.into(), auth::login(ctx.client, ctx.login))
            .await
            .unwrap_or_else(|_| Err(timeout()));
        // The leases hang on the old token, and end with it: new credentials now.
        fresh |= login.is_ok();
        out.login = Some(login);
    }
    for (i, lease, increment) in due.renew {
        let renewed = tokio::time::timeout_at(
            deadline.into(),
            dynamic::renew(ctx.client, &lease, increment),
        )
        .await
        .unwrap_or_else(|_| Err(timeout()));
        out.renewed.push((i, renewed));
    }
    if due.poll || fresh {
        let cached = if fresh { None } else { cached };
        out.poll = Some(bounded(ctx, read(ctx, cached)).await);
    }
    out
}

/// Resolve, read (the dynamic secrets too, unless `cached`) and assemble.
pub(super) async fn read(ctx: &Ctx<'_>, cached: Option<Vec<Result<Read, VaultError>>>) -> Polled {
    // The mounts found by the last good read are taken as known: a poll costs one request per
    // secret (and one listing per folder), not a mount lookup more. A failed read forgets them,
    // so the next one finds them again (a mount moved or upgraded).
    let known = ctx.mounts.borrow().clone();
    let resolved = resolve::resolve_known(ctx.plan, ctx.client, ctx.concurrency, &known).await;
    let kv = fetch::fetch(&resolved, ctx.client, ctx.concurrency).await;
    let (dynamic, fresh) = match cached {
        Some(answers) => (answers, None),
        None => {
            let (answers, leases) = fetch::dynamic(&resolved, ctx.client, ctx.concurrency).await;
            ctx.taken.borrow_mut().extend(leases);
            (answers.clone(), Some(answers))
        }
    };
    let fetched = assemble(ctx.plan, &resolved, Answers { kv, dynamic }).map_err(Error::from);
    *ctx.mounts.borrow_mut() = if fetched.is_ok() {
        resolved.mounts()
    } else {
        Vec::new()
    };
    Polled {
        fetched,
        dynamic: fresh,
    }
}

/// A read within the timeout.
pub(super) async fn bounded(
    ctx: &Ctx<'_>,
    work: impl std::future::Future<Output = Polled>,
) -> Polled {
    let deadline = Instant::now() + ctx.timeout;
    ctx.client.set_deadline(deadline);
    match tokio::time::timeout_at(deadline.into(), work).await {
        Ok(polled) => polled,
        Err(_) => Polled {
            fetched: Err(Error::Vault(VaultError::Timeout {
                seconds: ctx.timeout.as_secs_f64(),
            })),
            dynamic: None,
        },
    }
}

/// Revoke `leases` (best effort, 5 s).
pub(super) async fn revoke(ctx: &Ctx<'_>, leases: &[Lease], ui: &Ui) {
    crate::commands::session::revoke(ctx.client, leases, ui).await;
}
