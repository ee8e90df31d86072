//! Composed values, once every other variable is known.
//!
//! Each template is composed after the templates it uses (the plan has refused cycles). A part
//! that is missing (its entry optional and nothing found, or another template that is missing)
//! makes the whole template missing: then its own `optional` or `default` decides, and without
//! either the run fails (exit 4). A name no entry gave at all, not even an import, is a
//! manifest error (exit 2). The composed value is a secret like any other: masked, encoded for
//! its readers, never in a message.

use super::secrets::Vars;
use super::{At, FetchError};
use crate::plan::{Entry, Plan, Target};
use crate::secret::{Secret, Var};

/// A template's state while composing.
#[derive(Clone, Copy, PartialEq)]
enum State {
    Waiting,
    Composed,
    Missing,
}

pub(super) fn compose(plan: &Plan, vars: &mut Vars) -> Result<(), FetchError> {
    let mut states: Vec<State> = plan.entries.iter().map(|_| State::Waiting).collect();
    for i in 0..plan.entries.len() {
        if let Target::Template { .. } = plan.entries[i].target {
            one(plan, i, vars, &mut states)?;
        }
    }
    Ok(())
}

/// Compose entry `i` (a template), composing first the templates it uses.
fn one(plan: &Plan, i: usize, vars: &mut Vars, states: &mut [State]) -> Result<State, FetchError> {
    if states[i] != State::Waiting {
        return Ok(states[i]);
    }
    let e = &plan.entries[i];
    let Target::Template { name, template } = &e.target else {
        return Ok(State::Composed);
    };
    let mut missing: Option<&str> = None;
    for reference in template.references() {
        let template_at = plan
            .entries
            .iter()
            .position(|e| matches!(&e.target, Target::Template { name, .. } if name == reference));
        if let Some(j) = template_at {
            if one(plan, j, vars, states)? == State::Missing {
                missing.get_or_insert(reference);
            }
            continue;
        }
        if vars.value(reference).is_some() {
            continue;
        }
        if vars.skipped_names.contains(reference) || vars.skipped_import {
            missing.get_or_insert(reference);
            continue;
        }
        return Err(FetchError::UnknownReference {
            at: At::of(e),
            name: reference.to_owned(),
        });
    }
    let state = match missing {
        Some(part) => {
            let why = FetchError::TemplatePartMissing {
                at: At::of(e),
                name: part.to_owned(),
            };
            vars.absent(i, e, why)?;
            State::Missing
        }
        None => match template.render(|n| vars.value(n)) {
            Some(value) => {
                let dynamic = template.references().iter().any(|n| vars.dynamic(n));
                vars.push(i, composed(e, name, value, dynamic));
                State::Composed
            }
            None => State::Missing,
        },
    };
    // A default stands in for the template: other templates may use it.
    let state = if state == State::Missing && vars.value(name).is_some() {
        State::Composed
    } else {
        state
    };
    states[i] = state;
    Ok(state)
}

fn composed(e: &Entry, name: &str, value: String, dynamic: bool) -> Var {
    Var {
        name: name.to_owned(),
        value: Secret::new(value),
        path: "template".into(),
        version: None,
        default: false,
        mask: e.mask,
        internal: e.internal,
        dynamic,
    }
}
