//! A lookup with a hold (the `held` test flow), through the event pipeline with the kit: the
//! hold answers at once, the request runs after the answer, and every race around it ends with
//! nothing lost and no session left.

use ivr_core::engine::{AnswerResult, CallOutcome};
use ivr_core::flow::Registry;
use ivr_testkit::{Answer, Call};

const ORDERS: &str = "+15555550300";
const SHIPPED: &str = r#"{"status": "shipped"}"#;

fn flows() -> Registry {
    test_flows::registry().with_settings(test_flows::settings)
}

/// A call at the order number prompt.
fn at_order_prompt() -> Call {
    let mut call = Call::dial(flows(), ORDERS);
    call.hears("Enter your four digit order number");
    call
}

#[test]
fn a_fast_answer_is_heard_after_the_first_hold() {
    let mut call = at_order_prompt();
    call.answer_fetch(Answer::json(SHIPPED))
        .press("1234#")
        .hears("One moment while I find your order.")
        .on_hold()
        .hears("Your order is shipped.")
        .hears("Goodbye.")
        .hangs_up();
    let record = call.record();
    assert_eq!(record.fetches.len(), 1);
    assert!(record.fetches[0].ok);
    assert_eq!(record.fetches[0].status, Some(200));
    assert_eq!(record.vars["status"], "shipped");
    assert_eq!(
        call.requests()[0].url,
        "https://orders.example.com/orders/1234"
    );
}

#[test]
fn a_slow_answer_keeps_the_caller_on_hold_with_the_prompts_in_turn_then_goes_on() {
    let mut call = at_order_prompt();
    // Each prompt takes a second on the kit's clock: the answer comes during the third.
    call.answer_fetch(Answer::json(SHIPPED).after_ms(2_500))
        .press("1234#")
        .hears("One moment while I find your order.");
    let first = call.step();
    call.hears_audio("https://cdn.example.com/hold-music.wav")
        .hears("One moment while I find your order.")
        .hears("Your order is shipped.");
    assert_eq!(first.as_deref(), Some("lookup"));
    assert_eq!(call.requests().len(), 1, "the request ran once");
    assert!(call.session().is_some_and(|s| s.held.is_none()));
}

#[test]
fn a_request_that_never_answers_takes_the_error_way_after_the_most_holds() {
    let mut call = at_order_prompt();
    call.answer_fetch(Answer::never())
        .press("1234#")
        .hears("One moment")
        .on_hold()
        .hears("Sorry, we cannot find your order right now.")
        .hears("Goodbye.")
        .hangs_up();
    let record = call.record();
    let holds = call
        .transcript()
        .matches("One moment while I find your order.")
        .count()
        + call.transcript().matches("hold-music.wav").count();
    assert_eq!(holds, 4, "hold_at_most(4)");
    assert_eq!(record.fetches.len(), 1);
    assert!(!record.fetches[0].ok);
    assert_eq!(record.fetches[0].status, None);
    assert_eq!(record.outcome, CallOutcome::Completed);
}

#[test]
fn a_caller_who_hangs_up_during_the_hold_still_gets_the_outcome_in_the_record() {
    let mut call = at_order_prompt();
    call.answer_fetch(Answer::json(SHIPPED).after_ms(3_000))
        .press("1234#")
        .hears("One moment")
        .hang_up();
    // The request answered after the call ended.
    let record = call.record();
    assert_eq!(record.outcome, CallOutcome::CallerHungUp);
    assert_eq!(record.fetches.len(), 1, "{record:?}");
    assert!(record.fetches[0].ok);
    assert_eq!(record.answers[0].digits, "1234");
}

#[test]
fn keys_pressed_during_the_hold_stop_it_and_are_kept() {
    let mut call = at_order_prompt();
    call.answer_fetch(Answer::json(SHIPPED).after_ms(2_500))
        .press("1234#")
        .hears("One moment")
        .press("5")
        .hears_audio("https://cdn.example.com/hold-music.wav")
        .on_hold()
        .hears("Your order is shipped.");
    let answers = call.session().map(|s| s.answers).unwrap_or_default();
    let during: Vec<(&str, &str, AnswerResult)> = answers
        .iter()
        .map(|a| (a.step.as_str(), a.digits.as_str(), a.result))
        .collect();
    assert_eq!(
        during,
        [
            ("order", "1234", AnswerResult::Accepted),
            ("lookup", "5", AnswerResult::Interrupted)
        ]
    );
}

