//! The flow language's newer steps and options, walked with a [`Caller`]: opening hours,
//! template defaults and missing variables, gather checks, `fetch` with `on_ok`/`on_error`,
//! prompts of several parts, the flow's `on_error` step, dial options, and a deploy that
//! renames or removes the step a live call waits at.

use serde_json::json;

use super::caller::{Caller, BANK_LINE};
use super::{ok, only};
use ivr_core::engine::{CallOutcome, Wait};
use ivr_core::flow::validate::{check, Limits, Rule};
use ivr_core::flow::*;
use ivr_core::telesign::Method;

/// Mon 2026-12-07 10:00 in New York (15:00 UTC, EST).
const MONDAY_10AM_NY: u64 = 1_796_655_600_000;
/// Mon 2026-12-07 18:00 in New York.
const MONDAY_6PM_NY: u64 = 1_796_684_400_000;
/// Fri 2026-12-25 12:00 in New York (a closure).
const CHRISTMAS_NOON_NY: u64 = 1_798_218_000_000;

fn front_desk() -> Registry {
    only(
        Flow::inbound("desk")
            .step(
                "hours",
                hours("America/New_York")
                    .open(Mon..=Fri, "09:00-17:30")
                    .closed_on("2026-12-25")
                    .on_open("open")
                    .on_closed("closed"),
            )
            .step("open", say("We are open."))
            .step(
                "closed",
                say("We are closed. Our hours are {opening_hours}, New York time."),
            ),
    )
}

#[test]
fn opening_hours_branch_on_the_time_of_the_event() {
    let r = front_desk();
    for (at, heard) in [
        (MONDAY_10AM_NY, "We are open."),
        (MONDAY_6PM_NY, "We are closed."),
        (CHRISTMAS_NOON_NY, "We are closed."),
    ] {
        let mut c = Caller::dialing(&r, BANK_LINE);
        c.at(at);
        c.incoming_call().says(heard);
    }
    let mut c = Caller::dialing(&r, BANK_LINE);
    c.at(MONDAY_6PM_NY);
    c.incoming_call()
        .says("Our hours are Monday to Friday from 9 AM to 5:30 PM, New York time.");
    assert_eq!(c.session().unwrap().visits.steps(), ["hours", "closed"]);
}

#[test]
fn a_template_default_is_spoken_for_an_unset_variable_and_never_nothing() {
    let flow = Flow::inbound("t").step("hi", say("Hello {name|or:there}."));
    let r = only(flow);
    let mut c = Caller::dialing(&r, BANK_LINE);
    c.incoming_call().says("Hello there.");
}

fn greets_by_name() -> Flow {
    Flow::inbound("t")
        .step(
            "menu",
            menu("{name}, press 1 to go on.")
                .option("1", "bye")
                .fallback("generic"),
        )
        .step("generic", say("Press nothing. Goodbye."))
        .step("bye", say("Bye."))
}

#[test]
fn an_unset_variable_sends_the_call_to_the_steps_fallback() {
    let r = only(greets_by_name());
    let mut c = Caller::dialing(&r, BANK_LINE);
    c.incoming_call().says("Press nothing. Goodbye.");
    c.speak_completed("").hangs_up();
}

#[test]
fn an_unset_variable_without_a_fallback_goes_to_the_flows_error_step_then_hangs_up() {
    let flow = Flow::inbound("t")
        .on_error("sorry")
        .step("hi", say("Hello {name}."))
        .step("sorry", say("Sorry, something went wrong. Goodbye."));
    let r = only(flow);
    let mut c = Caller::dialing(&r, BANK_LINE);
    c.incoming_call().says("Sorry, something went wrong.");
    c.speak_completed("").hangs_up();
    assert_eq!(c.call_completed().outcome, CallOutcome::FlowError);

    // Without an error step the call is hung up at once.
    let bare = only(Flow::inbound("t").step("hi", say("Hello {name}.")));
    let mut c = Caller::dialing(&bare, BANK_LINE);
    c.incoming_call().hangs_up();
}

