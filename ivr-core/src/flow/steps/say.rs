//! `say`: speak or play a prompt, then go on.

use super::{Kind, Texts};
use crate::flow::exits::{Branch, Exit};
use crate::flow::{Next, Prompt};
use crate::telesign::Method;

#[derive(Debug, Clone)]
pub struct Say {
    pub prompt: Prompt,
    pub next: Next,
}

/// Speak or play a prompt; the call hangs up after it unless `.then(..)` names a next step.
pub fn say(prompt: impl Into<Prompt>) -> Say {
    Say {
        prompt: prompt.into(),
        next: Next::Hangup,
    }
}

impl Say {
    /// Where the call goes once the prompt has played.
    pub fn then(mut self, step: &str) -> Self {
        self.next = Next::to(step);
        self
    }
}

impl Kind for Say {
    fn name(&self) -> &'static str {
        "say"
    }
    fn exits(&self) -> Vec<Exit<'_>> {
        vec![Exit::new(Branch::Next, &self.next)]
    }
    fn texts(&self) -> Texts<'_> {
        Texts {
            prompts: vec![&self.prompt],
            ..Texts::default()
        }
    }
    fn sets(&self) -> Vec<&str> {
        Vec::new()
    }
    fn answers_with(&self) -> Option<Method> {
        self.prompt.method()
    }
    fn can_wait(&self) -> bool {
        true
    }
    fn runs_code(&self) -> bool {
        false
    }
}
