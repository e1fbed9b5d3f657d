//! The texts of a step: what the checker checks (placeholders, translations) and what the privacy
//! analysis reads (which variables a step says). Each kind lists its texts ([`super::Kind::texts`]).

use super::{Prompt, Step};

impl Step {
    /// Every template text of the step: prompts (their parts and spoken fallbacks), dial numbers.
    pub fn texts(&self) -> Vec<&str> {
        let texts = self.own_texts();
        let mut out = Vec::new();
        texts
            .prompts
            .iter()
            .for_each(|p| collect(p, false, &mut out));
        out.extend(texts.templates);
        out
    }

    /// The texts the caller hears in the call's language, translated: its prompts (but those
    /// written in a language of their own), their spoken fallbacks, its retry notices and its
    /// holds.
    pub fn spoken_texts(&self) -> Vec<&str> {
        let texts = self.own_texts();
        let mut out = Vec::new();
        texts
            .prompts
            .iter()
            .for_each(|p| collect(p, true, &mut out));
        out.extend(texts.notices);
        out
    }
}

/// The texts of `prompt` and its parts, with their spoken fallbacks; `translated`: only those
/// said in the call's language (not a `speak_in(..)` of its own).
fn collect<'s>(prompt: &'s Prompt, translated: bool, out: &mut Vec<&'s str>) {
    match prompt {
        Prompt::Speak { text, language } => {
            if !translated || language.is_none() {
                out.push(text);
            }
        }
        Prompt::Play { or_say, .. } => out.extend(or_say.as_deref()),
        Prompt::Parts(parts) => parts.iter().for_each(|p| collect(p, translated, out)),
    }
}
