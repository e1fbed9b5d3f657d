//! Your call flows. Each file describes one flow; [`registry`] registers them and says which flow
//! answers inbound calls. Add a flow: write `flows/my_flow.rs` (start from a sample below), add
//! `mod my_flow;` here and `.flow(my_flow::flow())` to the registry, then run `npm run
//! flows:check`, `npm run flows:lock` and `npm run flows:diagrams` (docs/writing-flows.md).

mod agent_forwarding;
mod appointment_reminder;
mod bank_menu;

use ivr_core::flow::Registry;

/// The flows compiled into the worker.
pub fn registry() -> Registry {
    Registry::new()
        .flow(bank_menu::flow())
        .flow(appointment_reminder::flow())
        .flow(agent_forwarding::flow())
        // Inbound calls to numbers without a route of their own.
        .default_inbound("bank_menu")
        // Calls to this (example) support number go straight to the agents.
        .route("+15555550200", "agent_forwarding")
}

#[cfg(test)]
mod tests {
    use ivr_core::flow::validate::validate_registry;

    #[test]
    fn every_registered_flow_is_valid() {
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
