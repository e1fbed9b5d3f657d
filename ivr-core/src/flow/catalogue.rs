//! What `GET /flows` answers: the flows compiled into the worker, for the tools that call it (the
//! call simulator and the dev phone learn from it which number dials which flow and which vars an
//! outbound flow needs, and draw its diagram). Written at build time, as the OpenAPI document is.

use serde_json::{json, Value};

use super::diagram::mermaid;
use super::{Direction, Registry};

/// The catalogue of `registry`'s flows.
pub fn catalogue(registry: &Registry) -> Value {
    let routes: Vec<(&str, &str)> = registry.inbound_names().collect();
    let flows: Vec<Value> = registry
        .flows()
        .iter()
        .map(|flow| {
            let numbers: Vec<String> = routes
                .iter()
                .filter(|(number, name)| *name == flow.name && *number != "default")
                .map(|(number, _)| format!("+{number}"))
                .collect();
            let default = routes
                .iter()
                .any(|(number, name)| *name == flow.name && *number == "default");
            json!({
                "name": flow.name,
                "direction": flow.direction.as_str(),
                "language": flow.language,
                "numbers": numbers,
                "default_inbound": default && flow.direction == Direction::Inbound,
                "needs": flow.needs,
                "config": flow.settings.config,
                "secrets": flow.settings.secrets,
                                "steps": flow.steps.iter().map(|(name, _)| name).collect::<Vec<_>>(),
                // The tools mask what the caller presses at these steps.
                "sensitive_steps": flow
                    .steps
                    .iter()
                    .filter(|(name, _)| flow.sensitive_entry(name).is_some())
                    .map(|(name, _)| name)
                    .collect::<Vec<_>>(),
                "diagram": mermaid(flow),
            })
        })
        .collect();
    json!({ "flows": flows })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{gather, say, Flow};

    #[test]
    fn numbers_default_and_needs_are_listed_per_flow() {
        let registry = Registry::new()
            .flow(Flow::inbound("main").step("hi", say("Hi")))
            .flow(Flow::inbound("sales").step("hi", say("Sales")))
            .flow(
                Flow::outbound("remind")
                    .needs(["name"])
                    .step("hi", say("Hi {name}").then("pin"))
                    .step("pin", gather("PIN?", "pin").sensitive()),
            )
            .default_inbound("main")
            .route("+1 555 555 0100", "sales");
        let doc = catalogue(&registry);
        let flows = doc["flows"].as_array().cloned().unwrap_or_default();
        assert_eq!(flows.len(), 3);
        assert_eq!(flows[0]["default_inbound"], true);
        assert_eq!(flows[0]["numbers"], json!([]));
        assert_eq!(flows[1]["numbers"], json!(["+15555550100"]));
        assert_eq!(flows[1]["default_inbound"], false);
        assert_eq!(flows[2]["direction"], "outbound");
        assert_eq!(flows[2]["needs"], json!(["name"]));
        assert_eq!(flows[2]["steps"], json!(["hi", "pin"]));
        assert_eq!(flows[2]["sensitive_steps"], json!(["pin"]));
        assert_eq!(flows[0]["sensitive_steps"], json!([]));
        assert!(flows[2]["diagram"]
            .as_str()
            .is_some_and(|d| d.contains("flowchart TD")));
    }
}
