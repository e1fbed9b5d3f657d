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
        .answer_fetch(Answer::json(r#"{"balance": "1234.56"}"#))
        .press("12345674#")
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
        call.record().visited,
        ["welcome", "main_menu", "cards_menu", "card_lost", "goodbye"]
    );
}

#[test]
fn silence_and_wrong_keys_reprompt_then_the_call_ends_politely() {
    let mut call = Call::dial(flows::registry(), BANK);
    call.hears("Thank you for calling")
        .hears("For your account balance")
        .silence()
        .hears("Sorry, I didn't hear a choice.")
        .press("7")
        .hears("Sorry, that is not one of the options.")
        .silence()
        .hears("Thank you for banking with Example Bank. Goodbye.")
        .hangs_up();
}
