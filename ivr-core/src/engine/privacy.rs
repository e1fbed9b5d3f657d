//! Sensitive entries in a live call: opened when a turn starts, sealed (or dropped, once no later
//! step can read them) when it ends, masked in the answers. See [`crate::seal`] for the
//! construction and [`crate::flow::Flow::sensitive_live_at`] for how long a value is kept.

use std::collections::BTreeMap;

use crate::flow::Flow;
use crate::seal::Sealer;

use super::{LookupOutcome, Session};

/// The sealer of a flow's sensitive values: `None` when the flow has none, or no usable key (a
/// missing key also keeps the flow's code from running: its calls go to its `on_error` step).
pub(super) fn sealer(flow: &Flow) -> Option<&Sealer> {
    if flow.sensitive_names().is_empty() {
        return None;
    }
    flow.settings.sealer()
}

/// The session's sealed values, opened into its variables. A value that does not open (sealed
/// with a key since rotated, or altered) is dropped: the flow then meets it as unset.
pub(super) fn open(flow: &Flow, session: &mut Session) {
    if session.sealed.is_empty() {
        return;
    }
    let sealed = std::mem::take(&mut session.sealed);
    let opened = opened(flow, &session.reference_id, &sealed);
    session.vars.extend(opened);
}

/// The values of `sealed` that open, for the call `call`.
pub(super) fn opened(
    flow: &Flow,
    call: &str,
    sealed: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let sealer = sealer(flow).filter(|_| !sealed.is_empty());
    let Some(sealer) = sealer else {
        return BTreeMap::new();
    };
    crate::sort::collected(
        sealed
            .iter()
            .filter_map(|(name, text)| Some((name.clone(), sealer.open(call, name, text)?))),
    )
}

/// Takes the sensitive values out of the session's variables: sealed if a step the call may
/// still reach can read them, dropped otherwise (and always without a key).
pub(super) fn seal(flow: &Flow, session: &mut Session) {
    let names = flow.sensitive_names();
    if !names.iter().any(|n| session.vars.contains_key(n)) {
        return;
    }
    let live = flow.sensitive_live_at(&session.step);
    let sealer = sealer(flow);
    for name in names {
        let Some(value) = session.vars.remove(name) else {
            continue;
        };
        if let (true, Some(sealer)) = (live.contains(name), sealer) {
            let text = sealer.seal(&session.reference_id, name, &value);
            session.sealed.insert(name.clone(), text);
        }
    }
}

/// A held lookup's outcome with its sensitive variables moved to `sealed` (or dropped, without
/// a key): it is stored until the hold ends.
pub(super) fn seal_outcome(flow: &Flow, call: &str, outcome: &mut LookupOutcome) {
    let names = flow.sensitive_names();
    if !names.iter().any(|n| outcome.vars.contains_key(n)) {
        return;
    }
    let sealer = sealer(flow);
    for name in names {
        if let (Some(value), Some(sealer)) = (outcome.vars.remove(name), sealer) {
            let text = sealer.seal(call, name, &value);
            outcome.sealed.insert(name.clone(), text);
        }
    }
}

/// The variables a held lookup's outcome sets, its sealed ones opened.
pub(super) fn outcome_vars(
    flow: &Flow,
    call: &str,
    outcome: &LookupOutcome,
) -> BTreeMap<String, String> {
    let mut vars = outcome.vars.clone();
    vars.extend(opened(flow, call, &outcome.sealed));
    vars
}

/// The fingerprint a session of this flow keeps of an event's body: keyed when the flow has
/// sensitive entries, since the body of a key press names its digits. Without a key (a
/// misconfigured flow, whose calls end in its `on_error` step) none is kept, and no body is taken
/// for a redelivery (see [`super::handle`]). Made once per turn: the redelivery check and the
/// turn that saves the session use the same one.
pub(super) fn fingerprint(flow: &Flow, fingerprint: &str) -> Kept {
    Kept(match (sealer(flow), flow.sensitive_names().is_empty()) {
        (Some(sealer), _) => sealer.fingerprint(fingerprint),
        (None, true) => fingerprint.to_owned(),
        (None, false) => String::new(),
    })
}

/// A body's fingerprint as a session of its flow may keep it: only [`fingerprint`] makes one, so
/// a raw fingerprint of a flow with sensitive entries cannot reach a session.
#[derive(Debug)]
pub(super) struct Kept(String);

impl Kept {
    /// The fingerprint of a call whose flow is gone: nothing, since whether its bodies name
    /// digits cannot be known without the flow.
    pub(super) fn none() -> Kept {
        Kept(String::new())
    }

    pub(super) fn as_str(&self) -> &str {
        &self.0
    }
}