#[test]
fn a_flow_error_goes_to_the_error_step_once_and_an_error_there_hangs_up() {
    fn nowhere(_: &mut Ctx) -> Next {
        Next::to("nowhere")
    }
    let looped = Flow::inbound("t")
        .on_error("sorry")
        .step("start", decide(["sorry"], nowhere))
        .step("sorry", say("Sorry {missing}."));
    let r = only(looped);
    let mut c = Caller::dialing(&r, BANK_LINE);
    c.incoming_call().hangs_up();
}

fn even(digits: &str) -> bool {
    digits.bytes().map(|b| u32::from(b - b'0')).sum::<u32>() % 2 == 0
}

#[test]
fn a_gather_check_refuses_an_entry_as_a_counted_retry() {
    let flow = Flow::inbound("t")
        .step(
            "pin",
            gather("Enter your PIN.", "pin")
                .digits(4, 4)
                .check(even)
                .invalid("That PIN is not valid.")
                .retries(1)
                .fallback("bye")
                .then("thanks"),
        )
        .step("thanks", say("Thanks, {pin|digits}."))
        .step("bye", say("Goodbye."));
    let r = only(flow);
    let mut c = Caller::dialing(&r, BANK_LINE);
    c.incoming_call().prompts("Enter your PIN.");
    c.speak_completed("1112")
        .prompts("That PIN is not valid. Enter your PIN.");
    c.speak_completed("1113").says("Thanks, 1 1 1 3.");
    let answers: Vec<(String, &str)> = c
        .session()
        .unwrap()
        .answers
        .iter()
        .map(|a| (a.digits.clone(), a.result.as_str()))
        .collect();
    assert_eq!(
        answers,
        [
            ("1112".to_owned(), "refused"),
            ("1113".to_owned(), "accepted")
        ]
    );

    let mut c = Caller::dialing(&r, BANK_LINE);
    c.incoming_call();
    c.speak_completed("1112");
    c.speak_completed("1112").says("Goodbye.");
}

fn lookup(_: &Ctx) -> FetchRequest {
    FetchRequest::get("https://api.example.com/status")
}

fn read_status(ctx: &mut Ctx, response: &FetchResponse) -> Result<(), String> {
    let body: serde_json::Value =
        serde_json::from_str(&response.body).map_err(|e| e.to_string())?;
    let status = body["status"].as_str().ok_or("no status")?;
    ctx.set_var("status", status.to_owned());
    Ok(())
}

fn status_line() -> Registry {
    only(
        Flow::inbound("t")
            .step(
                "lookup",
                fetch(lookup)
                    .on_ok("status", read_status)
                    .sets(["status"])
                    .on_error("unavailable"),
            )
            .step("status", say("Your order is {status}."))
            .step("unavailable", say("We cannot look that up now.")),
    )
}

