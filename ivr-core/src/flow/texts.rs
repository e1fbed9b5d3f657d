//! The texts of a step: what the checker checks (placeholders, translations) and what the privacy
//! analysis reads (which variables a step says). Each kind lists its texts ([`super::Kind::texts`]).

use super::{Prompt, Step};

impl Step {
    /// Every template text of the step: prompts (their parts and spoken fallbacks), dial numbers.
    pub fn texts(&self) -> Vec<&str> {
        fn collect<'s>(prompt: &'s Prompt, out: &mut Vec<&'s str>) {
            match prompt {
                Prompt::Speak { text, .. } => out.push(text),
                Prompt::Play { or_say, .. } => out.extend(or_say.as_deref()),
                Prompt::Parts(parts) => parts.iter().for_each(|p| collect(p, out)),
            }
        }
        let texts = self.own_texts();
        let mut out = Vec::new();
        texts.prompts.iter().for_each(|p| collect(p, &mut out));
        out.extend(texts.templates);
        out
    }

    /// The texts the caller hears in the call's language, translated: its prompts (but those
    /// written in a language of their own), their spoken fallbacks, its retry notices and its
    /// holds.
    pub fn spoken_texts(&self) -> Vec<&str> {
        fn collect<'s>(prompt: &'s Prompt, out: &mut Vec<&'s str>) {
            match prompt {
                Prompt::Speak {
                    text,
                    language: None,
                } => out.push(text),
                Prompt::Speak { .. } => {}
                Prompt::Play { or_say, .. } => out.extend(or_say.as_deref()),
                Prompt::Parts(parts) => parts.iter().for_each(|p| collect(p, out)),
            }
        }
        let texts = self.own_texts();
        let mut out = Vec::new();
        texts.prompts.iter().for_each(|p| collect(p, &mut out));
        out.extend(texts.notices);
        out
    }
}
