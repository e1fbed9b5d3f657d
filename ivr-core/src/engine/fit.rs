//! How an event fits the call: the next event, a redelivery, ambiguous, or stale. Telesign's
//! events carry no id, and consecutive events of a call often have identical bodies (the same key
//! pressed at two menus in a row, two plain prompts in a row), so the last event's body is kept
//! (as a fingerprint, with the answer given) and a body equal to it is a redelivery only when
//! what the session knows rules it out as the next event.

use crate::flow::{Flow, Input, Prompt};
use crate::telesign::{Event, EventKind, MediaCompleted, MediaStatus, Method};

use super::privacy::Kept;
use super::{Reply, Seen, Session, Wait};

/// A short stable hash of a raw event body, to recognise redeliveries (FNV-1a, 64 bits). Not a
/// security measure (bodies are authenticated by their signature before they get here), just a
/// cheap, stable name for "these exact bytes" that survives deploys.
pub fn fingerprint(body: &[u8]) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = body
        .iter()
        .fold(OFFSET, |h, b| (h ^ u64::from(*b)).wrapping_mul(PRIME));
    crate::hex::hex(&hash.to_be_bytes())
}

/// How an event fits the call it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fit {
    /// Apply it: it can be the call's next event.
    Apply,
    /// The same body as the last event, which it cannot follow: a redelivery, answered exactly
    /// as before, changing nothing.
    Redelivery,
    /// Not what the call waits for (a completion of another prompt, a leg event after the
    /// bridge ended, `incoming_call` again): while the caller hears our prompts, the prompt the
    /// call waits on is issued again and nothing changes.
    Ambiguous,
    /// No action and nothing changes: the caller is not waiting on us (bridged to an agent or
    /// hearing it ring, a placed call not answered yet, a call we hung up), or the event's type
    /// is unknown, so no action is allowed for it.
    Stale,
}

/// Where `kind` fits the call whose session is `session`. `same_body`: the event's body is the
/// last event's, byte for byte. A body can repeat for real (the same key pressed at two menus in
/// a row, two plain prompts in a row), so a repeated body is a redelivery only when what the
/// session knows rules it out as the next event:
/// - a `digit_collection_timeout` that arrives before the prompt's first-digit `timeout` has
///   passed since the prompt was sent (the play-and-collect-digits pages: `timeout` is how long
///   collection waits for the first digit), or, when it reports keys, before its
///   `inter_digit_timeout` has;
/// - a `successful` completion with no keys at a prompt that collects digits but has no
///   terminators: by Telesign's pages such a prompt ends in `digit_collection_timeout` when
///   nothing is pressed, and (our reading) an entry without a terminator ends at `max` keys or
///   at the inter-digit timeout, never empty; the prompt is then issued again, not counted as
///   a no-input;
/// - a completion with keys at a plain prompt, which stops at the first key (the API reference:
///   "the message stops"): a redelivery, or at worst a key we answer by playing the prompt
///   again;
/// - `incoming_call` again, and anything the call is not waiting for.
///
/// A `digit_collection_timeout` the prompt now playing cannot have ended in (too soon, or at a
/// prompt that collects nothing) is ambiguous whatever its body: a late timeout of an earlier
/// prompt, arriving after the keys that answered it. Applied, it would count a no-input the
/// caller never gave.
///
/// `now_ms` against `session.updated_ms` (when the last event was answered) is the time that
/// has passed since the prompt was sent, at least.
pub(super) fn classify(
    flow: &Flow,
    session: &Session,
    kind: &EventKind,
    same_body: bool,
    now_ms: u64,
) -> Fit {
    let seen_before = |fit| if same_body { Fit::Redelivery } else { fit };
    match (session.wait, kind) {
        (Wait::Dtmf, EventKind::IncomingCall(_)) => seen_before(Fit::Stale),
        // Telesign documents no completion event for send_dtmf: whatever comes next continues.
        (Wait::Dtmf, _) => Fit::Apply,
        (Wait::Hangup, _) => seen_before(Fit::Stale),
        (_, EventKind::Unknown { .. }) => seen_before(Fit::Stale),
        (Wait::Answer, EventKind::DialCompleted(_)) => Fit::Apply,
        (Wait::Answer, _) => seen_before(Fit::Stale),
        (Wait::Bridge, EventKind::DialCompleted(_) | EventKind::CallLegCompleted(_)) => Fit::Apply,
        (Wait::Bridge, _) => seen_before(Fit::Stale),
        (Wait::Speak | Wait::Notice, EventKind::SpeakCompleted(m))
        | (Wait::Play, EventKind::PlayCompleted(m)) => {
            if could_be_new(flow, session, m, now_ms) {
                Fit::Apply
            } else if same_body {
                Fit::Redelivery
            } else if m.status == MediaStatus::DigitCollectionTimeout {
                // A timeout Telesign cannot have posted for the prompt now playing (too soon, or
                // at a prompt that collects nothing): a late one of an earlier prompt.
                Fit::Ambiguous
            } else {
                Fit::Apply
            }
        }
        (Wait::Speak | Wait::Notice | Wait::Play, _) => seen_before(Fit::Ambiguous),
    }
}

