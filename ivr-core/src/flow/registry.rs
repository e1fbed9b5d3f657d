//! The set of flows compiled into the worker, and which one answers an inbound call.

use super::{Direction, Flow};

/// Every flow the worker knows, the default inbound flow, and inbound flows chosen by the number
/// that was called.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    flows: Vec<Flow>,
    default_inbound: Option<String>,
    /// (called number as digits only, flow name)
    routes: Vec<(String, String)>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a flow.
    pub fn flow(mut self, flow: Flow) -> Self {
        self.flows.push(flow);
        self
    }

    /// The flow that answers inbound calls to numbers without a route of their own.
    pub fn default_inbound(mut self, flow: &str) -> Self {
        self.default_inbound = Some(flow.to_owned());
        self
    }

    /// Inbound calls to `number` (with or without `+`) run `flow`.
    pub fn route(mut self, number: &str, flow: &str) -> Self {
        self.routes.push((digits(number), flow.to_owned()));
        self
    }

    /// Takes the value of every setting the flows declare that `lookup` knows (the worker's
    /// environment).
    pub fn with_settings(mut self, lookup: impl Fn(&str) -> Option<String>) -> Self {
        for flow in &mut self.flows {
            flow.settings.fill(&lookup, false);
        }
        self
    }

    /// Gives the settings without a value the one `lookup` gives (a stand-in, in tests).
    pub fn with_missing_settings(mut self, lookup: impl Fn(&str) -> Option<String>) -> Self {
        for flow in &mut self.flows {
            flow.settings.fill(&lookup, true);
        }
        self
    }

    /// `(flow, setting)` for every declared setting without a value.
    pub fn missing_settings(&self) -> Vec<(&str, &str)> {
        self.flows
            .iter()
            .flat_map(|f| {
                f.settings
                    .missing()
                    .into_iter()
                    .map(|s| (f.name.as_str(), s))
            })
            .collect()
    }

    pub fn flows(&self) -> &[Flow] {
        &self.flows
    }

    pub fn get(&self, name: &str) -> Option<&Flow> {
        self.flows.iter().find(|f| f.name == name)
    }

    /// The flow for an inbound call to `called` (E.164 or digits): its route, else the default.
    pub fn inbound_for(&self, called: Option<&str>) -> Option<&Flow> {
        let called = called.map(digits);
        let routed = self
            .routes
            .iter()
            .find(|(n, _)| Some(n) == called.as_ref())
            .map(|(_, f)| f.as_str());
        routed
            .or(self.default_inbound.as_deref())
            .and_then(|name| self.get(name))
    }

    /// (number, flow) routes and the default, for validation.
    pub fn inbound_names(&self) -> impl Iterator<Item = (&str, &str)> {
        self.routes
            .iter()
            .map(|(n, f)| (n.as_str(), f.as_str()))
            .chain(self.default_inbound.as_deref().map(|f| ("default", f)))
    }

    /// Whether `name` is a flow that can be placed as an outbound call.
    pub fn outbound(&self, name: &str) -> Option<&Flow> {
        self.get(name)
            .filter(|f| f.direction == Direction::Outbound)
    }
}

fn digits(number: &str) -> String {
    number.chars().filter(char::is_ascii_digit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{say, Flow};

    fn registry() -> Registry {
        Registry::new()
            .flow(Flow::inbound("main").step("hi", say("Hi")))
            .flow(Flow::inbound("sales").step("hi", say("Sales")))
            .flow(Flow::outbound("remind").step("hi", say("Reminder")))
            .default_inbound("main")
            .route("+1 555 555 0100", "sales")
    }

    #[test]
    fn inbound_calls_pick_the_routed_flow_or_the_default() {
        let r = registry();
        assert_eq!(r.inbound_for(Some("15555550100")).unwrap().name, "sales");
        assert_eq!(r.inbound_for(Some("+15555550100")).unwrap().name, "sales");
        assert_eq!(r.inbound_for(Some("+15555550199")).unwrap().name, "main");
        assert_eq!(r.inbound_for(None).unwrap().name, "main");
    }

    #[test]
    fn outbound_lookup_refuses_inbound_flows() {
        let r = registry();
        assert!(r.outbound("remind").is_some());
        assert!(r.outbound("main").is_none());
        assert!(r.outbound("nope").is_none());
    }
}
