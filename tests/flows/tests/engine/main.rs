//! Host tests of the engine. Every path of every sample flow is walked with a [`Caller`], which
//! decodes each event as the shell does, checks each reply against the call-state rules and
//! redelivers each event that can only be a redelivery; small flows written here cover what the
//! samples cannot reach (flow errors, `send_dtmf`, audio prompts, loops). `property` drives the
//! sample flows with random events.

mod caller;
mod language;
mod property;
mod random_flows;

use serde_json::json;

use caller::{Caller, Heard, AGENT_LINE, BANK_LINE, CALLER, T0};

use ivr_core::engine::{
    fingerprint, handle, resume, Note, Outcome, Reply, Session, Wait, Write, MAX_HOPS,
    MAX_REDELIVERIES,
};
use ivr_core::engine::{AnswerResult, CallOutcome, MediaFailed};
use ivr_core::flow::*;
use ivr_core::telesign::{decode_event, Method};

fn registry() -> Registry {
    test_flows::registry().with_settings(test_flows::settings)
}

/// A registry of one inbound flow, the default for every number.
fn only(flow: Flow) -> Registry {
    let name = flow.name.clone();
    Registry::new().flow(flow).default_inbound(&name)
}

fn ok(body: &str) -> Result<FetchResponse, &'static str> {
    Ok(FetchResponse::new(200, body.to_owned()))
}

const MAIN_MENU: &str = "For your account balance, press 1. For cards, press 2.";
const ACCOUNT_PROMPT: &str = "Please enter your eight digit account number";
const CARDS_MENU: &str = "To report a lost or stolen card, press 1.";
const GOODBYE: &str = "Thank you for banking with Example Bank. Goodbye.";
/// An account number whose Luhn check digit is right.
const ACCOUNT: &str = "12345674";

/// A `bank` call, welcomed and at the main menu.
fn at_main_menu(registry: &Registry) -> Caller<'_> {
    let mut c = Caller::dialing(registry, BANK_LINE);
    let welcome = c.incoming_call();
    assert_eq!(welcome.note, Note::Started);
    welcome.says("Thank you for calling Example Bank.");
    c.speak_completed("").prompts(MAIN_MENU);
    c
}

fn at_account_prompt(registry: &Registry) -> Caller<'_> {
    let mut c = at_main_menu(registry);
    c.speak_completed("1").prompts(ACCOUNT_PROMPT);
    c
}

/// Says goodbye, then hangs up: the call ends as the flow meant it to.
fn goodbye_then_hangup(c: &mut Caller, goodbye: Heard) {
    goodbye.says(GOODBYE);
    c.speak_completed("").hangs_up();
    assert_eq!(c.wait(), Some(Wait::Hangup));
    assert_eq!(c.call_completed().outcome, CallOutcome::Completed);
}

fn results(c: &Caller) -> Vec<(String, String, String)> {
    c.session()
        .map(|s| s.answers)
        .or_else(|| c.record.clone().map(|r| r.answers))
        .unwrap_or_default()
        .into_iter()
        .map(|a| (a.step, a.digits, a.result.as_str().to_owned()))
        .collect()
}

fn triples(list: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    list.iter()
        .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
        .collect()
}

// ---- bank ----------------------------------------------------------------------------------

