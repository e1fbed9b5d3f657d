//! Text-to-speech languages for the `speak` action.

use std::fmt;

use serde::{Serialize, Serializer};

/// A TTS language from the "Supported Languages for Text-to-Speech" table of Telesign's Voice
/// API reference.
///
/// That table lists **27** tags (the spec folder's summary of the page counts 26; the table
/// itself is the source): every tag in it is supported here. Tags are matched in any case (`en-us`, `EN-US`)
/// and always written in the table's spelling (`en-US`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Language {
    /// Chinese, Mandarin.
    CmnCn,
    /// Danish.
    DaDk,
    /// Dutch.
    NlNl,
    /// English, Australian.
    EnAu,
    /// English, British.
    EnGb,
    /// English, Indian.
    EnIn,
    /// English, US.
    EnUs,
    /// English, Welsh.
    EnGbWls,
    /// French.
    FrFr,
    /// French Canadian.
    FrCa,
    /// German.
    DeDe,
    /// Hindi.
    HiIn,
    /// Icelandic.
    IsIs,
    /// Italian.
    ItIt,
    /// Japanese.
    JaJp,
    /// Korean.
    KoKr,
    /// Norwegian.
    NbNo,
    /// Polish.
    PlPl,
    /// Portuguese, Brazilian.
    PtBr,
    /// Portuguese, European.
    PtPt,
    /// Romanian.
    RoRo,
    /// Russian.
    RuRu,
    /// Spanish, European.
    EsEs,
    /// Spanish, US.
    EsUs,
    /// Swedish.
    SvSe,
    /// Turkish.
    TrTr,
    /// Welsh.
    CyGb,
}

impl Language {
    /// Every supported language, in the order of Telesign's table.
    pub const ALL: [Language; 27] = [
        Language::CmnCn,
        Language::DaDk,
        Language::NlNl,
        Language::EnAu,
        Language::EnGb,
        Language::EnIn,
        Language::EnUs,
        Language::EnGbWls,
        Language::FrFr,
        Language::FrCa,
        Language::DeDe,
        Language::HiIn,
        Language::IsIs,
        Language::ItIt,
        Language::JaJp,
        Language::KoKr,
        Language::NbNo,
        Language::PlPl,
        Language::PtBr,
        Language::PtPt,
        Language::RoRo,
        Language::RuRu,
        Language::EsEs,
        Language::EsUs,
        Language::SvSe,
        Language::TrTr,
        Language::CyGb,
    ];

    /// The tag as Telesign's table spells it, e.g. `en-GB-WLS`.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::CmnCn => "cmn-CN",
            Language::DaDk => "da-DK",
            Language::NlNl => "nl-NL",
            Language::EnAu => "en-AU",
            Language::EnGb => "en-GB",
            Language::EnIn => "en-IN",
            Language::EnUs => "en-US",
            Language::EnGbWls => "en-GB-WLS",
            Language::FrFr => "fr-FR",
            Language::FrCa => "fr-CA",
            Language::DeDe => "de-DE",
            Language::HiIn => "hi-IN",
            Language::IsIs => "is-IS",
            Language::ItIt => "it-IT",
            Language::JaJp => "ja-JP",
            Language::KoKr => "ko-KR",
            Language::NbNo => "nb-NO",
            Language::PlPl => "pl-PL",
            Language::PtBr => "pt-BR",
            Language::PtPt => "pt-PT",
            Language::RoRo => "ro-RO",
            Language::RuRu => "ru-RU",
            Language::EsEs => "es-ES",
            Language::EsUs => "es-US",
            Language::SvSe => "sv-SE",
            Language::TrTr => "tr-TR",
            Language::CyGb => "cy-GB",
        }
    }

    /// Finds a tag in any letter case, ignoring surrounding whitespace.
    pub fn parse(tag: &str) -> Result<Language, UnknownLanguage> {
        let trimmed = tag.trim();
        Language::ALL
            .into_iter()
            .find(|language| language.as_str().eq_ignore_ascii_case(trimmed))
            .ok_or_else(|| UnknownLanguage(tag.to_owned()))
    }
}

/// A tag that is not in Telesign's table; `Display` lists the ones that are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownLanguage(pub String);

impl fmt::Display for UnknownLanguage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known: Vec<&str> = Language::ALL.iter().map(|l| l.as_str()).collect();
        write!(
            f,
            "{:?} is not a supported TTS language (one of {})",
            self.0,
            known.join(", ")
        )
    }
}

impl std::error::Error for UnknownLanguage {}

impl Serialize for Language {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_27_distinct_tags() {
        let mut tags: Vec<&str> = Language::ALL.iter().map(|l| l.as_str()).collect();
        tags.sort_unstable();
        tags.dedup();
        assert_eq!(tags.len(), 27);
    }

    #[test]
    fn every_tag_round_trips_in_any_case() {
        for language in Language::ALL {
            let tag = language.as_str();
            assert_eq!(Language::parse(tag), Ok(language));
            assert_eq!(Language::parse(&tag.to_lowercase()), Ok(language));
            assert_eq!(
                Language::parse(&format!(" {} ", tag.to_uppercase())),
                Ok(language)
            );
        }
    }

    #[test]
    fn canonical_spelling() {
        assert_eq!(Language::parse("en-us").map(Language::as_str), Ok("en-US"));
        assert_eq!(
            Language::parse("EN-gb-wls").map(Language::as_str),
            Ok("en-GB-WLS")
        );
        assert_eq!(
            Language::parse("CMN-cn").map(Language::as_str),
            Ok("cmn-CN")
        );
    }

    #[test]
    fn unknown_tags_are_refused() {
        for tag in ["", "en", "en_US", "en-US-x", "zh-CN", "english", "en-GB-"] {
            let err = Language::parse(tag).unwrap_err();
            assert_eq!(err.0, tag);
            assert!(
                err.to_string().contains("not a supported TTS language"),
                "{err}"
            );
        }
    }
}
