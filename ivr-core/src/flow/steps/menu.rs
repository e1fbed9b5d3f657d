//! `menu`: play a prompt and branch on the key pressed.

use super::{retry_exits, Kind, Texts};
use crate::flow::exits::{Branch, Dest, Exit};
use crate::flow::{Input, Prompt, Retries};
use crate::telesign::Method;

#[derive(Debug, Clone)]
pub struct Menu {
    pub prompt: Prompt,
    /// The keys of each option, and the step it leads to.
    pub options: Vec<(String, String)>,
    /// The keys that play the menu again, not counted as a retry.
    pub repeat: Option<String>,
    /// Variable that keeps the name of the option chosen (e.g. `choice` = `confirmed`).
    pub save_as: Option<String>,
    pub input: Input,
    pub retries: Retries,
}

/// A menu: the caller presses a key and the call branches.
pub fn menu(prompt: impl Into<Prompt>) -> MenuBuilder {
    MenuBuilder {
        menu: Menu {
            prompt: prompt.into(),
            options: Vec::new(),
            repeat: None,
            save_as: None,
            input: Input::default(),
            retries: Retries::default(),
        },
        max_digits: None,
    }
}

/// A menu being written: how many keys a choice has is the longest option's, unless
/// `.max_digits(..)` says otherwise, and is known once every option is.
pub struct MenuBuilder {
    menu: Menu,
    max_digits: Option<u32>,
}

impl MenuBuilder {
    /// Pressing `keys` goes to `step`.
    pub fn option(mut self, keys: &str, step: &str) -> Self {
        self.menu.options.push((keys.to_owned(), step.to_owned()));
        self
    }
    /// Pressing `keys` plays the menu again (not counted as a retry).
    pub fn repeat(mut self, keys: &str) -> Self {
        self.menu.repeat = Some(keys.to_owned());
        self
    }
    /// Keeps the chosen option's step name in the variable `var` (and so in the call record).
    pub fn save_as(mut self, var: &str) -> Self {
        self.menu.save_as = Some(var.to_owned());
        self
    }
    /// Wait for the key, in milliseconds.
    pub fn timeout_ms(mut self, ms: u32) -> Self {
        self.menu.input.timeout_ms = ms;
        self
    }
    /// How many keys a choice has (default: the longest option).
    pub fn max_digits(mut self, n: u32) -> Self {
        self.max_digits = Some(n);
        self
    }
    retry_setters!(menu.retries);
}

impl From<MenuBuilder> for super::Step {
    fn from(b: MenuBuilder) -> super::Step {
        let mut menu = b.menu;
        let longest = menu
            .options
            .iter()
            .map(|(k, _)| k.len())
            .chain(menu.repeat.as_ref().map(String::len))
            .max()
            .unwrap_or(1);
        menu.input.max_digits = b.max_digits.unwrap_or(u32::try_from(longest).unwrap_or(1));
        super::Step::Menu(menu)
    }
}

impl Kind for Menu {
    const NAME: &'static str = "menu";
    const CAN_WAIT: bool = true;
    const RUNS_CODE: bool = false;
    fn exits(&self) -> Vec<Exit<'_>> {
        let mut out: Vec<Exit> = self
            .options
            .iter()
            .map(|(keys, to)| Exit::new(Branch::Key(keys.clone()), Dest::Step(to)))
            .collect();
        if self.repeat.is_some() {
            out.push(Exit::new(Branch::Repeat, Dest::Again));
        }
        out.extend(retry_exits(&self.retries, false));
        out
    }
    fn texts(&self) -> Texts<'_> {
        Texts::asking(&self.prompt, &self.retries)
    }
    fn sets(&self) -> Vec<&str> {
        self.save_as.iter().map(String::as_str).collect()
    }
    fn answers_with(&self) -> Option<Method> {
        self.prompt.method()
    }
}
