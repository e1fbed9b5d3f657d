//! `agent_forwarding`: inbound calls ring the agents one after the other; when none answers, the
//! caller hears an apology. Telesign accepts `dial` only as the first answer to `incoming_call`
//! (or after a leg ended), so the call is bridged straight away, without a greeting first.

use ivr_core::flow::*;

pub fn flow() -> Flow {
    Flow::inbound("agent_forwarding")
        .step(
            "agents",
            dial(["+15555550101", "+15555550102", "+15555550103"]).on_no_answer("apology"),
        )
        .step(
            "apology",
            say("Sorry, all of our agents are busy right now. Please call again later. Goodbye."),
        )
}
