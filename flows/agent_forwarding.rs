//! `agent_forwarding`: in opening hours, inbound calls ring the agents one after the other; when
//! none answers, the caller hears an apology. Outside opening hours (and on the holidays) the
//! caller hears when the agents are there instead. Telesign accepts `dial` only as the first
//! answer to `incoming_call` (or after a leg ended), so the call is bridged straight away, without
//! a greeting first: the hours step sends no action of its own.

use ivr_core::flow::*;

pub fn flow() -> Flow {
    Flow::inbound("agent_forwarding")
        .step(
            "office_hours",
            hours("America/New_York")
                .open(Mon..=Fri, "08:00-20:00")
                .open(Sat, "09:00-13:00")
                .closed_on("2026-12-25")
                .closed_on("2027-01-01")
                .on_open("agents")
                .on_closed("closed"),
        )
        .step(
            "agents",
            dial(["+15555550101", "+15555550102", "+15555550103"]).on_no_answer("apology"),
        )
        .step(
            "apology",
            say("Sorry, all of our agents are busy right now. Please call again later. Goodbye."),
        )
        .step(
            "closed",
            say(
                "Thank you for calling. Our agents are available {opening_hours}, New York time. \
                 Please call again then. Goodbye.",
            ),
        )
}
