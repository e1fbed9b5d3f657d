//! Tests of the `bank_menu` flow, written with the flow-testing kit (docs/testing-flows.md).
//! They are yours: change them along with the flow. `npm run flows:test` runs them.

use ivr_testkit::{Answer, Call, Phone};

/// Any number without a route of its own reaches the default inbound flow, `bank_menu`.
const BANK: &str = "+15555551212";

#[test]
fn the_caller_hears_the_balance_of_a_valid_account() {
    let mut call = Phone::new(flows::registry())
        .setting("BANK_API_URL", "https://bank.example.com/v1")
        .setting("BANK_API_KEY", "k-123")
        .dial(BANK);
    call.hears("Thank you for calling Example Bank.")
        .hears("For your account balance, press 1.")
        .press("1")
        .hears("Please enter your eight digit account number")
        .answer_fetch(Answer::json(r#"{"balance": "1234.56"}"#).after_ms(1_500))
        .press("12345674#")
        .hears("One moment while I look up your balance.")
        .on_hold()
        .hears("account ending in 5674 is 1234.56 dollars")
        .hears("For your account balance, press 1.")
        .hang_up();
    let requests = call.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].url,
        "https://bank.example.com/v1/accounts/12345674/balance"
    );
    assert!(requests[0]
        .headers
        .contains(&("authorization".into(), "Bearer k-123".into())));
    assert_eq!(call.var("balance").as_deref(), Some("1234.56"));
    // The account number is a sensitive entry: the bank's API got it, and the call's record
    // keeps only its mask.
    let record = call.record();
    assert_eq!(call.var("account"), None);
    assert!(record.answers.iter().any(|a| a.digits == "****5674"));
    assert!(!serde_json::to_string(&record).unwrap().contains("12345674"));
}

#[test]
fn a_mistyped_account_number_is_refused_before_any_lookup() {
    let mut call = Call::dial(flows::registry(), BANK);
    call.hears("Thank you for calling")
        .hears("For your account balance")
        .press("1")
        .hears("eight digit account number")
        .press("12345678#")
        .hears("Sorry, that account number is not valid.");
    assert!(call.requests().is_empty());
}

#[test]
fn when_the_bank_api_fails_the_caller_hears_an_apology_and_returns_to_the_menu() {
    let mut call = Call::dial(flows::registry(), BANK);
    call.hears("Thank you for calling")
        .hears("For your account balance")
        .press("1")
        .hears("eight digit account number")
        .answer_fetch(Answer::status(503, "unavailable"))
        .press("12345674#")
        .hears("One moment")
        .on_hold()
        .hears("we cannot look up your balance right now")
        .hears("For your account balance");
}

#[test]
fn a_lost_card_is_blocked_and_the_call_ends() {
    let mut call = Call::dial(flows::registry(), BANK);
    call.hears("Thank you for calling")
        .hears("For your account balance")
        .press("2")
        .hears("To report a lost or stolen card, press 1.")
        .press("1")
        .hears_matching(r"call you back at \d+")
        .hears("Goodbye.")
        .hangs_up();
    assert_eq!(
        call.record().visits.steps(),
        ["welcome", "main_menu", "cards_menu", "card_lost", "goodbye"]
    );
}

#[test]
fn silence_and_wrong_keys_reprompt_then_the_call_ends_politely() {
    let mut call = Call::dial(flows::registry(), BANK);
    // The main menu has two parts, the second in Spanish; a retry notice is said before them.
    call.hears("Thank you for calling")
        .hears("For your account balance")
        .hears("Para español, oprima 8.")
        .silence()
        .hears("Sorry, I didn't hear a choice.")
        .hears("For your account balance")
        .hears("Para español")
        .press("7")
        .hears("Sorry, that is not one of the options.")
        .hears("For your account balance")
        .hears("Para español")
        .silence()
        .hears("Thank you for banking with Example Bank. Goodbye.")
        .hangs_up();
}

#[test]
fn a_caller_who_chooses_spanish_hears_the_bank_in_spanish() {
    let mut call = Phone::new(flows::registry())
        .setting("BANK_API_URL", "https://bank.example.com/v1")
        .dial(BANK);
    call.hears("Thank you for calling Example Bank.")
        .hears("For your account balance, press 1.")
        .hears("Para español, oprima 8.")
        .in_language("es-US")
        .press("8")
        .hears("Para el saldo de su cuenta, oprima 1.")
        .in_language("es-US")
        .hears("Para español")
        .press("1")
        .hears("Marque su número de cuenta de ocho dígitos")
        .press("12345678#")
        .hears("Perdón, ese número de cuenta no es válido.")
        .answer_fetch(Answer::json(r#"{"balance": "10.00"}"#))
        .press("12345674#")
        .hears("Un momento mientras consulto su saldo.")
        .on_hold()
        .hears("El saldo de la cuenta que termina en 5674 es de 10.00 dólares.")
        .in_language("es-US")
        .hang_up();
    assert_eq!(call.record().language.as_deref(), Some("es-US"));
}
