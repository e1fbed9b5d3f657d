//! The flow-testing kit itself, on the test flows: its scripted caller, its failures with a
//! transcript, coverage and replay.

use ivr_core::engine::CallOutcome;
use ivr_core::flow::*;
use ivr_testkit::coverage::{measure, Trace};
use ivr_testkit::replay::{read_records, replay, replay_all, report, Verdict};
use ivr_testkit::{Answer, Call, Phone};

const BANK: &str = "+15555551212";

/// The test flows, with the settings the tests' workers get.
fn flows() -> Registry {
    test_flows::registry().with_settings(test_flows::settings)
}
const AGENTS: &str = "+15555550200";

fn balance_call() -> Call {
    let mut call = Call::dial(flows(), BANK);
    call.hears("Thank you for calling Example Bank.")
        .hears("For your account balance, press 1.")
        .press("1")
        .hears("eight digit account number")
        .answer_fetch(Answer::json(r#"{"balance": "12.50"}"#))
        .press("12345674#")
        .hears("ending in 5674 is 12.50 dollars")
        .hears("For your account balance")
        .silence()
        .hears("Sorry, I didn't hear a choice.")
        .press("2")
        .hears("To report a lost or stolen card")
        .press("1")
        .hears("Your cards are now blocked")
        .hears("Thank you for banking with Example Bank. Goodbye.")
        .hangs_up();
    call
}

#[test]
fn a_scripted_call_goes_through_the_pipeline_and_keeps_its_record() {
    let call = balance_call();
    let record = call.record();
    assert_eq!(record.outcome, CallOutcome::Completed);
    assert_eq!(
        record.visits.steps(),
        [
            "welcome",
            "main_menu",
            "account_number",
            "balance_lookup",
            "balance",
            "main_menu",
            "cards_menu",
            "card_lost",
            "goodbye"
        ]
    );
    assert_eq!(record.fetches.len(), 1);
    assert!(record.fetches[0].ok);
    assert_eq!(record.fetches[0].status, Some(200));
    let branches: Vec<String> = call
        .taken()
        .iter()
        .map(|t| format!("{} {}", t.step, t.branch))
        .collect();
    assert_eq!(
        branches,
        [
            "welcome next",
            "main_menu key 1",
            "account_number next",
            "balance_lookup ok",
            "balance next",
            "main_menu no_input",
            "main_menu key 2",
            "cards_menu key 1",
            "card_lost next",
            "goodbye next"
        ]
    );
}

#[test]
fn a_failed_expectation_names_the_flow_and_step_and_prints_the_call_so_far() {
    let failed = std::panic::catch_unwind(|| {
        let mut call = Call::dial(flows(), BANK);
        call.hears("Thank you for calling")
            .hears("For your account balance")
            .press("1")
            .hears("something else entirely");
    });
    let message = failed
        .err()
        .and_then(|e| e.downcast::<String>().ok())
        .map(|m| *m)
        .unwrap_or_default();
    for want in [
        "expected to hear \"something else entirely\"",
        "now: speak (en-US, collecting digits): \"Please enter your eight digit account number",
        "(flow `bank`, step `account_number`)",
        "[1] incoming_call",
        "caller presses 1",
    ] {
        assert!(message.contains(want), "{want:?} not in\n{message}");
    }
}

#[test]
fn a_request_without_a_stand_in_answer_fails_with_a_hint() {
    let failed = std::panic::catch_unwind(|| {
        let mut call = Call::dial(flows(), BANK);
        call.hears("Thank you")
            .hears("For your account balance")
            .press("1")
            .hears("account number")
            .press("12345674#");
    });
    let message = failed
        .err()
        .and_then(|e| e.downcast::<String>().ok())
        .map(|m| *m)
        .unwrap_or_default();
    assert!(message.contains("answer_fetch"), "{message}");
    assert!(
        message.contains("GET https://bank.example.com/v1/accounts/12345674/balance"),
        "{message}"
    );
}

#[test]
fn a_slow_answer_is_a_timeout_and_takes_the_error_way() {
    let mut call = Call::dial(flows(), BANK);
    call.hears("Thank you")
        .hears("For your account balance")
        .press("1")
        .hears("account number")
        .answer_fetch(Answer::json(r#"{"balance": "1"}"#).after_ms(3_500))
        .press("12345674#")
        .hears("we cannot look up your balance right now");
    assert!(call.transcript().contains("after 3500 ms"));
}

#[test]
fn the_clock_decides_opening_hours() {
    // The kit's clock starts on a Tuesday at 10 AM in New York: open.
    let mut open = Call::dial(flows(), AGENTS);
    open.rings("+15555550101")
        .no_answer()
        .rings("+15555550102")
        .agent_answers_then_hangs_up()
        .hangs_up();
    assert_eq!(open.record().outcome, CallOutcome::Bridged);
    let mut closed = Phone::new(flows())
        .at("2026-12-25T10:00:00-05:00")
        .from("+15550001111")
        .dial(AGENTS);
    closed
        .hears("Thank you for calling. Our agents are available")
        .hangs_up();
    assert_eq!(closed.record().from.as_deref(), Some("+15550001111"));
}

#[test]
fn an_outbound_call_gets_its_vars_and_can_go_unanswered() {
    let mut call = Call::place(
        flows(),
        "reminder",
        &[("name", "Sam"), ("when", "Friday at 9 AM")],
    );
    call.answers()
        .hears("Hello Sam.")
        .also_hears("Friday at 9 AM")
        .press("1")
        .hears("confirmed")
        .hangs_up();
    assert_eq!(call.var("choice").as_deref(), Some("confirmed"));
    let mut missed = Call::place(flows(), "reminder", &[("name", "Sam"), ("when", "Friday")]);
    missed.is_not_answered();
    assert_eq!(missed.record().outcome, CallOutcome::DialFailed);
}

#[test]
fn coverage_counts_every_branch_of_every_step() {
    let call = balance_call();
    let trace = Trace {
        flow: "bank".into(),
        steps: call.visited(),
        branches: call
            .taken()
            .iter()
            .map(|t| (t.step.clone(), t.branch.name()))
            .collect(),
    };
    let registry = test_flows::registry();
    let measured = measure(&registry, &[trace]);
    let bank = &measured[0];
    assert_eq!(bank.calls, 1);
    let reached = |step: &str, branch: Branch| {
        bank.branches
            .iter()
            .find(|b| b.step == step && b.branch == branch)
            .map(|b| b.reached)
    };
    assert_eq!(reached("main_menu", Branch::Key("1".into())), Some(true));
    assert_eq!(reached("main_menu", Branch::NoInput), Some(true));
    assert_eq!(reached("main_menu", Branch::Invalid), Some(false));
    assert_eq!(reached("balance_lookup", Branch::Error), Some(false));
    assert!(bank.percent() > 0 && bank.percent() < 100);
    assert_eq!(measured[1].calls, 0, "no reminder call");
}

// ---- Replay ---------------------------------------------------------------------------------

#[test]
fn a_recorded_call_replays_on_the_same_path_without_its_request() {
    let call = balance_call();
    let record = call.record().clone();
    let replayed = replay(&test_flows::registry(), &record);
    assert_eq!(replayed.verdict, Verdict::Same, "{replayed:?}");
}

#[test]
fn a_changed_flow_reports_where_the_call_parts_and_what_the_caller_hears() {
    let record = balance_call().record().clone();
    // Key 1 of the main menu now leads to the cards menu.
    let changed = Registry::new()
        .flow(
            Flow::inbound("bank")
                .step("welcome", say("Welcome.").then("main_menu"))
                .step(
                    "main_menu",
                    menu("Press 1 for cards.")
                        .option("1", "cards_menu")
                        .fallback("goodbye"),
                )
                .step("cards_menu", menu("Cards. Press 1.").option("1", "goodbye"))
                .step("goodbye", say("Bye.")),
        )
        .default_inbound("bank");
    let replayed = replay(&changed, &record);
    let Verdict::Parted(p) = &replayed.verdict else {
        panic!("{replayed:?}");
    };
    assert_eq!(p.after.as_deref(), Some("main_menu"));
    assert_eq!(p.recorded.as_deref(), Some("account_number"));
    assert_eq!(p.replayed.as_deref(), Some("cards_menu"));
    assert!(
        p.hears
            .as_deref()
            .is_some_and(|h| h.contains("Cards. Press 1.")),
        "{p:?}"
    );
    let text = report(&[replayed]);
    assert!(
        text.contains("after `main_menu` the recorded call went to `account_number`; now it goes to `cards_menu`"),
        "{text}"
    );
    assert!(
        text.contains("0 take the same path, 1 part from it"),
        "{text}"
    );
}

#[test]
fn records_that_lack_what_a_replay_needs_are_reported_not_replayable() {
    let record = balance_call().record().clone();
    let gone = Registry::new();
    assert!(matches!(
        replay(&gone, &record).verdict,
        Verdict::NotReplayable(ref why) if why.contains("not in the flows any more")
    ));
    let mut old = record.clone();
    old.fetches.clear();
    assert!(matches!(
        replay(&test_flows::registry(), &old).verdict,
        Verdict::NotReplayable(ref why) if why.contains("no outcome of the fetch step `balance_lookup`")
    ));
}

#[test]
fn records_are_read_from_a_page_an_array_or_json_lines() {
    let record = balance_call().record().clone();
    let one = serde_json::to_string(&record).unwrap_or_default();
    let page = format!(r#"{{"calls":[{one},{one}],"cursor":null}}"#);
    let array = format!("[{one}]");
    let lines = format!("{one}\n{one}\n{one}\n");
    assert_eq!(read_records(&page).map(|r| r.len()), Ok(2));
    assert_eq!(read_records(&array).map(|r| r.len()), Ok(1));
    assert_eq!(read_records(&lines).map(|r| r.len()), Ok(3));
    assert_eq!(read_records(&one).map(|r| r.len()), Ok(1));
    assert!(read_records("{not json").is_err());
    let all = replay_all(
        &test_flows::registry(),
        &read_records(&lines).unwrap_or_default(),
    );
    assert!(all.iter().all(|r| r.verdict == Verdict::Same));
}

#[test]
fn a_renamed_step_with_its_move_replays_on_the_same_path() {
    let v1 = || {
        Registry::new()
            .flow(
                Flow::inbound("f")
                    .step("menu", menu("Press 1.").option("1", "cards"))
                    .step("cards", say("Cards.")),
            )
            .default_inbound("f")
    };
    let mut call = Call::dial(v1(), BANK);
    call.hears("Press 1.").press("1").hears("Cards.").hangs_up();
    let record = call.record().clone();
    let v2 = Registry::new()
        .flow(
            Flow::inbound("f")
                .moved("cards", "card_services")
                .step("menu", menu("Press 1.").option("1", "card_services"))
                .step("card_services", say("Cards.")),
        )
        .default_inbound("f");
    assert_eq!(replay(&v2, &record).verdict, Verdict::Same);
}

#[test]
fn a_number_routed_to_another_flow_since_names_the_flow_that_answers_now() {
    let record = balance_call().record().clone();
    let rerouted = Registry::new()
        .flow(Flow::inbound("clinic").step("hi", say("Clinic.")))
        .flow(Flow::inbound("bank").step("hi", say("Bank.")))
        .default_inbound("clinic");
    let replayed = replay(&rerouted, &record);
    let Verdict::Parted(p) = &replayed.verdict else {
        panic!("{replayed:?}");
    };
    assert_eq!(p.flow_now.as_deref(), Some("clinic"));
    let text = report(std::slice::from_ref(&replayed));
    assert!(text.contains("answered by the flow `clinic` now"), "{text}");
}