#[test]
fn fetch_goes_on_at_ok_for_an_answer_parse_accepts_and_at_error_otherwise() {
    let r = status_line();
    let cases: [(Result<FetchResponse, &str>, &str); 4] = [
        (ok(r#"{"status": "shipped"}"#), "Your order is shipped."),
        (ok(r#"{"state": "shipped"}"#), "We cannot look that up now."),
        (
            Ok(FetchResponse::new(500, r#"{"status": "x"}"#.to_owned())),
            "We cannot look that up now.",
        ),
        (
            Err("timed out after 3000 ms"),
            "We cannot look that up now.",
        ),
    ];
    for (answer, heard) in cases {
        let mut c = Caller::dialing(&r, BANK_LINE);
        c.answer_fetch(answer);
        c.incoming_call().says(heard);
        assert_eq!(c.fetch_answers_left(), 0);
    }
}

#[test]
fn a_prompt_of_parts_plays_one_part_per_event_and_keys_in_any_part_answer_the_menu() {
    let flow = Flow::inbound("t")
        .step(
            "menu",
            menu(parts([
                audio("https://cdn.example.com/chime.wav"),
                "Welcome.".into(),
                "Press 1 for sales.".into(),
            ]))
            .option("1", "sales"),
        )
        .step("sales", say("Sales."));
    let r = only(flow);
    let mut c = Caller::dialing(&r, BANK_LINE);
    let chime = c.incoming_call();
    assert_eq!(chime.method(), Some(Method::Play));
    assert!(chime.collect().is_null(), "only the last part collects");
    c.play_completed("").says("Welcome.");
    c.speak_completed("").prompts("Press 1 for sales.");
    c.speak_completed("1").says("Sales.");

    // Keys during the chime answer the menu at once.
    let mut c = Caller::dialing(&r, BANK_LINE);
    c.incoming_call();
    c.play_completed("1").says("Sales.");
}

#[test]
fn a_dial_step_sends_the_options_it_asks_for_exactly() {
    let flow = Flow::inbound("t")
        .step(
            "agent",
            dial(["+15555550101"])
                .record()
                .max_call_duration(1800)
                .send_dtmf("ww12#")
                .primary()
                .on_no_answer("sorry"),
        )
        .step("sorry", say("Sorry."));
    let r = only(flow);
    let mut c = Caller::dialing(&r, BANK_LINE);
    let dialed = c.incoming_call();
    assert_eq!(
        dialed.params(),
        json!({"to": "15555550101", "caller_id_number": "15555550100", "record_call": true,
               "max_call_duration": 1800, "send_dtmf": "ww12#", "is_primary": true})
    );
}

// ---- A deploy while calls are live ----------------------------------------------------------

/// Version 1: the menu step is called `menu_old`.
fn v1() -> Registry {
    only(
        Flow::inbound("f")
            .on_error("sorry")
            .step("menu_old", menu("Press 1.").option("1", "done"))
            .step("done", say("Done."))
            .step("sorry", say("Sorry, please call again.")),
    )
}

/// Version 2 renamed it `menu` and says so.
fn v2() -> Registry {
    only(
        Flow::inbound("f")
            .on_error("sorry")
            .moved("menu_old", "menu")
            .step("menu", menu("Press 1.").option("1", "done"))
            .step("done", say("Done, in version 2."))
            .step("sorry", say("Sorry, please call again.")),
    )
}

/// Version 3 dropped it without a successor.
fn v3() -> Registry {
    only(
        Flow::inbound("f")
            .on_error("sorry")
            .step("done", say("Done."))
            .step("sorry", say("Sorry, please call again.")),
    )
}

#[test]
fn a_live_call_at_a_renamed_step_goes_on_there_after_the_deploy() {
    let (old, new) = (v1(), v2());
    let mut c = Caller::dialing(&old, BANK_LINE);
    c.incoming_call().prompts("Press 1.");
    c.deploy(&new);
    c.speak_completed("1").says("Done, in version 2.");
    let session = c.session().unwrap();
    assert_eq!(session.answers[0].step, "menu");
    assert_eq!(session.visits.steps(), ["menu_old", "done"]);
}

#[test]
fn a_live_call_at_a_step_gone_without_successor_goes_to_the_error_step() {
    let (old, new) = (v1(), v3());
    let mut c = Caller::dialing(&old, BANK_LINE);
    c.incoming_call().prompts("Press 1.");
    c.deploy(&new);
    c.speak_completed("1").says("Sorry, please call again.");
    c.speak_completed("").hangs_up();
    assert_eq!(c.wait(), Some(Wait::Hangup));
}

#[test]
fn the_checker_requires_a_successor_for_every_locked_step() {
    let lock = lock::Lock::of(&v1());
    let locked = |r: &Registry| {
        let flow = r.get("f").unwrap();
        check(flow, Limits::default(), lock.flows.get("f"))
            .into_iter()
            .map(|p| (p.rule, p.step.unwrap_or_default()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        locked(&v2()),
        [(Rule::UnlockedStep, "menu".to_owned())],
        "a renamed step with its successor needs only a new lock"
    );
    assert_eq!(
        locked(&v3()),
        [(Rule::StepGone, "menu_old".to_owned())],
        "a step gone without successor is refused"
    );
    let relocked = lock.update(&v2()).expect("moved steps are kept");
    let flow = v2();
    assert_eq!(
        check(
            flow.get("f").unwrap(),
            Limits::default(),
            relocked.flows.get("f")
        ),
        []
    );
}
