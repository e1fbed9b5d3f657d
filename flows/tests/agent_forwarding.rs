//! Tests of the `agent_forwarding` flow, written with the flow-testing kit
//! (docs/testing-flows.md). They are yours: change them along with the flow.

use ivr_testkit::{Call, CallOutcome, Phone};

/// The number routed to `agent_forwarding` in flows/lib.rs.
const SUPPORT: &str = "+15555550200";

#[test]
fn in_opening_hours_the_agents_are_rung_in_turn() {
    // The kit's clock starts on a Tuesday at 10 AM in New York.
    let mut call = Call::dial(flows::registry(), SUPPORT);
    call.rings("+15555550101")
        .no_answer()
        .rings("+15555550102")
        .agent_answers_then_hangs_up()
        .hangs_up();
    assert_eq!(call.record().outcome, CallOutcome::Bridged);
}

#[test]
fn when_no_agent_answers_the_caller_hears_an_apology() {
    let mut call = Call::dial(flows::registry(), SUPPORT);
    call.rings("+15555550101")
        .no_answer()
        .rings("+15555550102")
        .no_answer()
        .rings("+15555550103")
        .no_answer()
        .hears("all of our agents are busy")
        .hangs_up();
}

#[test]
fn on_a_holiday_the_caller_hears_the_opening_hours() {
    let mut call = Phone::new(flows::registry())
        .at("2026-12-25T11:00:00-05:00")
        .dial(SUPPORT);
    call.hears_matching(r"available Monday to Friday from \d+ AM to \d+ PM")
        .hangs_up();
}

#[test]
fn on_saturday_afternoon_it_is_closed() {
    let mut call = Phone::new(flows::registry())
        .at("2026-12-05T15:00:00-05:00")
        .dial(SUPPORT);
    call.hears("Our agents are available").hangs_up();
}
