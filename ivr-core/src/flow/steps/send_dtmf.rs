//! `send_dtmf`: send tones into an answered outbound call (an extension), then go on.

use super::{Kind, Texts};
use crate::flow::exits::{Branch, Exit};
use crate::flow::Next;
use crate::telesign::Method;

#[derive(Debug, Clone)]
pub struct SendDtmf {
    pub digits: String,
    pub next: Next,
}

/// Send DTMF tones (`0-9A-D*#`, `w` a half-second pause) into an answered outbound call.
pub fn send_dtmf(digits: &str) -> SendDtmf {
    SendDtmf {
        digits: digits.to_owned(),
        next: Next::Hangup,
    }
}

impl SendDtmf {
    then_setter!();
}

impl Kind for SendDtmf {
    const NAME: &'static str = "send_dtmf";
    const CAN_WAIT: bool = true;
    const RUNS_CODE: bool = false;
    fn exits(&self) -> Vec<Exit<'_>> {
        vec![Exit::new(Branch::Next, &self.next)]
    }
    fn texts(&self) -> Texts<'_> {
        Texts::default()
    }
    fn sets(&self) -> Vec<&str> {
        Vec::new()
    }
    fn answers_with(&self) -> Option<Method> {
        Some(Method::SendDtmf)
    }
}
