//! `bank`: the inbound phone tree of a retail bank, the fixtures' default inbound flow.
//!
//! A fixture of the project's own tests (the sample `flows/bank_menu.rs` began as the same flow;
//! the tests never read the samples). Welcome → main menu: 1 balance (account number, its check
//! digit verified by Rust code, then looked up over HTTP), 2 cards (a submenu: lost card,
//! activate a card, back), 9 repeat. Wrong keys and silence reprompt twice, then the caller is
//! thanked and the call ends. Whenever the flow cannot go on, the caller hears an apology.

use ivr_core::flow::*;

pub fn flow() -> Flow {
    Flow::inbound("bank")
        .language("en-US")
        .config(["BANK_API_URL"])
        .secrets(["BANK_API_KEY"])
        .on_error("technical_difficulty")
        .step(
            "welcome",
            say("Thank you for calling Example Bank.").then("main_menu"),
        )
        .step(
            "main_menu",
            menu(
                "For your account balance, press 1. For cards, press 2. \
                 To hear these options again, press 9.",
            )
            .option("1", "account_number")
            .option("2", "cards_menu")
            .repeat("9")
            .no_input("Sorry, I didn't hear a choice.")
            .invalid("Sorry, that is not one of the options.")
            .retries(2)
            .fallback("goodbye"),
        )
        .step(
            "account_number",
            gather(
                "Please enter your eight digit account number, followed by the pound key.",
                "account",
            )
            .digits(8, 8)
            // Sealed while the call lives, never in a record or log: records keep `****5674`.
            .keep_last(4)
            .terminators("#")
            .timeout_ms(10_000)
            .inter_digit_timeout_ms(4_000)
            .check(luhn)
            .invalid("Sorry, that account number is not valid.")
            .retries(2)
            .fallback("goodbye")
            .then("balance_lookup"),
        )
        .step(
            "balance_lookup",
            fetch(balance_request)
                .on_ok("balance", read_balance)
                .sets(["balance"])
                .on_error("balance_unavailable"),
        )
        .step(
            "balance",
            say("The balance of the account ending in {account|last4} is {balance} dollars.")
                .then("main_menu"),
        )
        .step(
            "balance_unavailable",
            say("Sorry, we cannot look up your balance right now.").then("main_menu"),
        )
        .step(
            "cards_menu",
            menu(
                "To report a lost or stolen card, press 1. To activate a new card, press 2. \
                 To go back to the main menu, press star.",
            )
            .option("1", "card_lost")
            .option("2", "card_activation")
            .option("*", "main_menu")
            .retries(2)
            .fallback("goodbye"),
        )
        .step(
            "card_lost",
            say(
                "Your cards are now blocked. We will call you back at {caller|digits} \
                 within one business day.",
            )
            .then("goodbye"),
        )
        .step(
            "card_activation",
            gather("Enter the last four digits of your new card.", "card_last4")
                .digits(4, 4)
                .retries(2)
                .fallback("goodbye")
                .then("card_activated"),
        )
        .step(
            "card_activated",
            say("Your card ending in {card_last4|digits} is now active.").then("main_menu"),
        )
        .step(
            "goodbye",
            say("Thank you for banking with Example Bank. Goodbye."),
        )
        .step(
            "technical_difficulty",
            say("We are sorry, we are having technical difficulties. Please call again later."),
        )
}

fn balance_request(ctx: &Ctx) -> FetchRequest {
    let api = ctx.setting("BANK_API_URL").unwrap_or_default();
    let key = ctx.setting("BANK_API_KEY").unwrap_or_default();
    let account = ctx.var("account").unwrap_or_default();
    FetchRequest::get(format!("{api}/accounts/{account}/balance"))
        .header("accept", "application/json")
        .header("x-api-key", key)
}

/// Expects `{"balance": "1234.56"}` (a string or a number); anything else is refused, and the
/// caller hears that the balance is unavailable.
fn read_balance(ctx: &mut Ctx, response: &FetchResponse) -> Result<(), String> {
    let body: serde_json::Value = response.json()?;
    let balance = match body.get("balance") {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => return Err("no `balance` string or number".to_owned()),
    };
    ctx.set_var("balance", balance);
    Ok(())
}
