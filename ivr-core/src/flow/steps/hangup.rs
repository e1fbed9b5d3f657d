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
    fn name(&self) -> &'static str {
        "hangup"
    }
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
    fn can_wait(&self) -> bool {
        true
    }
    fn runs_code(&self) -> bool {
        false
    }
}
