//! Languages per call, on the `bilingual` test flow through the kit: the choice of Spanish at the
//! menu, every later prompt in it (retry notices and the opening hours included), the record's
//! language; and the checker's refusals.

use ivr_core::flow::validate::{validate, Rule};
use ivr_core::flow::*;
use ivr_testkit::{Call, Phone};

const CLINIC: &str = "+15555550400";

fn flows() -> Registry {
    test_flows::registry().with_settings(test_flows::settings)
}

#[test]
fn a_caller_who_chooses_spanish_hears_the_rest_of_the_call_in_spanish() {
    let mut call = Call::dial(flows(), CLINIC);
    call.hears("Welcome to Example Clinic.")
        .in_language("en-US")
        // A greeting, then a prompt of two parts: each part is reached.
        .hears("For appointments, press 1.")
        .in_language("en-US")
        .hears("Para español, oprima 8.")
        .in_language("es-US")
        .press("8")
        .hears("Para citas, oprima 1. Para nuestro horario, oprima 2.")
        .in_language("es-US")
        .hears("Para español, oprima 8.")
        .press("1")
        .hears("Marque su número de paciente de cuatro dígitos")
        .in_language("es-US")
        .silence()
        .hears("Perdón, no le entendí. Marque su número de paciente")
        .press("1234#")
        .hears("Gracias, paciente 1 2 3 4. Le llamaremos.")
        .hears("Adiós.")
        .in_language("es-US")
        .hangs_up();
    let record = call.record();
    assert_eq!(record.language.as_deref(), Some("es-US"));
    assert_eq!(
        record.visits.steps(),
        [
            "welcome",
            "menu",
            "spanish",
            "menu",
            "appointments",
            "noted",
            "bye"
        ]
    );
}

#[test]
fn a_call_that_stays_in_english_is_recorded_in_english() {
    let mut call = Call::dial(flows(), CLINIC);
    call.hears("Welcome")
        .hears("For appointments")
        .hears("Para español")
        .press("7")
        // A retry notice before a prompt of parts is said on its own, in the call's language.
        .hears("Sorry, that is not an option.")
        .in_language("en-US")
        .hears("For appointments, press 1.");
    call.hang_up();
    assert_eq!(call.record().language.as_deref(), Some("en-US"));
}

#[test]
fn the_opening_hours_are_said_in_the_language_of_the_call() {
    let mut call = Phone::new(flows())
        .at("2026-12-06T10:00:00-05:00") // a Sunday: closed
        .dial(CLINIC);
    call.hears("Welcome")
        .hears("For appointments")
        .hears("Para español")
        .press("8")
        .hears("Para citas")
        .hears("Para español")
        .press("2")
        .hears("Estamos cerrados. Abrimos de lunes a sábado de 8 AM a 8 PM.")
        .in_language("es-US");
}

#[test]
fn the_checker_refuses_a_text_without_its_pair_and_placeholders_that_differ() {
    let flow = Flow::inbound("f")
        .translations("es-US", [("Hello {name|or:there}.", "Hola {nombre|or:}.")])
        .step("hi", say("Hello {name|or:there}.").then("menu"))
        .step("menu", menu("Press 1.").option("1", "es").fallback("bye"))
        .step("es", set_language("fr-FR").then("bye"))
        .step("bye", say("Goodbye."));
    let rules: Vec<(Rule, Option<String>)> = validate(&flow)
        .into_iter()
        .map(|p| (p.rule, p.step))
        .collect();
    for want in [
        (Rule::TranslationPlaceholders, Some("hi".to_owned())),
        (Rule::MissingTranslation, Some("menu".to_owned())),
        (Rule::MissingTranslation, Some("bye".to_owned())),
        (Rule::UndeclaredLanguage, Some("es".to_owned())),
    ] {
        assert!(rules.contains(&want), "{want:?} not in {rules:?}");
    }
    let unknown = Flow::inbound("g")
        .translations("xx-XX", [("Hi.", "Hi.")])
        .step("hi", say("Hi."));
    assert!(validate(&unknown)
        .iter()
        .any(|p| p.rule == Rule::InvalidLanguage));
    let hours_in_french = Flow::inbound("h")
        .language("fr-FR")
        .step(
            "office",
            hours("Europe/Paris")
                .open(Mon..=Fri, "09:00-17:00")
                .on_open("open")
                .on_closed("closed"),
        )
        .step("open", say("Ouvert."))
        .step("closed", say("Fermé. Nous ouvrons {opening_hours}."));
    assert!(validate(&hours_in_french)
        .iter()
        .any(|p| p.rule == Rule::HoursInEnglish && p.rule.is_warning()));
}
