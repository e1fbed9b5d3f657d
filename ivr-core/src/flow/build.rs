//! The builders of prompts (audio, another language, parts); each step kind's builder is in its
//! module of [`super::steps`].

use super::Prompt;

/// An audio file prompt: `say(audio("https://example.com/welcome.wav"))`.
pub fn audio(url: &str) -> Prompt {
    Prompt::Play {
        url: url.to_owned(),
        or_say: None,
    }
}

/// Text spoken in another language than the flow's: `say(speak_in("es-US", "Hola"))`.
pub fn speak_in(language: &str, text: &str) -> Prompt {
    Prompt::Speak {
        text: text.to_owned(),
        language: Some(language.to_owned()),
    }
}

/// Several prompts in turn, one after the other: `say(parts([audio(chime), "Welcome.".into()]))`.
pub fn parts<const N: usize>(parts: [Prompt; N]) -> Prompt {
    let mut flat = Vec::with_capacity(N);
    for part in parts {
        match part {
            Prompt::Parts(inner) => flat.extend(inner),
            part => flat.push(part),
        }
    }
    Prompt::Parts(flat)
}
