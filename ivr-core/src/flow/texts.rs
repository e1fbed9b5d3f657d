//! The texts of a step: what the checker checks (placeholders, translations) and what the privacy
//! analysis reads (which variables a step says).

use super::{Prompt, Step};

impl Step {
    /// Every template text of the step: prompts (their parts and spoken fallbacks), dial numbers.
    pub fn texts(&self) -> Vec<&str> {
        texts(self)
    }

    /// The texts the caller hears in the call's language, translated: its prompts (but those
    /// written in a language of their own), their spoken fallbacks, its retry notices and its
    /// holds.
    pub fn spoken_texts(&self) -> Vec<&str> {
        spoken_texts(self)
    }
}

/// The texts of a step the caller hears in the call's language, translated: its prompts (but
/// those written in a language of their own), their spoken fallbacks, its retry notices and its
/// holds.
fn spoken_texts(step: &Step) -> Vec<&str> {
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
    let mut out = Vec::new();
    match step {
        Step::Say { prompt, .. } => collect(prompt, &mut out),
        Step::Menu {
            prompt, retries, ..
        }
        | Step::Gather {
            prompt, retries, ..
        } => {
            collect(prompt, &mut out);
            for notice in [&retries.no_input, &retries.invalid] {
                if !notice.trim().is_empty() {
                    out.push(notice.trim());
                }
            }
        }
        Step::Fetch {
            hold: Some(hold), ..
        } => hold.prompts.iter().for_each(|p| collect(p, &mut out)),
        Step::Fetch { hold: None, .. }
        | Step::Decide { .. }
        | Step::Hours { .. }
        | Step::Dial { .. }
        | Step::SendDtmf { .. }
        | Step::SetLanguage { .. }
        | Step::Hangup => {}
    }
    out
}

/// Every template text of a step: prompts (their parts and spoken fallbacks), dial numbers.
fn texts(step: &Step) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    fn collect<'s>(prompt: &'s Prompt, out: &mut Vec<&'s str>) {
        match prompt {
            Prompt::Speak { text, .. } => out.push(text),
            Prompt::Play { or_say, .. } => out.extend(or_say.as_deref()),
            Prompt::Parts(parts) => parts.iter().for_each(|p| collect(p, out)),
        }
    }
    match step {
        Step::Say { prompt, .. } | Step::Menu { prompt, .. } | Step::Gather { prompt, .. } => {
            collect(prompt, &mut out)
        }
        Step::Fetch {
            hold: Some(hold), ..
        } => hold.prompts.iter().for_each(|p| collect(p, &mut out)),
        Step::Dial {
            numbers, caller_id, ..
        } => {
            out.extend(numbers.iter().map(String::as_str));
            out.extend(caller_id.as_deref());
        }
        Step::Fetch { hold: None, .. }
        | Step::Decide { .. }
        | Step::Hours { .. }
        | Step::SendDtmf { .. }
        | Step::SetLanguage { .. }
        | Step::Hangup => {}
    }
    out
}
