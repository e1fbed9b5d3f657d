//! `hangup`: end the call.

use super::{Kind, Texts};
use crate::flow::exits::Exit;
use crate::telesign::Method;

#[derive(Debug, Clone, Copy)]
pub struct Hangup;

/// End the call.
pub fn hangup() -> Hangup {
    Hangup
}

impl Kind for Hangup {
    const NAME: &'static str = "hangup";
    const CAN_WAIT: bool = true;
    const RUNS_CODE: bool = false;
    fn exits(&self) -> Vec<Exit<'_>> {
        Vec::new()
    }
    fn texts(&self) -> Texts<'_> {
        Texts::default()
    }
    fn sets(&self) -> Vec<&str> {
        Vec::new()
    }
    fn answers_with(&self) -> Option<Method> {
        Some(Method::Hangup)
    }
}