/// Whether a completion with the last event's body can be the end of the prompt now playing
/// (see [`classify`]).
fn could_be_new(flow: &Flow, session: &Session, m: &MediaCompleted, now_ms: u64) -> bool {
    let input = collecting(flow, session);
    let keys = m.collected_digits.chars().any(is_phone_key);
    match (&m.status, input) {
        // Without keys, collection waited `timeout` for the first digit; with keys, at least
        // `inter_digit_timeout` after the last one (the first may have come at once).
        (MediaStatus::DigitCollectionTimeout, Some(input)) => {
            let waited = if keys {
                input.inter_digit_timeout_ms
            } else {
                input.timeout_ms
            };
            now_ms >= session.updated_ms + u64::from(waited)
        }
        (MediaStatus::DigitCollectionTimeout, None) => false,
        (MediaStatus::Completed, Some(input)) => keys || !input.terminators.is_empty(),
        (MediaStatus::Completed, None) => !keys,
        _ => true,
    }
}

/// The digit collection of the prompt now playing, if it collects: an input step's prompt, but
/// not its retry notice, nor a part of a prompt of several before the last (only the last part
/// collects). A part that collects nothing ends like a plain prompt, so the end of part one and
/// the end of part two can be the same bytes: each is the next event, not a redelivery.
fn collecting<'f>(flow: &'f Flow, session: &Session) -> Option<&'f Input> {
    let step = flow.get(&session.step)?.input_step()?;
    let (prompt, input) = (step.prompt, step.input);
    if session.wait == Wait::Notice {
        return None;
    }
    let last_part = match prompt {
        Prompt::Parts(parts) => {
            usize::try_from(session.here.part).is_ok_and(|at| at + 1 >= parts.len())
        }
        _ => true,
    };
    last_part.then_some(input)
}

/// A key a phone has: `0`-`9`, `*`, `#`. Nothing else Telesign reports reaches a session.
pub(super) fn is_phone_key(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, '*' | '#')
}

/// The answer kept with an event, to give again; none when it was no action (or, which the
/// worker never writes, not a JSON-RPC action it knows).
pub(super) fn replay(seen: &Seen) -> Option<Reply> {
    #[derive(serde::Deserialize)]
    struct Rpc {
        method: Method,
    }
    let json = seen.reply.clone()?;
    let Rpc { method } = crate::json::read(json.as_bytes()).ok()?;
    Some(Reply { method, json })
}

pub(super) fn remember(
    session: &mut Session,
    event: &Event,
    fp: &Kept,
    reply: Option<&Reply>,
    now_ms: u64,
) {
    session.last = Some(Seen {
        fingerprint: fp.as_str().to_owned(),
        event: event.kind.event_name(),
        reply: reply.map(|r| r.json.clone()),
        repeats: 0,
    });
    session.events = session.events.saturating_add(1);
    session.updated_ms = now_ms;
}
