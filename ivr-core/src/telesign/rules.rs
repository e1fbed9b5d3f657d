//! Which action may answer which event.
//!
//! Telesign refuses an action sent in the wrong call state with `unsupported_call_state`, and
//! by then the caller is left in silence; everything that replies to an event asks here first.
//!
//! | event | allowed replies |
//! | --- | --- |
//! | `incoming_call` | `hangup`, `speak`, `play`, `dial` |
//! | `dial_completed`, answered | `speak`, `play`, `hangup`, `send_dtmf` |
//! | `dial_completed`, failed or unknown status | none: the call never connected |
//! | `play_completed`, `speak_completed` | `speak`, `play`, `hangup` |
//! | `call_leg_completed` | `dial` (the next number), `speak`, `play`, `hangup` |
//! | `call_completed` | none: Telesign ignores the reply |
//! | unknown event | none: we cannot know the call state |
//!
//! `play_completed` and `speak_completed` allow the same replies whatever their status: a
//! failed playback or a digit timeout leaves the call up. An unknown `dial_completed` status is
//! treated as not connected, since any reply might be refused.

use super::action::Method;
use super::event::{DialStatus, EventKind};

/// The methods that may answer `event`, in no particular order; empty when no reply is
/// expected.
pub fn allowed_methods(event: &EventKind) -> &'static [Method] {
    match event {
        EventKind::IncomingCall(_) => &[Method::Hangup, Method::Speak, Method::Play, Method::Dial],
        EventKind::DialCompleted(dial) if dial.status == DialStatus::Answered => &[
            Method::Speak,
            Method::Play,
            Method::Hangup,
            Method::SendDtmf,
        ],
        EventKind::PlayCompleted(_) | EventKind::SpeakCompleted(_) => {
            &[Method::Speak, Method::Play, Method::Hangup]
        }
        EventKind::CallLegCompleted(_) => {
            &[Method::Dial, Method::Speak, Method::Play, Method::Hangup]
        }
        EventKind::DialCompleted(_) | EventKind::CallCompleted(_) | EventKind::Unknown { .. } => {
            &[]
        }
    }
}

/// Whether Telesign accepts `method` as the reply to `event`.
pub fn may_answer(event: &EventKind, method: Method) -> bool {
    allowed_methods(event).contains(&method)
}

/// Whether `event` is waiting for an action; when not, reply with an empty 200.
pub fn expects_reply(event: &EventKind) -> bool {
    !allowed_methods(event).is_empty()
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::telesign::event::{
        CallCompleted, CallLegCompleted, CallStatus, DialCompleted, Direction, HangupCause,
        MediaCompleted, MediaStatus, Parties,
    };

    fn dial_completed(status: DialStatus) -> EventKind {
        EventKind::DialCompleted(DialCompleted {
            parties: Parties::default(),
            status,
        })
    }

    fn media(status: MediaStatus) -> MediaCompleted {
        MediaCompleted {
            parties: Parties::default(),
            status,
            collected_digits: String::new(),
        }
    }

    /// The whole matrix, written out as the allowed set per event so that any change to
    /// the table above shows up here.
    #[test]
    fn matrix() {
        use Method::*;
        let cases: Vec<(EventKind, &[Method])> = vec![
            (
                EventKind::IncomingCall(Parties::default()),
                &[Hangup, Speak, Play, Dial],
            ),
            (
                dial_completed(DialStatus::Answered),
                &[Speak, Play, Hangup, SendDtmf],
            ),
            (dial_completed(DialStatus::Failed), &[]),
            (dial_completed(DialStatus::Unknown("busy".into())), &[]),
            (dial_completed(DialStatus::Unknown(String::new())), &[]),
            (
                EventKind::PlayCompleted(media(MediaStatus::Completed)),
                &[Speak, Play, Hangup],
            ),
            (
                EventKind::PlayCompleted(media(MediaStatus::Failed)),
                &[Speak, Play, Hangup],
            ),
            (
                EventKind::SpeakCompleted(media(MediaStatus::DigitCollectionTimeout)),
                &[Speak, Play, Hangup],
            ),
            (
                EventKind::SpeakCompleted(media(MediaStatus::Unknown("x".into()))),
                &[Speak, Play, Hangup],
            ),
            (
                EventKind::CallLegCompleted(CallLegCompleted {
                    parties: Parties::default(),
                    caller_id: None,
                    hangup_cause: HangupCause::LineBusy,
                }),
                &[Dial, Speak, Play, Hangup],
            ),
            (
                EventKind::CallCompleted(CallCompleted {
                    parties: Parties::default(),
                    direction: Some(Direction::Inbound),
                    status: CallStatus::Hangup,
                    created_on_utc: None,
                    answered_on_utc: None,
                    ended_on_utc: None,
                    duration: None,
                    audio_recording_file_name: None,
                }),
                &[],
            ),
            (
                EventKind::Unknown {
                    name: "play_multiple_completed".into(),
                    data: Value::Null,
                },
                &[],
            ),
        ];
        for (event, allowed) in cases {
            for method in Method::ALL {
                assert_eq!(
                    may_answer(&event, method),
                    allowed.contains(&method),
                    "{} ({event:?}) answered by {}",
                    event.name(),
                    method.as_str()
                );
            }
            assert_eq!(expects_reply(&event), !allowed.is_empty(), "{event:?}");
        }
    }
}
