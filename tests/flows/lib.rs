//! The project's own test flows. The engine, pipeline and end-to-end tests drive these fixtures
//! and never the samples in `flows/`, which their owner may edit, rename or delete. Each fixture
//! began as a sample; they are kept as they were so the tests' expectations stay put.

mod bank;
mod forwarding;
mod reminder;

use ivr_core::flow::Registry;

/// The number routed to `forwarding`.
const AGENT_LINE: &str = "+15555550200";

/// The values of the settings the test flows declare, as the tests' workers are given them
/// (scripts/harness/worker.mjs): `registry().with_settings(settings)`.
pub fn settings(name: &str) -> Option<String> {
    match name {
        "BANK_API_URL" => Some("https://bank.example.com/v1".to_owned()),
        "BANK_API_KEY" => Some("test-bank-key".to_owned()),
        _ => None,
    }
}

/// The fixture flows, as the test build of the worker registers them.
pub fn registry() -> Registry {
    Registry::new()
        .flow(bank::flow())
        .flow(reminder::flow())
        .flow(forwarding::flow())
        .default_inbound("bank")
        .route(AGENT_LINE, "forwarding")
}

/// The examples of docs/writing-flows.md, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/writing-flows.md")]
pub struct WritingFlowsGuide;

/// The examples of docs/testing-flows.md, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/testing-flows.md")]
pub struct TestingFlowsGuide;

/// The Rust examples of the README, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct Readme;

#[cfg(test)]
mod tests {
    use ivr_core::flow::validate::validate_registry;

    #[test]
    fn every_fixture_flow_is_valid() {
        let problems = validate_registry(&super::registry());
        let listed: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(problems.is_empty(), "flow problems:\n{}", listed.join("\n"));
    }
}