#[test]
fn bank_balance_is_looked_up_and_the_call_record_tells_the_story() {
    let r = registry();
    let mut c = at_account_prompt(&r);
    c.answer_fetch(ok(r#"{"balance": "1234.56"}"#));
    let balance = c.speak_completed(&format!("{ACCOUNT}#"));
    balance.says("The balance of the account ending in 5674 is 1234.56 dollars.");
    assert_eq!(
        c.requests,
        vec![FetchRequest::get(format!(
            "https://bank.example.com/v1/accounts/{ACCOUNT}/balance"
        ))
        .header("accept", "application/json")
        .header("x-api-key", "test-bank-key")],
        "exactly one lookup, although the event was delivered twice"
    );
    c.speak_completed("").prompts(MAIN_MENU);

    let record = c.call_completed();
    assert_eq!(record.outcome, CallOutcome::CallerHungUp);
    assert_eq!(record.flow.as_deref(), Some("bank"));
    assert_eq!(record.direction.map(|d| d.as_str()), Some("inbound"));
    assert_eq!(record.from.as_deref(), Some(CALLER));
    assert_eq!(record.to.as_deref(), Some(BANK_LINE));
    assert_eq!(record.status.as_deref(), Some("hangup"));
    assert_eq!(record.duration, Some(58));
    assert_eq!(
        record.answered_on_utc.as_deref(),
        Some("2024-05-01T10:00:02.000000")
    );
    assert_eq!(record.started_ms, Some(T0));
    // The account number is a sensitive entry: used for the lookup, then dropped, and kept in
    // the record as its mask only.
    assert_eq!(record.vars.get("account"), None);
    let account = record.answers.iter().find(|a| a.step == "account_number");
    assert_eq!(
        account.map(|a| (a.digits.as_str(), a.sensitive)),
        Some(("****5674", true))
    );
    assert!(!serde_json::to_string(&record).unwrap().contains(ACCOUNT));
    assert_eq!(
        record.vars.get("balance").map(String::as_str),
        Some("1234.56")
    );
    assert_eq!(
        record.visits.steps(),
        [
            "welcome",
            "main_menu",
            "account_number",
            "balance_lookup",
            "balance",
            "main_menu"
        ]
    );
    assert_eq!(
        record
            .answers
            .iter()
            .map(|a| (a.step.as_str(), a.digits.as_str(), a.result.as_str()))
            .collect::<Vec<_>>(),
        [
            ("main_menu", "1", "accepted"),
            ("account_number", "****5674", "accepted")
        ]
    );
    // Answers carry the time the engine was given, not a clock of its own.
    assert!(record
        .answers
        .iter()
        .all(|a| a.at_ms > T0 && (a.at_ms - T0).is_multiple_of(1_000)));
}

#[test]
fn prompts_collect_digits_as_the_flow_says() {
    let r = registry();
    let mut c = Caller::dialing(&r, BANK_LINE);
    assert!(
        c.incoming_call().collect().is_null(),
        "the welcome collects nothing"
    );
    let menu = c.speak_completed("");
    assert_eq!(
        menu.collect(),
        json!({"max": 1, "timeout": 5_000, "inter_digit_timeout": 3_000})
    );
    let account = c.speak_completed("1");
    assert_eq!(
        account.collect(),
        json!({"max": 8, "timeout": 10_000, "inter_digit_timeout": 4_000, "terminators": "#"})
    );
}

#[test]
fn a_numeric_balance_is_spoken_too() {
    let r = registry();
    let mut c = at_account_prompt(&r);
    c.answer_fetch(ok(r#"{"balance": 42.5}"#));
    c.speak_completed(&format!("{ACCOUNT}#"))
        .says("ending in 5674 is 42.5 dollars");
}

#[test]
fn a_failed_lookup_apologises_and_returns_to_the_main_menu() {
    let failures: [Result<FetchResponse, &str>; 4] = [
        Ok(FetchResponse::new(503, r#"{"balance": "1.00"}"#)),
        Err("no answer within 3000 ms"),
        ok("not json"),
        ok(r#"{"balance": null}"#),
    ];
    for failure in failures {
        let r = registry();
        let mut c = at_account_prompt(&r);
        c.answer_fetch(failure.clone());
        c.speak_completed(&format!("{ACCOUNT}#"))
            .says("Sorry, we cannot look up your balance right now.");
        c.speak_completed("").prompts(MAIN_MENU);
        let s = c.session().unwrap_or_else(|| panic!("no session"));
        assert!(!s.vars.contains_key("balance"), "{failure:?}");
        assert_eq!(s.step, "main_menu");
    }
}

#[test]
fn a_mistyped_account_number_is_retried_by_the_luhn_check_then_given_up() {
    let r = registry();
    let mut c = at_account_prompt(&r);
    // Each entry is a new event (different digits), failing the check digit.
    for wrong in ["12345678#", "12345670#"] {
        let again = c.speak_completed(wrong);
        again.prompts("Sorry, that account number is not valid. Please enter your eight digit");
        assert_eq!(c.session().map(|s| s.step), Some("account_number".into()));
    }
    let bye = c.speak_completed("12345671#");
    assert!(c.requests.is_empty(), "an invalid account was looked up");
    goodbye_then_hangup(&mut c, bye);
    let record = c.record.clone().unwrap_or_else(|| panic!("no record"));
    assert_eq!(record.visits.steps().last().copied(), Some("goodbye"));
}

#[test]
fn the_retry_count_is_shared_by_the_gather_and_the_luhn_check_and_reset_by_a_new_input_step() {
    let r = registry();
    let mut c = at_main_menu(&r);
    // Both retries of the main menu are spent...
    c.speak_timeout().prompts("Sorry, I didn't hear a choice.");
    c.speak_completed("8")
        .prompts("Sorry, that is not one of the options.");
    // ...and the account number starts with its own.
    c.speak_completed("1").prompts(ACCOUNT_PROMPT);
    c.speak_completed("1234#")
        .prompts("Sorry, that account number is not valid.");
    c.speak_completed("12345678#")
        .prompts("Sorry, that account number is not valid.");
    let bye = c.speak_completed("12345670#");
    goodbye_then_hangup(&mut c, bye);
    assert_eq!(
        results(&c)[3..],
        triples(&[
            ("account_number", "**34", "invalid"),
            ("account_number", "****5678", "refused"),
            ("account_number", "****5670", "refused"),
        ])[..]
    );
}

#[test]
fn gather_refuses_too_few_and_too_many_digits() {
    let r = registry();
    let mut c = at_account_prompt(&r);
    c.speak_completed("1234#")
        .prompts("Sorry, that account number is not valid.");
    c.speak_completed("123456789")
        .prompts("Sorry, that account number is not valid.");
    c.answer_fetch(ok(r#"{"balance": "0"}"#));
    c.speak_completed(ACCOUNT).says("is 0 dollars");
    let last = results(&c);
    assert_eq!(
        last[1..],
        triples(&[
            ("account_number", "**34", "invalid"),
            ("account_number", "*****6789", "invalid"),
            ("account_number", "****5674", "accepted"),
        ])[..]
    );
}

#[test]
fn digits_typed_before_a_timeout_count() {
    let r = registry();
    let mut c = at_account_prompt(&r);
    c.answer_fetch(ok(r#"{"balance": "5"}"#));
    // Eight keys in about three seconds, then the 4 s inter-digit timeout: sooner than the
    // prompt's 10 s first-digit timeout, which only applies before the first key.
    c.wait_ms(6_000);
    c.event(
        "speak_completed",
        json!({"status": "digit_collection_timeout", "collected_digits": ACCOUNT}),
    )
    .says("is 5 dollars");
}

#[test]
fn silence_at_a_gather_reprompts_then_gives_up() {
    let r = registry();
    let mut c = at_account_prompt(&r);
    // Three identical bodies: each is a new timeout, since a timeout is what the call awaits.
    for _ in 0..2 {
        c.speak_timeout()
            .prompts("Sorry, I didn't get that. Please enter your eight digit");
    }
    let bye = c.speak_timeout();
    goodbye_then_hangup(&mut c, bye);
    let record = c.record.clone().unwrap_or_else(|| panic!("no record"));
    let no_input = record
        .answers
        .iter()
        .filter(|a| a.result == AnswerResult::NoInput)
        .count();
    assert_eq!(no_input, 3);
}

#[test]
fn silence_at_the_main_menu_reprompts_twice_then_says_goodbye() {
    let r = registry();
    let mut c = at_main_menu(&r);
    for _ in 0..2 {
        let again = c.speak_timeout();
        again.prompts("Sorry, I didn't hear a choice. For your account balance, press 1.");
    }
    let bye = c.speak_timeout();
    goodbye_then_hangup(&mut c, bye);
}

#[test]
fn wrong_keys_at_the_main_menu_reprompt_twice_then_say_goodbye() {
    let r = registry();
    let mut c = at_main_menu(&r);
    for key in ["5", "5"] {
        c.speak_completed(key)
            .prompts("Sorry, that is not one of the options. For your account balance");
    }
    let bye = c.speak_completed("7");
    goodbye_then_hangup(&mut c, bye);
}

#[test]
fn the_repeat_key_replays_the_menu_without_spending_a_retry() {
    let r = registry();
    let mut c = at_main_menu(&r);
    c.speak_timeout().prompts("Sorry, I didn't hear a choice.");
    for _ in 0..3 {
        let again = c.speak_completed("9");
        assert!(again.said().starts_with(MAIN_MENU), "{again:?}");
        again.prompts(MAIN_MENU);
    }
    // One retry spent so far: one more wrong key is still reprompted.
    c.speak_completed("4")
        .prompts("Sorry, that is not one of the options.");
    let bye = c.speak_completed("6");
    goodbye_then_hangup(&mut c, bye);
    let repeats = c
        .record
        .iter()
        .flat_map(|r| &r.answers)
        .filter(|a| a.result == AnswerResult::Repeat)
        .count();
    assert_eq!(repeats, 3);
}

#[test]
fn no_input_and_wrong_keys_share_the_retries_and_a_good_key_moves_on() {
    let r = registry();
    let mut c = at_main_menu(&r);
    c.speak_timeout().prompts("Sorry, I didn't hear a choice.");
    c.speak_completed("8")
        .prompts("Sorry, that is not one of the options.");
    c.speak_completed("2").prompts(CARDS_MENU);
    // The cards menu has retries of its own.
    for key in ["7", "8"] {
        c.speak_completed(key)
            .prompts("Sorry, that is not a valid choice. To report");
    }
    let bye = c.speak_completed("9");
    goodbye_then_hangup(&mut c, bye);
}

#[test]
fn a_lost_card_is_blocked_and_the_caller_number_is_read_back() {
    let r = registry();
    let mut c = at_main_menu(&r);
    c.speak_completed("2").prompts(CARDS_MENU);
    c.speak_completed("1").says(
        "Your cards are now blocked. We will call you back at 1 5 5 5 8 6 7 5 3 0 9 within one \
         business day.",
    );
    // Two say steps in a row: their completions are the very same body.
    let bye = c.speak_completed("");
    goodbye_then_hangup(&mut c, bye);
    let record = c.record.clone().unwrap_or_else(|| panic!("no record"));
    assert_eq!(
        record.visits.steps(),
        ["welcome", "main_menu", "cards_menu", "card_lost", "goodbye"]
    );
}

#[test]
fn a_new_card_is_activated_and_the_menu_comes_back() {
    let r = registry();
    let mut c = at_main_menu(&r);
    c.speak_completed("2").prompts(CARDS_MENU);
    let prompt = c.speak_completed("2");
    prompt.prompts("Enter the last four digits of your new card.");
    assert_eq!(prompt.collect()["max"], 4);
    assert_eq!(prompt.collect()["terminators"], "#");
    c.speak_completed("4321#")
        .says("Your card ending in 4 3 2 1 is now active.");
    c.speak_completed("").prompts(MAIN_MENU);
    assert_eq!(
        c.session().and_then(|s| s.vars.get("card_last4").cloned()),
        Some("4321".into())
    );
}

#[test]
fn a_wrong_card_entry_is_retried_then_given_up() {
    let r = registry();
    let mut c = at_main_menu(&r);
    c.speak_completed("2").prompts(CARDS_MENU);
    c.speak_completed("2").prompts("Enter the last four digits");
    for entry in ["12#", "123#"] {
        c.speak_completed(entry)
            .prompts("Sorry, that entry is not valid. Enter the last four digits");
    }
    let bye = c.speak_completed("1#");
    goodbye_then_hangup(&mut c, bye);
}

#[test]
fn star_goes_back_to_the_main_menu_and_the_same_choice_works_twice() {
    let r = registry();
    let mut c = at_main_menu(&r);
    c.speak_completed("2").prompts(CARDS_MENU);
    c.speak_completed("*").prompts(MAIN_MENU);
    // The very same body as the first "2": a new choice, not a redelivery.
    c.speak_completed("2").prompts(CARDS_MENU);
    c.speak_completed("*").prompts(MAIN_MENU);
    assert_eq!(
        c.session().map(|s| s.visits.steps().join(" ")),
        Some("welcome main_menu cards_menu main_menu cards_menu main_menu".to_owned())
    );
}

#[test]
fn a_second_balance_after_the_first_is_looked_up_too() {
    let r = registry();
    let mut c = at_account_prompt(&r);
    for balance in ["10", "20"] {
        c.answer_fetch(ok(&format!(r#"{{"balance": "{balance}"}}"#)));
        c.speak_completed(&format!("{ACCOUNT}#"))
            .says(&format!("is {balance} dollars"));
        c.speak_completed("").prompts(MAIN_MENU);
        c.speak_completed("1").prompts(ACCOUNT_PROMPT);
    }
    assert_eq!(c.requests.len(), 2);
}

#[test]
fn a_withheld_caller_id_is_still_answered() {
    let r = registry();
    let mut c = Caller::with_parties(&r, "ref-anon", BANK_LINE, "anonymous");
    c.incoming_call()
        .says("Thank you for calling Example Bank.");
    assert_eq!(c.session().and_then(|s| s.from), None);
}

// ---- reminder -------------------------------------------------------------------------------

fn reminder(registry: &Registry) -> Caller<'_> {
    Caller::placed(
        registry,
        "reminder",
        &[("name", "Alex"), ("when", "Tuesday at 2 PM")],
    )
}

const REMINDER: &str = "Hello Alex. This is Example Clinic reminding you of your appointment on \
                        Tuesday at 2 PM. To confirm, press 1.";

#[test]
fn a_reminder_is_confirmed() {
    let r = registry();
    let mut c = reminder(&r);
    let start = c.dial_completed("answered");
    assert_eq!(start.note, Note::Advanced);
    start.prompts(REMINDER);
    assert_eq!(start.collect()["max"], 1);
    assert_eq!(start.collect()["timeout"], 8_000);
    c.speak_completed("1")
        .says("Thank you. Your appointment is confirmed. Goodbye.");
    c.speak_completed("").hangs_up();
    let record = c.call_completed();
    assert_eq!(record.outcome, CallOutcome::Completed);
    assert_eq!(record.direction.map(|d| d.as_str()), Some("outbound"));
    assert_eq!(record.from.as_deref(), Some(BANK_LINE));
    assert_eq!(record.to.as_deref(), Some(CALLER));
    assert_eq!(record.external_id.as_deref(), Some("ext-42"));
    assert_eq!(
        record.vars.get("choice").map(String::as_str),
        Some("confirmed")
    );
    assert_eq!(record.vars.get("name").map(String::as_str), Some("Alex"));
    assert_eq!(record.visits.steps(), ["reminder", "confirmed"]);
}

#[test]
fn a_reminder_is_cancelled_after_hearing_it_again() {
    let r = registry();
    let mut c = reminder(&r);
    // Telesign's pages use both names for the answered status.
    c.dial_completed("call_answered").prompts(REMINDER);
    c.speak_completed("9").prompts(REMINDER);
    c.speak_completed("3")
        .prompts("Sorry, that is not a valid choice. Hello Alex.");
    c.speak_completed("2")
        .says("Your appointment has been cancelled.");
    c.speak_completed("").hangs_up();
    let record = c.call_completed();
    assert_eq!(
        record.vars.get("choice").map(String::as_str),
        Some("cancelled")
    );
    assert_eq!(
        record
            .answers
            .iter()
            .map(|a| a.result.as_str())
            .collect::<Vec<_>>(),
        ["repeat", "invalid", "accepted"]
    );
}

#[test]
fn a_reminder_nobody_answers_ends_with_the_no_response_message() {
    let r = registry();
    let mut c = reminder(&r);
    c.dial_completed("answered").prompts(REMINDER);
    for _ in 0..2 {
        c.speak_timeout()
            .prompts("Sorry, I didn't get that. Hello Alex.");
    }
    c.speak_timeout()
        .says("We did not receive an answer. We will call again later. Goodbye.");
    c.speak_completed("").hangs_up();
    let record = c.call_completed();
    assert_eq!(record.outcome, CallOutcome::Completed);
    assert!(!record.vars.contains_key("choice"));
}

#[test]
fn a_reminder_that_never_connects_leaves_a_dial_failed_record() {
    for status in ["failed", "busy", ""] {
        let r = registry();
        let mut c = reminder(&r);
        let heard = c.dial_completed(status);
        assert!(heard.reply.is_none(), "{heard:?}");
        assert_eq!(heard.note, Note::Finished);
        let record = c.record.clone().unwrap_or_else(|| panic!("no record"));
        assert_eq!(record.outcome, CallOutcome::DialFailed);
        assert_eq!(record.status.as_deref(), Some(status));
        assert_eq!(record.external_id.as_deref(), Some("ext-42"));
        // Telesign may still close the call: no session is left, so that record is
        // `unknown_call` (the shell keeps the first record).
        assert_eq!(c.call_completed().outcome, CallOutcome::UnknownCall);
    }
}

#[test]
fn a_reminder_ignores_events_before_it_is_answered() {
    let r = registry();
    let mut c = reminder(&r);
    c.speak_completed("1").is_stale();
    c.leg_completed("call_answered").is_stale();
    assert_eq!(c.wait(), Some(Wait::Answer));
    c.dial_completed("answered").prompts(REMINDER);
}

// ---- forwarding -----------------------------------------------------------------------------

#[test]
fn calls_to_the_support_number_hunt_through_the_agents_then_apologise() {
    let r = registry();
    let mut c = Caller::dialing(&r, AGENT_LINE);
    let first = c.incoming_call();
    assert_eq!(first.dialed(), "15555550101");
    assert_eq!(first.params()["caller_id_number"], "15555550200");
    assert!(
        first.params()["record_call"].is_null(),
        "sent only when asked for"
    );
    assert_eq!(c.leg_completed("call_not_answered").dialed(), "15555550102");
    assert_eq!(c.leg_completed("line_busy").dialed(), "15555550103");
    c.leg_completed("call_cancelled")
        .says("Sorry, all of our agents are busy right now.");
    c.speak_completed("").hangs_up();
    let record = c.call_completed();
    assert_eq!(record.outcome, CallOutcome::NoAnswer);
    assert_eq!(record.flow.as_deref(), Some("forwarding"));
    assert_eq!(record.visits.steps(), ["office_hours", "agents", "apology"]);
}

#[test]
fn outside_opening_hours_the_support_line_says_when_the_agents_are_there() {
    let r = registry();
    // Sat 2026-12-05 14:00 and Fri 2026-12-25 12:00 in New York (after Saturday's hours, and a
    // holiday); T0 (a Tuesday, 17:13) is within them.
    for at in [1_796_497_200_000, 1_798_218_000_000] {
        let mut c = Caller::dialing(&r, AGENT_LINE);
        c.at(at);
        c.incoming_call().says(
            "Our agents are available Monday to Friday from 8 AM to 8 PM, and Saturday from \
             9 AM to 1 PM, New York time.",
        );
        c.speak_completed("").hangs_up();
        let record = c.call_completed();
        assert_eq!(record.visits.steps(), ["office_hours", "closed"]);
        assert_eq!(record.outcome, CallOutcome::Completed);
    }
}

#[test]
fn a_late_leg_event_of_an_earlier_agent_does_not_ring_the_next_one() {
    let r = registry();
    let mut c = Caller::dialing(&r, AGENT_LINE);
    assert_eq!(c.incoming_call().dialed(), "15555550101");
    let first_leg = json!({"to": "15555550101", "hangup_cause": "call_not_answered"});
    assert_eq!(
        c.event("call_leg_completed", first_leg.clone()).dialed(),
        "15555550102"
    );
    c.dial_completed("answered");
    // The first agent's leg event again, late, while the caller talks to the second agent.
    c.event("call_leg_completed", first_leg).is_stale();
    let second_leg = json!({"to": "15555550102", "hangup_cause": "call_answered"});
    c.event("call_leg_completed", second_leg).hangs_up();
    assert_eq!(c.call_completed().outcome, CallOutcome::Bridged);
}

#[test]
fn an_answered_agent_bridges_the_call_and_the_call_ends_after_the_leg() {
    let r = registry();
    let mut c = Caller::dialing(&r, AGENT_LINE);
    c.incoming_call();
    let answered = c.dial_completed("answered");
    assert_eq!(answered.note, Note::Ignored);
    assert!(answered.reply.is_none() && answered.changed);
    assert_eq!(
        c.session().and_then(|s| s.outcome).map(|o| o.as_str()),
        Some("bridged")
    );
    c.leg_completed("call_answered").hangs_up();
    assert_eq!(c.call_completed().outcome, CallOutcome::Bridged);
}

#[test]
fn a_failed_leg_tries_the_next_agent() {
    let r = registry();
    let mut c = Caller::dialing(&r, AGENT_LINE);
    c.incoming_call();
    let failed = c.dial_completed("failed");
    assert_eq!(failed.note, Note::Ignored);
    assert_eq!(c.leg_completed("call_not_answered").dialed(), "15555550102");
    assert_eq!(c.dial_completed("answered").note, Note::Ignored);
    let record = c.call_completed();
    assert_eq!(
        record.outcome.as_str(),
        "bridged",
        "the caller was with an agent"
    );
}

#[test]
fn a_caller_who_hangs_up_while_the_agents_ring_is_recorded() {
    let r = registry();
    let mut c = Caller::dialing(&r, AGENT_LINE);
    c.incoming_call();
    c.leg_completed("call_not_answered");
    let record = c.call_completed();
    assert_eq!(record.outcome, CallOutcome::CallerHungUp);
    assert_eq!(record.visits.steps(), ["office_hours", "agents"]);
}

// ---- Choosing the flow, and calls without a session ------------------------------------------

#[test]
fn inbound_calls_are_routed_by_the_called_number() {
    let r = registry();
    for (to, flow) in [
        (AGENT_LINE, "forwarding"),
        ("15555550200", "forwarding"),
        (BANK_LINE, "bank"),
        ("+15555550999", "bank"),
        ("", "bank"),
    ] {
        let mut c = Caller::dialing(&r, to);
        c.incoming_call();
        assert_eq!(c.session().map(|s| s.flow), Some(flow.to_owned()), "{to}");
    }
}

#[test]
fn a_call_no_flow_answers_is_hung_up_without_a_session() {
    let r = Registry::new()
        .flow(Flow::inbound("sales").step("hi", say("Hi")))
        .route("+15555550300", "sales");
    let mut c = Caller::dialing(&r, BANK_LINE);
    let heard = c.incoming_call();
    heard.hangs_up();
    assert_eq!(heard.note, Note::NoFlow);
    assert!(!heard.changed && c.session().is_none());
    assert_eq!(c.call_completed().outcome, CallOutcome::UnknownCall);
}

#[test]
fn events_of_unknown_calls_are_hung_up_where_allowed() {
    let r = registry();
    let mut c = Caller::dialing(&r, BANK_LINE);
    for heard in [
        c.speak_completed("1"),
        c.play_completed(""),
        c.leg_completed("call_not_answered"),
        c.dial_completed("answered"),
    ] {
        heard.hangs_up();
        assert_eq!(heard.note, Note::UnknownCall);
        assert!(!heard.changed);
    }
    for heard in [
        c.dial_completed("failed"),
        c.unknown("play_multiple_completed"),
    ] {
        assert!(heard.reply.is_none(), "{heard:?}");
        assert_eq!(heard.note, Note::UnknownCall);
        assert!(!heard.changed);
    }
    assert!(c.session().is_none());
}

#[test]
fn call_completed_of_an_unknown_call_still_leaves_a_record() {
    let r = registry();
    let mut c = Caller::dialing(&r, BANK_LINE);
    let record = c.call_completed();
    assert_eq!(record.outcome, CallOutcome::UnknownCall);
    assert_eq!(record.flow, None);
    assert_eq!(record.direction.map(|d| d.as_str()), Some("inbound"));
    assert_eq!(record.from.as_deref(), Some(CALLER));
    assert_eq!(record.to.as_deref(), Some(BANK_LINE));
    assert_eq!(record.duration, Some(58));
    assert_eq!(record.started_ms, None);
    // A redelivered call_completed also finds no session: the same record again.
    let again = c.call_completed();
    assert_eq!(again.outcome, CallOutcome::UnknownCall);
}

// ---- Redeliveries and stale events ---------------------------------------------------------

#[test]
fn a_redelivered_event_gets_the_same_answer_and_advances_once() {
    let r = registry();
    let mut c = at_account_prompt(&r);
    c.answer_fetch(ok(r#"{"balance": "3"}"#));
    let body = c.body(
        "speak_completed",
        json!({"status": "speak_successful", "collected_digits": "12345674#"}),
    );
    let first = c.deliver(&body);
    let before = c.session();
    for repeat in 1..=MAX_REDELIVERIES {
        let again = c.deliver(&body);
        assert_eq!(again.note, Note::Duplicate);
        assert_eq!(again.reply, first.reply);
        assert!(!again.changed);
        // Only the count of the body's repeats is kept.
        let after = c.session();
        assert_eq!(
            after
                .as_ref()
                .and_then(|s| s.last.as_ref())
                .map(|l| l.repeats),
            Some(repeat)
        );
        let mut unrepeated = after.clone();
        if let Some(last) = unrepeated.as_mut().and_then(|s| s.last.as_mut()) {
            last.repeats = 0;
        }
        assert_eq!(unrepeated, before);
    }
    assert_eq!(c.requests.len(), 1, "the lookup ran once");
    // Once more than a redelivery comes, the same body is the call's next event: here keys
    // during the balance, which stop it and go back to the main menu.
    let next = c.deliver(&body);
    assert_eq!(next.note, Note::Advanced);
    next.prompts(MAIN_MENU);
}

#[test]
fn a_greeting_then_a_menu_in_two_parts_reaches_the_second_part() {
    // Both parts end with the same bytes as the greeting (speak_successful, no keys): each is the
    // next event, not a redelivery of the one before (the second part was never reached before).
    let flow = Flow::inbound("bilingual")
        .step("hi", say("Welcome.").then("menu"))
        .step(
            "menu",
            menu(parts([
                "For English, press 1.".into(),
                speak_in("es-US", "Para español, oprima 2."),
            ]))
            .option("1", "en")
            .option("2", "es"),
        )
        .step("en", say("English."))
        .step("es", say(speak_in("es-US", "Español.")));
    let r = only(flow);
    let mut c = Caller::dialing(&r, BANK_LINE);
    c.incoming_call().says("Welcome.");
    c.speak_completed("").says("For English, press 1.");
    c.speak_completed("").prompts("Para español, oprima 2.");
    c.speak_completed("2").says("Español.");
    c.speak_completed("").hangs_up();
    assert_eq!(c.call_completed().visits.steps(), ["hi", "menu", "es"]);
}

#[test]
fn a_second_incoming_call_with_another_body_gets_the_prompt_the_call_waits_on() {
    let r = registry();
    let mut c = Caller::dialing(&r, BANK_LINE);
    let first = c.incoming_call();
    let other = c.body(
        "incoming_call",
        json!({"to": "15555550100", "from": "15558675309"}),
    );
    c.deliver(&other).reissues(&first);
    let menu = c.speak_completed("");
    menu.prompts(MAIN_MENU);
    c.deliver(&other).reissues(&menu);
}

#[test]
fn an_older_event_delivered_late_gets_the_prompt_the_call_waits_on() {
    let r = registry();
    let mut c = at_main_menu(&r);
    let prompt = c.speak_completed("1");
    prompt.prompts("account number");
    let incoming = c.bodies[0].clone();
    c.deliver(&incoming).reissues(&prompt);
    // Completions of actions the call is not waiting for.
    let stored = c.stored().map(str::to_owned);
    c.play_completed("1").reissues(&prompt);
    c.leg_completed("call_answered").reissues(&prompt);
    c.dial_completed("answered").reissues(&prompt);
    assert_eq!(c.stored().map(str::to_owned), stored);
}

#[test]
fn after_the_hangup_only_call_completed_counts() {
    let r = registry();
    let mut c = at_main_menu(&r);
    c.speak_completed("2").prompts(CARDS_MENU);
    c.speak_completed("1");
    c.speak_completed("").says(GOODBYE);
    // (`speak_completed` redelivered gets the hangup again: `Caller::event` checks that.)
    c.speak_completed("").hangs_up();
    let stored = c.stored().map(str::to_owned);
    for heard in [
        c.speak_completed("1"),
        c.speak_timeout(),
        c.play_completed(""),
        c.leg_completed("call_not_answered"),
        c.dial_completed("answered"),
        c.incoming_call(),
    ] {
        heard.is_stale();
    }
    let unknown = c.unknown("something_new");
    assert_eq!(unknown.note, Note::Ignored);
    assert!(unknown.reply.is_none() && !unknown.changed);
    assert_eq!(c.stored().map(str::to_owned), stored);
    assert_eq!(c.call_completed().outcome, CallOutcome::Completed);
}

#[test]
fn a_late_completion_of_a_step_already_left_gets_the_prompt_the_call_waits_on() {
    let flow = Flow::inbound("audio")
        .step(
            "intro",
            say(audio("https://example.com/intro.wav")).then("menu"),
        )
        .step("menu", menu("Press 1.").option("1", "bye"))
        .step("bye", say("Bye."));
    let r = only(flow);
    let mut c = Caller::dialing(&r, BANK_LINE);
    let intro = c.incoming_call();
    assert_eq!(intro.method(), Some(Method::Play));
    assert_eq!(intro.params()["url"], "https://example.com/intro.wav");
    let menu = c.play_completed("");
    menu.prompts("Press 1.");
    // The intro's completion again, with another status: the call has left that step, and the
    // menu it waits on is prompted again.
    let late = c.body(
        "play_completed",
        json!({"status": "playback_failed", "collected_digits": ""}),
    );
    c.deliver(&late).reissues(&menu);
    c.speak_completed("1").says("Bye.");
}

#[test]
fn an_unknown_event_during_a_call_is_ignored() {
    let r = registry();
    let mut c = at_main_menu(&r);
    let stored = c.stored().map(str::to_owned);
    let heard = c.unknown("play_multiple_completed");
    assert_eq!(heard.note, Note::Ignored);
    assert!(heard.reply.is_none() && !heard.changed);
    assert_eq!(c.stored().map(str::to_owned), stored);
    c.speak_completed("2").prompts(CARDS_MENU);
}

// ---- Audio prompts, send_dtmf, templates ----------------------------------------------------

#[test]
fn an_audio_menu_is_reprompted_after_a_spoken_notice() {
    let flow = Flow::inbound("audio_menu")
        .step(
            "menu",
            menu(audio("https://example.com/menu.wav"))
                .option("1", "bye")
                .no_input("Please choose.")
                .retries(1),
        )
        .step("bye", say("Bye."));
    let r = only(flow);
    let mut c = Caller::dialing(&r, BANK_LINE);
    let menu = c.incoming_call();
    assert_eq!(menu.method(), Some(Method::Play));
    assert_eq!(menu.collect()["max"], 1);
    let notice = c.play_timeout();
    notice.says("Please choose.");
    assert_eq!(c.wait(), Some(Wait::Notice));
    // The menu's own play_completed cannot end the notice, which is said again.
    c.play_completed("1").reissues(&notice);
    let again = c.speak_completed("");
    assert_eq!(again.method(), Some(Method::Play));
    assert!(again.collect().is_object());
    // The retry is spent: no fallback, so the call ends.
    c.play_timeout().hangs_up();
    assert_eq!(c.call_completed().outcome, CallOutcome::Completed);
}

#[test]
fn gather_digit_limits_and_terminators_are_applied() {
    let flow = Flow::inbound("pin")
        .step(
            "pin",
            gather("Enter your PIN.", "pin")
                .digits(3, 5)
                .terminators("#*")
                .inter_digit_timeout_ms(2_000)
                .then("ok"),
        )
        .step("ok", say("PIN {pin|digits} accepted."));
    let r = only(flow);
    let mut c = Caller::dialing(&r, BANK_LINE);
    let prompt = c.incoming_call();
    assert_eq!(
        prompt.collect(),
        json!({"max": 5, "timeout": 8_000, "inter_digit_timeout": 2_000, "terminators": "#*"})
    );
    c.speak_completed("12#")
        .prompts("Sorry, that entry is not valid. Enter your PIN.");
    c.speak_completed("123*").says("PIN 1 2 3 accepted.");
}

#[test]
fn send_dtmf_continues_with_whatever_event_comes_next() {
    let flow = Flow::outbound("extension")
        .step("tones", send_dtmf("12w#").then("hi"))
        .step(
            "hi",
            say("Hello {name}, calling {caller|last4} from {called}."),
        );
    let r = Registry::new().flow(flow);
    for next in ["speak_completed", "send_dtmf_completed"] {
        let mut c = Caller::placed(&r, "extension", &[("name", "Sam")]);
        let tones = c.dial_completed("answered");
        assert_eq!(tones.method(), Some(Method::SendDtmf));
        assert_eq!(tones.params()["digits"], "12w#");
        assert_eq!(c.wait(), Some(Wait::Dtmf));
        c.leg_completed("call_answered").is_stale();
        let hello = c.event(next, json!({}));
        hello.says("Hello Sam, calling 5309 from +15555550100.");
        assert_eq!(c.wait(), Some(Wait::Speak));
    }
}

#[test]
fn a_flow_error_right_after_send_dtmf_still_hangs_up() {
    let flow = Flow::outbound("tones_then_error")
        .step("tones", send_dtmf("1").then("pick"))
        .step("pick", decide(["bye"], go_nowhere))
        .step("bye", say("Bye."));
    let r = Registry::new().flow(flow);
    let mut c = Caller::placed(&r, "tones_then_error", &[]);
    c.dial_completed("answered");
    c.unknown("send_dtmf_completed").hangs_up();
    assert_eq!(c.call_completed().outcome, CallOutcome::FlowError);
}

#[test]
fn templates_render_vars_and_the_caller() {
    let flow = Flow::inbound("echo")
        .step(
            "set",
            decide(["hi"], |ctx| {
                let caller = ctx.caller().unwrap_or_default().to_owned();
                ctx.set_var("who", caller);
                Next::to("hi")
            }),
        )
        .step(
            "hi",
            say("You are {who|last4}, you called {called|digits}, {{literal}, [{missing|or:nobody}]."),
        );
    let r = only(flow);
    let mut c = Caller::dialing(&r, BANK_LINE);
    c.incoming_call()
        .says("You are 5309, you called 1 5 5 5 5 5 5 0 1 0 0, {literal}, [nobody].");
}

// ---- Flow errors end the call politely -------------------------------------------------------

/// Walks a call with `walk`, whose last event must be answered with a hangup that ends the call
/// as a flow error.
fn ends_in_flow_error(r: &Registry, walk: impl FnOnce(&mut Caller) -> Heard) {
    let mut c = Caller::dialing(r, BANK_LINE);
    let heard = walk(&mut c);
    heard.hangs_up();
    assert_eq!(c.wait(), Some(Wait::Hangup));
    assert_eq!(c.call_completed().outcome, CallOutcome::FlowError);
}

fn go_nowhere(_: &mut Ctx) -> Next {
    Next::to("nowhere")
}

fn go_round(_: &mut Ctx) -> Next {
    Next::to("round")
}

fn retry_without_input(_: &mut Ctx) -> Next {
    Next::Retry
}

#[test]
fn an_undeclared_decide_target_ends_the_call_politely() {
    let flow = Flow::inbound("bad")
        .step("hi", say("Hi.").then("pick"))
        .step("pick", decide(["bye"], go_nowhere))
        .step("bye", say("Bye."))
        .step("nowhere", say("Should not be reached."));
    let r = only(flow);
    ends_in_flow_error(&r, |c| {
        c.incoming_call().says("Hi.");
        c.speak_completed("")
    });
}

#[test]
fn a_decide_loop_is_stopped_after_max_hops() {
    let flow = Flow::inbound("loop").step("round", decide(["round"], go_round));
    let r = only(flow);
    ends_in_flow_error(&r, |c| c.incoming_call());
    let mut c = Caller::dialing(&r, BANK_LINE);
    c.incoming_call();
    let visited = c.session().map(|s| s.visits.len());
    assert_eq!(visited, Some(MAX_HOPS));
}

#[test]
fn a_retry_with_no_input_step_behind_it_is_a_flow_error() {
    let flow = Flow::inbound("retry").step("pick", decide([], retry_without_input));
    ends_in_flow_error(&only(flow), |c| c.incoming_call());
}

#[test]
fn an_action_the_call_state_forbids_is_never_sent() {
    // A dial after a menu (the validator refuses it; the engine must not send it either).
    let flow = Flow::inbound("late_dial")
        .step("menu", menu("Press 1.").option("1", "agent"))
        .step("agent", dial(["+15555550101"]));
    ends_in_flow_error(&only(flow), |c| {
        c.incoming_call().prompts("Press 1.");
        c.speak_completed("1")
    });
    // send_dtmf in answer to incoming_call.
    let flow = Flow::inbound("early_tones").step("t", send_dtmf("1"));
    ends_in_flow_error(&only(flow), |c| c.incoming_call());
}

#[test]
fn an_outbound_flow_that_starts_with_dial_is_hung_up() {
    let flow = Flow::outbound("o").step("d", dial(["+15555550101"]));
    let r = Registry::new().flow(flow);
    let mut c = Caller::placed(&r, "o", &[]);
    c.dial_completed("answered").hangs_up();
    assert_eq!(c.call_completed().outcome, CallOutcome::FlowError);
}

#[test]
fn values_telesign_would_refuse_end_the_call_politely() {
    // A prompt that renders to nothing, and a number that renders to no number.
    let empty = Flow::inbound("empty").step("hi", say("{missing}"));
    ends_in_flow_error(&only(empty), |c| c.incoming_call());
    let no_number = Flow::inbound("nobody").step("d", dial(["{agent}"]));
    ends_in_flow_error(&only(no_number), |c| c.incoming_call());
    let no_steps = Flow::inbound("void");
    ends_in_flow_error(&only(no_steps), |c| c.incoming_call());
}

/// The reply and session of an outcome that answers and keeps the call.
fn hung_up(outcome: Outcome) -> (Reply, Session) {
    match outcome {
        Outcome::Done {
            reply: Some(reply),
            write: Write::Session(s),
            ..
        } => (reply, *s),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_flow_removed_while_a_call_is_live_ends_the_call_politely() {
    let r = registry();
    let c = at_main_menu(&r);
    let session = c.session();
    let without = Registry::new().flow(Flow::inbound("other").step("hi", say("Hi")));
    let body = c.body(
        "speak_completed",
        json!({"status": "speak_successful", "collected_digits": "1"}),
    );
    let event = decode_event(&body).unwrap_or_else(|e| panic!("{e}"));
    let (reply, s) = hung_up(handle(&without, session, &event, &fingerprint(&body), T0));
    assert_eq!(reply.method, Method::Hangup);
    assert_eq!(s.outcome.map(|o| o.as_str()), Some("flow_error"));
    assert_eq!(s.wait, Wait::Hangup);
}

#[test]
fn resume_at_a_step_that_does_not_fetch_is_a_flow_error_and_the_caller_hears_the_apology() {
    let r = registry();
    let c = at_main_menu(&r);
    let session: Session = c.session().unwrap_or_else(|| panic!("no session"));
    let body = c.body("speak_completed", json!({"collected_digits": "1"}));
    let event = decode_event(&body).unwrap_or_else(|e| panic!("{e}"));
    let response = FetchResponse::new(200, "{}");
    let (reply, s) = hung_up(resume(
        &r,
        session,
        Vec::new(),
        &event,
        &fingerprint(&body),
        Ok(&response),
        T0,
    ));
    // bank's `on_error` step, instead of a bare hang-up.
    assert_eq!(reply.method, Method::Speak);
    assert!(reply.json.contains("technical difficulties"), "{reply:?}");
    assert_eq!(s.step, "technical_difficulty");
    assert_eq!(s.outcome.map(|o| o.as_str()), Some("flow_error"));
}

// ---- Determinism ----------------------------------------------------------------------------

#[test]
fn the_same_inputs_give_the_same_outcome() {
    let r = registry();
    let c = at_account_prompt(&r);
    let body = c.body("speak_completed", json!({"collected_digits": "12345674#"}));
    let event = decode_event(&body).unwrap_or_else(|e| panic!("{e}"));
    let fp = fingerprint(&body);
    let run = || handle(&r, c.session(), &event, &fp, T0 + 99);
    let first = run();
    assert_eq!(first, run());
    let Outcome::Fetch {
        session, request, ..
    } = first
    else {
        panic!("{first:?}")
    };
    assert_eq!(request.method, "GET");
    let answer = FetchResponse::new(200, r#"{"balance":"1"}"#);
    let go = || {
        let session = (*session).clone();
        resume(&r, session, Vec::new(), &event, &fp, Ok(&answer), T0 + 99)
    };
    assert_eq!(go(), go());
    assert_eq!(fingerprint(&body), fp);
    assert_eq!(fp.len(), 16);
}

#[test]
fn fingerprints_are_stable_and_tell_bodies_apart() {
    // FNV-1a 64 of "a" (a published test vector), as hex: stable across builds and deploys.
    assert_eq!(fingerprint(b"a"), "af63dc4c8601ec8c");
    assert_ne!(fingerprint(b"{\"x\":1}"), fingerprint(b"{\"x\":2}"));
}

#[test]
fn only_phone_keys_reach_the_session() {
    let r = registry();
    let mut c = Caller::dialing(&r, "+15555551212");
    c.incoming_call();
    c.speak_completed("");
    // A signed event whose digits carry other characters: only the keys count.
    c.speak_completed("<2>")
        .prompts("To report a lost or stolen card, press 1.");
    let session = c.session().expect("live");
    assert_eq!(session.answers.last().map(|a| a.digits.as_str()), Some("2"));
}

// ---- Telesign fidelity: keys during prompts, empty entries, failed media, the hangup event. --

#[test]
fn a_key_during_the_welcome_ends_it_and_answers_the_main_menu() {
    let r = registry();
    let mut c = Caller::dialing(&r, BANK_LINE);
    c.incoming_call()
        .says("Thank you for calling Example Bank.");
    // The caller knows the menu: 1 during the welcome goes straight to the account number.
    c.speak_completed("1").prompts(ACCOUNT_PROMPT);
    assert_eq!(
        results(&c),
        triples(&[
            ("welcome", "1", "interrupted"),
            ("main_menu", "1", "accepted")
        ])
    );
    c.answer_fetch(ok(r#"{"balance": "1.00"}"#));
    c.speak_completed("12345674#")
        .says("The balance of the account ending in 5674 is 1.00 dollars.");
    let record = c.call_completed();
    assert_eq!(
        record.visits.steps(),
        [
            "welcome",
            "main_menu",
            "account_number",
            "balance_lookup",
            "balance"
        ]
        .map(str::to_owned)
        .to_vec()
    );
}

#[test]
fn a_key_during_a_message_followed_by_another_message_only_stops_the_first() {
    let r = registry();
    let mut c = at_main_menu(&r);
    c.speak_completed("2").prompts(CARDS_MENU);
    c.speak_completed("1").says("Your cards are now blocked.");
    // 5 stops the confirmation; goodbye is a message too, so the key answers nothing.
    c.speak_completed("5").says(GOODBYE);
    let last = results(&c).pop();
    assert_eq!(
        last,
        Some(("card_lost".into(), "5".into(), "interrupted".into()))
    );
}

#[test]
fn a_menu_answered_with_nothing_is_no_input() {
    let r = registry();
    let mut c = at_main_menu(&r);
    c.speak_completed("2").prompts(CARDS_MENU);
    // speak_successful with no keys while digits are collected: nothing was entered.
    let again = c.speak_completed("");
    again.prompts(CARDS_MENU);
    assert!(again.said().starts_with("Sorry, I didn't get that."));
    assert_eq!(
        results(&c).last().map(|a| a.2.clone()).as_deref(),
        Some("no_input")
    );
}

#[test]
fn the_welcomes_completion_again_at_the_menu_gets_the_menu_again() {
    let r = registry();
    let mut c = at_main_menu(&r);
    let menu = c.bodies.last().cloned().unwrap_or_default();
    // The same body as the welcome's completion: a menu without a terminator cannot end with
    // nothing entered, so it is the welcome's, again, and the menu is issued again.
    let again = c.deliver(&menu);
    assert_eq!(again.note, Note::Duplicate);
    again.prompts(MAIN_MENU);
    assert!(results(&c).is_empty());
}

#[test]
fn a_terminator_alone_at_a_gather_is_no_input_and_the_retries_lead_to_the_fallback() {
    let r = registry();
    let mut c = at_account_prompt(&r);
    for _ in 0..2 {
        let again = c.speak_completed("#");
        again.prompts(ACCOUNT_PROMPT);
        assert!(again.said().starts_with("Sorry, I didn't get that."));
    }
    let goodbye = c.speak_completed("##");
    goodbye_then_hangup(&mut c, goodbye);
    let kinds: Vec<String> = results(&c).into_iter().map(|a| a.2).collect();
    assert_eq!(
        kinds[kinds.len() - 3..],
        ["no_input", "no_input", "no_input"]
    );
}

#[test]
fn entries_past_the_terminator_too_long_or_with_star_inside_are_refused() {
    let r = registry();
    // Kept masked: the account number is a sensitive entry.
    for (typed, kept) in [
        ("1#2", "*"),
        ("123456789#", "*****6789"),
        ("12*45674#", "****5674"),
    ] {
        let mut c = at_account_prompt(&r);
        let again = c.speak_completed(typed);
        again.prompts(ACCOUNT_PROMPT);
        assert!(
            again
                .said()
                .starts_with("Sorry, that account number is not valid."),
            "{typed}"
        );
        assert_eq!(
            results(&c).last().map(|a| (a.1.clone(), a.2.clone())),
            Some((kept.to_owned(), "invalid".to_owned())),
            "{typed}"
        );
    }
}

#[test]
fn a_failed_prompt_is_tried_once_more_then_the_call_moves_on() {
    let r = registry();
    let mut c = Caller::dialing(&r, BANK_LINE);
    let welcome = c.incoming_call();
    welcome.says("Thank you for calling Example Bank.");
    let again = c.speak_failed();
    assert_eq!(again.reply, welcome.reply, "the same prompt once more");
    // Failed again: a message has nothing to wait for, so the call goes on to the menu.
    c.speak_failed().prompts(MAIN_MENU);
    // A menu that fails twice goes to its fallback.
    let menu_again = c.speak_failed();
    menu_again.prompts(MAIN_MENU);
    c.speak_failed().says(GOODBYE);
    let record = c.call_completed();
    let failed: Vec<(&str, &str)> = record
        .failures
        .iter()
        .map(|f| (f.step.as_str(), f.status.as_str()))
        .collect();
    assert_eq!(
        failed,
        [
            ("welcome", "speak_failed"),
            ("welcome", "speak_failed"),
            ("main_menu", "speak_failed"),
            ("main_menu", "speak_failed")
        ]
    );
}

#[test]
fn an_audio_prompt_that_cannot_be_played_is_spoken_instead() {
    let flow = Flow::inbound("audio_menu")
        .step(
            "menu",
            menu(audio("https://example.com/menu.wav").or_say("Press 1 for sales."))
                .option("1", "bye")
                .no_input("Please choose."),
        )
        .step("bye", say("Bye."));
    let r = only(flow);
    let mut c = Caller::dialing(&r, BANK_LINE);
    assert_eq!(c.incoming_call().method(), Some(Method::Play));
    let spoken = c.play_failed();
    spoken.prompts("Press 1 for sales.");
    assert_eq!(spoken.collect()["max"], 1, "still collects the menu's keys");
    // The retry after no input is spoken too, notice first, in one speak.
    let again = c.speak_timeout();
    again.prompts("Please choose. Press 1 for sales.");
    c.speak_completed("1").says("Bye.");
    let record = c.call_completed();
    assert_eq!(record.failures.len(), 1);
    assert_eq!(record.failures[0].status, MediaFailed::PlaybackFailed);
}

#[test]
fn the_hangup_event_ends_the_call_like_call_completed() {
    let r = registry();
    let mut c = at_main_menu(&r);
    c.speak_completed("2").prompts(CARDS_MENU);
    let record = c.hangup_event();
    assert_eq!(record.outcome, CallOutcome::CallerHungUp);
    assert_eq!(results(&c), triples(&[("main_menu", "2", "accepted")]));
}

#[test]
fn a_timeout_sooner_than_the_prompts_timeout_is_a_redelivery_and_a_later_one_is_not() {
    let r = registry();
    let mut c = at_main_menu(&r);
    // The first no-input (the harness waits the menu's 5 s timeout before sending it).
    let retry = c.speak_timeout();
    retry.prompts(MAIN_MENU);
    let timeout = c.bodies.last().cloned().unwrap_or_default();
    // The same body at once: the retry prompt cannot have timed out yet.
    let again = c.deliver(&timeout);
    assert_eq!(
        (again.note, again.reply.clone()),
        (Note::Duplicate, retry.reply.clone())
    );
    // Six seconds later the same body is the retry's own timeout: a second no-input.
    c.wait_ms(6_000);
    let second = c.deliver(&timeout);
    assert_eq!(second.note, Note::Advanced);
    let kinds: Vec<String> = results(&c).into_iter().map(|a| a.2).collect();
    assert_eq!(kinds, ["no_input", "no_input"]);
}

// ---- Settings -------------------------------------------------------------------------------

#[test]
fn a_flow_without_a_setting_it_declares_does_not_run_its_code_and_ends_in_its_apology() {
    let r = test_flows::registry()
        .with_settings(|name| test_flows::settings(name).filter(|_| name != "BANK_API_KEY"));
    assert_eq!(r.missing_settings(), [("bank", "BANK_API_KEY")]);
    let mut c = at_account_prompt(&r);
    c.speak_completed(&format!("{ACCOUNT}#"))
        .says("We are sorry, we are having technical difficulties.");
    assert!(
        c.requests.is_empty(),
        "the request was built without its key"
    );
    assert_eq!(
        c.session().and_then(|s| s.outcome).map(|o| o.as_str()),
        Some("flow_error")
    );
}
