//! Telling a redelivery from a new event. Telesign's events carry no id, and consecutive events of
//! a call often have identical bodies (the same key pressed at two menus in a row, two silent
//! prompts), so the last event's body is kept (as a fingerprint, with the answer given) and a
//! body equal to it is a redelivery only when it could not be the call's next event.

use crate::flow::{Flow, Step};
use crate::telesign::{Event, EventKind, MediaCompleted, MediaStatus};

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

/// Whether `kind` can be the answer to what the call waits for. Telesign's events carry no id of
/// their own, and consecutive events of a call often have identical bodies (the same key pressed
/// at two menus in a row, two silent prompts), so a body equal to the last one is only taken for a
/// redelivery when it could not be the next event: an `incoming_call` again, a `speak_completed`
/// while a `play` is awaited, a "successful, no digits" completion while digits are being
/// collected (Telesign reports `digit_collection_timeout` then), a completion with digits while
/// none are being collected (an entry answered by a `say`, redelivered because a slow `fetch`
/// step kept Telesign waiting, is not the end of that `say`), anything but `call_completed` after
/// a hangup.
pub(super) fn expects(flow: &Flow, session: &Session, kind: &EventKind) -> bool {
    let collecting =
        session.wait != Wait::Notice && flow.get(&session.step).is_some_and(Step::is_input);
    let plausible = |m: &MediaCompleted| {
        if collecting {
            !(m.status == MediaStatus::Completed && m.collected_digits.is_empty())
        } else {
            m.collected_digits.is_empty()
        }
    };
    match (session.wait, kind) {
        (Wait::Answer, EventKind::DialCompleted(_)) => true,
        (Wait::Speak | Wait::Notice, EventKind::SpeakCompleted(m))
        | (Wait::Play, EventKind::PlayCompleted(m)) => plausible(m),
        (Wait::Bridge, EventKind::DialCompleted(_) | EventKind::CallLegCompleted(_)) => true,
        (Wait::Dtmf, kind) => !matches!(kind, EventKind::IncomingCall(_)),
        _ => false,
    }
}

pub(super) fn replay(seen: &Seen) -> Option<Reply> {
    #[derive(serde::Deserialize)]
    struct Rpc {
        method: String,
    }
    let json = seen.reply.clone()?;
    let method = serde_json::from_str::<Rpc>(&json)
        .map(|rpc| rpc.method)
        .unwrap_or_default();
    Some(Reply { method, json })
}

pub(super) fn remember(
    session: &mut Session,
    event: &Event,
    fp: &str,
    reply: Option<&Reply>,
    now_ms: u64,
) {
    session.last = Some(Seen {
        fingerprint: fp.to_owned(),
        event: event.kind.name().to_owned(),
        reply: reply.map(|r| r.json.clone()),
    });
    session.events = session.events.saturating_add(1);
    session.updated_ms = now_ms;
}
