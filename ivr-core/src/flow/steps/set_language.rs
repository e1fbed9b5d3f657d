//! `set_language`: switch the call to one of the flow's languages, within the event.

use super::{Kind, Texts};
use crate::flow::exits::{Branch, Exit};
use crate::flow::Next;
use crate::telesign::Method;

/// Every later prompt of the call is spoken in `language`.
#[derive(Debug, Clone)]
pub struct SetLanguage {
    pub language: String,
    pub next: Next,
}

/// Switch the call to `language`, one the flow speaks (`Flow::translations`), then go on at
/// `.then(..)`: `menu(..).option("8", "spanish")` with
/// `.step("spanish", set_language("es-US").then("main_menu"))`.
pub fn set_language(language: &str) -> SetLanguage {
    SetLanguage {
        language: language.to_owned(),
        next: Next::Hangup,
    }
}

impl SetLanguage {
    then_setter!();
}

impl Kind for SetLanguage {
    const NAME: &'static str = "set_language";
    const CAN_WAIT: bool = false;
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
        None
    }
}
