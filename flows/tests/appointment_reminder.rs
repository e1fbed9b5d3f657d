//! Tests of the `appointment_reminder` flow, written with the flow-testing kit
//! (docs/testing-flows.md). They are yours: change them along with the flow.

use ivr_testkit::{Call, CallOutcome};

const PATIENT: [(&str, &str); 2] = [("name", "Sam"), ("when", "Friday at 9 AM")];

#[test]
fn the_patient_confirms_and_the_choice_is_kept() {
    let mut call = Call::place(flows::registry(), "appointment_reminder", &PATIENT);
    call.answers()
        .hears("Hello Sam.")
        .also_hears("your appointment on Friday at 9 AM")
        .press("1")
        .hears("Your appointment is confirmed.")
        .hangs_up();
    assert_eq!(call.record().vars["choice"], "confirmed");
}

#[test]
fn the_patient_hears_it_again_then_cancels() {
    let mut call = Call::place(flows::registry(), "appointment_reminder", &PATIENT);
    call.answers()
        .hears("Hello Sam.")
        .press("9")
        .hears("Hello Sam.")
        .press("2")
        .hears("Your appointment has been cancelled.")
        .hangs_up();
    assert_eq!(call.record().vars["choice"], "cancelled");
}

#[test]
fn silence_and_a_wrong_key_end_with_a_promise_to_call_again() {
    let mut call = Call::place(flows::registry(), "appointment_reminder", &PATIENT);
    call.answers()
        .hears("Hello Sam.")
        .silence()
        .hears("Sorry, I didn't get that.")
        .press("5")
        .hears("Sorry, that is not a valid choice.")
        .silence()
        .hears("We will call again later.")
        .hangs_up();
    assert!(!call.record().vars.contains_key("choice"));
}

#[test]
fn nobody_picks_up() {
    let mut call = Call::place(flows::registry(), "appointment_reminder", &PATIENT);
    call.is_not_answered();
    assert_eq!(call.record().outcome, CallOutcome::DialFailed);
}
