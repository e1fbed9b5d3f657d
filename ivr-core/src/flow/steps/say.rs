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
    then_setter!();
}

impl Kind for Say {
    const NAME: &'static str = "say";
    const CAN_WAIT: bool = true;
    const RUNS_CODE: bool = false;
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
}
