//! `bilingual`: a clinic line in English and Spanish (routed from +15555550400), the fixture of
//! the languages' tests. The menu offers Spanish in Spanish (a part of its own language); choosing
//! it switches the call, and every later prompt, retry notice and the opening hours are said in
//! Spanish. Its menu is a greeting followed by a prompt of two parts: the ends of the greeting and
//! of the first part are the same bytes.

use ivr_core::flow::*;

pub fn flow() -> Flow {
    Flow::inbound("bilingual")
        .language("en-US")
        .translations("es-US", SPANISH)
        .step("welcome", say("Welcome to Example Clinic.").then("menu"))
        .step(
            "menu",
            menu(parts([
                "For appointments, press 1. For our hours, press 2.".into(),
                speak_in("es-US", "Para español, oprima 8."),
            ]))
            .option("1", "appointments")
            .option("2", "hours")
            .option("8", "spanish")
            .no_input("Sorry, I didn't hear a choice.")
            .invalid("Sorry, that is not an option.")
            .retries(1)
            .fallback("bye"),
        )
        .step("spanish", set_language("es-US").then("menu"))
        .step(
            "appointments",
            gather(
                "Enter your four digit patient number, then pound.",
                "patient",
            )
            .digits(4, 4)
            .retries(1)
            .fallback("bye")
            .then("noted"),
        )
        .step(
            "noted",
            say("Thank you, patient {patient|digits}. We will call you back.").then("bye"),
        )
        .step(
            "hours",
            hours("America/New_York")
                .open(Mon..=Sat, "08:00-20:00")
                .on_open("open_now")
                .on_closed("closed"),
        )
        .step("open_now", say("We are open now.").then("bye"))
        .step(
            "closed",
            say("We are closed. We are open {opening_hours}.").then("bye"),
        )
        .step("bye", say("Goodbye."))
}

const SPANISH: [(&str, &str); 11] = [
    ("Welcome to Example Clinic.", "Bienvenido a Example Clinic."),
    (
        "For appointments, press 1. For our hours, press 2.",
        "Para citas, oprima 1. Para nuestro horario, oprima 2.",
    ),
    ("We are open now.", "Estamos abiertos."),
    (
        "Sorry, I didn't hear a choice.",
        "Perdón, no escuché su opción.",
    ),
    (
        "Sorry, that is not an option.",
        "Perdón, esa opción no existe.",
    ),
    (
        "Enter your four digit patient number, then pound.",
        "Marque su número de paciente de cuatro dígitos y luego la tecla numeral.",
    ),
    ("Sorry, I didn't get that.", "Perdón, no le entendí."),
    (
        "Sorry, that entry is not valid.",
        "Perdón, ese número no es válido.",
    ),
    (
        "Thank you, patient {patient|digits}. We will call you back.",
        "Gracias, paciente {patient|digits}. Le llamaremos.",
    ),
    (
        "We are closed. We are open {opening_hours}.",
        "Estamos cerrados. Abrimos {opening_hours}.",
    ),
    ("Goodbye.", "Adiós."),
];
