//! `held`: an order-status line whose lookup runs while the caller is on hold (a `fetch` step
//! with a hold): the fixture of the hold's tests, routed from +15555550300. Its hold is a spoken
//! prompt, then hold music spoken as text when it cannot play, in turn, four at most.

use ivr_core::flow::*;

pub fn flow() -> Flow {
    Flow::inbound("held")
        .config(["ORDERS_API_URL"])
        .on_error("sorry")
        .step(
            "order",
            gather("Enter your four digit order number, then pound.", "order")
                .digits(4, 4)
                .retries(1)
                .fallback("sorry")
                .then("lookup"),
        )
        .step(
            "lookup",
            fetch(order_request)
                .hold("One moment while I find your order.")
                .hold(audio("https://cdn.example.com/hold-music.wav").or_say("Still looking."))
                .hold_at_most(4)
                .on_ok("status", read_status)
                .sets(["status"])
                .on_error("sorry"),
        )
        .step("status", say("Your order is {status}.").then("bye"))
        .step(
            "sorry",
            say("Sorry, we cannot find your order right now.").then("bye"),
        )
        .step("bye", say("Goodbye."))
}

fn order_request(ctx: &Ctx) -> FetchRequest {
    let api = ctx.setting("ORDERS_API_URL").unwrap_or_default();
    let order = ctx.var("order").unwrap_or_default();
    FetchRequest::get(format!("{api}/orders/{order}"))
}

/// Expects `{"status": "shipped"}`.
fn read_status(ctx: &mut Ctx, response: &FetchResponse) -> Result<(), String> {
    let body: serde_json::Value = response.json()?;
    let status = body["status"].as_str().ok_or("no `status`")?;
    ctx.set_var("status", status);
    Ok(())
}
