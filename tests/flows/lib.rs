//! The project's own test flows. The engine, pipeline and end-to-end tests drive these fixtures
//! and never the samples in `flows/`, which their owner may edit, rename or delete. Each fixture
//! began as a sample; they are kept as they were so the tests' expectations stay put.

mod bank;
mod bilingual;
mod forwarding;
mod held;
mod reminder;

use ivr_core::flow::Registry;

/// The number routed to `forwarding`.
const AGENT_LINE: &str = "+15555550200";
/// The number routed to `held`.
const ORDERS_LINE: &str = "+15555550300";
/// The number routed to `bilingual`.
const CLINIC_LINE: &str = "+15555550400";

/// The values of the settings the test flows declare, as the tests' workers are given them
/// (scripts/harness/worker.mjs): `registry().with_settings(settings)`.
pub fn settings(name: &str) -> Option<String> {
    match name {
        "BANK_API_URL" => Some("https://bank.example.com/v1".to_owned()),
        "BANK_API_KEY" => Some("test-bank-key".to_owned()),
        "ORDERS_API_URL" => Some("https://orders.example.com".to_owned()),
        // The same as the end-to-end harness's (scripts/harness/worker.mjs).
        "SESSION_SEAL_KEY" => Some("dGVzdC1zZWFsLWtleS1vZi0zMi1ieXRlcy0wMDAwMDE=".to_owned()),
        _ => None,
    }
}

/// The fixture flows, as the test build of the worker registers them.
pub fn registry() -> Registry {
    Registry::new()
        .flow(bank::flow())
        .flow(reminder::flow())
        .flow(forwarding::flow())
        .flow(held::flow())
        .flow(bilingual::flow())
        .default_inbound("bank")
        .route(AGENT_LINE, "forwarding")
        .route(ORDERS_LINE, "held")
        .route(CLINIC_LINE, "bilingual")
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
        // Warnings pass, as in `npm run flows:check`.
        let problems = validate_registry(&super::registry());
        let errors: Vec<String> = problems
            .iter()
            .filter(|p| !p.rule.is_warning())
            .map(ToString::to_string)
            .collect();
        assert!(errors.is_empty(), "flow problems:\n{}", errors.join("\n"));
    }
}
