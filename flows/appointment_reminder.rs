//! `appointment_reminder`: an outbound reminder call. Place it with `POST /calls` and the vars
//! `name` and `when`, e.g. `{"name": "Alex", "when": "Tuesday, March 3rd at 2 PM"}`, or call a
//! whole list of patients, each with their own name and time, from a spreadsheet: `POST
//! /campaigns.csv?flow=appointment_reminder` with `to,name,when` and a row per patient, called
//! within a window such as `Mon-Sat 09:00-20:00 America/New_York` (a patient's own `time_zone`
//! column wins over the window's zone; docs/call-api.md).
//!
//! The called person confirms (1), cancels (2) or hears the message again (9). The choice is kept
//! in the variable `choice` (`confirmed`, `cancelled`), and so in the call record.

use ivr_core::flow::*;

pub fn flow() -> Flow {
    Flow::outbound("appointment_reminder")
        .needs(["name", "when"])
        // The zones its campaigns may call in (a calling window's, a patient's own).
        .calls_in([
            "America/New_York",
            "America/Chicago",
            "America/Denver",
            "America/Los_Angeles",
        ])
        .step(
            "reminder",
            menu(
                "Hello {name}. This is Example Clinic reminding you of your appointment on \
                 {when}. To confirm, press 1. To cancel, press 2. To hear this message again, \
                 press 9.",
            )
            .option("1", "confirmed")
            .option("2", "cancelled")
            .repeat("9")
            .save_as("choice")
            .timeout_ms(8_000)
            .retries(2)
            .fallback("no_response"),
        )
        .step(
            "confirmed",
            say("Thank you. Your appointment is confirmed. Goodbye."),
        )
        .step(
            "cancelled",
            say("Your appointment has been cancelled. Please call us to book a new one. Goodbye."),
        )
        .step(
            "no_response",
            say("We did not receive an answer. We will call again later. Goodbye."),
        )
}