#[test]
fn a_hold_prompt_telesign_cannot_play_ends_like_one_played() {
    let mut call = at_order_prompt();
    call.answer_fetch(Answer::json(SHIPPED).after_ms(1_500))
        .press("1234#")
        .hears("One moment")
        .hears_audio("https://cdn.example.com/hold-music.wav")
        .prompt_fails()
        .hears("Your order is shipped.");
    let failures = call.session().map(|s| s.failures).unwrap_or_default();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].step, "lookup");
}

#[test]
fn an_answer_the_code_refuses_takes_the_error_way() {
    let mut call = at_order_prompt();
    call.answer_fetch(Answer::json(r#"{"state": "?"}"#))
        .press("1234#")
        .hears("One moment")
        .on_hold()
        .hears("Sorry, we cannot find your order right now.");
    assert_eq!(call.var("status"), None);
}

#[test]
fn a_hold_that_has_played_its_most_gives_the_request_up_and_a_late_answer_changes_nothing() {
    use ivr_core::flow::*;
    fn request(_: &Ctx) -> FetchRequest {
        FetchRequest::get("https://slow.example.com/")
    }
    let flows = Registry::new()
        .flow(
            Flow::inbound("slow")
                .step(
                    "lookup",
                    fetch(request)
                        .hold("Please hold.")
                        .hold_at_most(2)
                        .on_ok("done", |_, _| Ok(()))
                        .on_error("sorry"),
                )
                .step("done", say("Done."))
                .step("sorry", say("Sorry.")),
        )
        .default_inbound("slow");
    let mut call = Call::dial(flows, ORDERS);
    call.answer_fetch(Answer::json("{}").after_ms(2_800))
        .hears("Please hold.")
        .hears("Please hold.")
        .hears("Sorry.")
        .hangs_up();
    let record = call.record();
    // Given up after the second hold; the answer that came later is not counted again.
    assert_eq!(record.fetches.len(), 1, "{:?}", record.fetches);
    assert_eq!(record.fetches[0].status, None);
    assert_eq!(record.visits.steps(), ["lookup", "sorry"]);
}

#[test]
fn a_redelivered_end_of_a_hold_runs_no_second_request_and_loses_nothing() {
    let mut call = at_order_prompt();
    call.answer_fetch(Answer::json(SHIPPED).after_ms(2_500))
        .press("1234#")
        .hears("One moment")
        .hears_audio("https://cdn.example.com/hold-music.wav")
        // The end of the first hold, delivered again: another hold at most.
        .redelivers()
        .on_hold()
        .hears("Your order is shipped.")
        .hears("Goodbye.")
        .hangs_up();
    assert_eq!(call.requests().len(), 1);
    assert_eq!(call.record().fetches.len(), 1);
    assert_eq!(call.record().vars["status"], "shipped");
}

/// A hold prompt that cannot be said (it names a variable nothing set) takes the call to the
/// flow's error step while the request still runs: the call leaves the step, the lookup does not,
/// and its outcome still reaches the record when the call ends.
#[test]
fn a_call_sent_to_its_error_step_during_a_hold_keeps_the_lookup_for_its_record() {
    use ivr_core::flow::*;
    fn request(_: &Ctx) -> FetchRequest {
        FetchRequest::get("https://orders.example.com/orders/1".to_owned())
    }
    fn read(ctx: &mut Ctx, _: &FetchResponse) -> Result<(), String> {
        ctx.set_var("status", "shipped");
        Ok(())
    }
    let flow = Flow::inbound("hold_error")
        .on_error("sorry")
        .step(
            "lookup",
            fetch(request)
                .hold("One moment.")
                .hold("Still looking for {nobody_set_this}.")
                .on_ok("status", read)
                .sets(["status"])
                .on_error("sorry"),
        )
        .step("status", say("Your order is {status}."))
        .step("sorry", say("Sorry, something went wrong."));
    let registry = Registry::new().flow(flow).default_inbound("hold_error");
    let mut call = Call::dial(registry, ORDERS);
    call.answer_fetch(Answer::json(SHIPPED).after_ms(5_000))
        .hears("One moment.")
        .hears("Sorry, something went wrong.");
    assert!(
        call.session().is_some_and(|s| s.held.is_some()),
        "the lookup is under way"
    );
    call.hang_up();
    let record = call.record();
    assert_eq!(record.fetches.len(), 1, "{record:?}");
}
