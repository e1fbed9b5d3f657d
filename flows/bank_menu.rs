//! `bank_menu`: the inbound phone tree of a retail bank (the default inbound flow).
//!
//! Welcome → main menu: 1 balance (account number, its check digit verified by Rust code, then
//! looked up over HTTP), 2 cards (a submenu: lost card, activate a card, back), 9 repeat. Wrong
//! keys and silence reprompt twice, then the caller is thanked and the call ends. Whenever the
//! flow cannot go on, the caller hears an apology instead of a bare hang-up.

use ivr_core::flow::*;

pub fn flow() -> Flow {
    Flow::inbound("bank_menu")
        .language("en-US")
        // The bank's API: its base URL is in wrangler.toml [vars], its key a secret.
        .config(["BANK_API_URL"])
        .secrets(["BANK_API_KEY"])
        // Every prompt in Spanish too; 8 at the main menu switches the call to it.
        .translations("es-US", SPANISH)
        .on_error("technical_difficulty")
        .step(
            "welcome",
            say("Thank you for calling Example Bank.").then("main_menu"),
        )
        .step(
            "main_menu",
            menu(parts([
                "For your account balance, press 1. For cards, press 2. \
                 To hear these options again, press 9."
                    .into(),
                speak_in("es-US", "Para español, oprima 8."),
            ]))
            .option("1", "account_number")
            .option("2", "cards_menu")
            .option("8", "spanish")
            .repeat("9")
            .no_input("Sorry, I didn't hear a choice.")
            .invalid("Sorry, that is not one of the options.")
            .retries(2)
            .fallback("goodbye"),
        )
        .step("spanish", set_language("es-US").then("main_menu"))
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
                .hold("One moment while I look up your balance.")
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

/// The flow's texts in Spanish (the checker requires each of them).
const SPANISH: [(&str, &str); 18] = [
    (
        "Thank you for calling Example Bank.",
        "Gracias por llamar a Example Bank.",
    ),
    (
        "For your account balance, press 1. For cards, press 2. To hear these options again, \
         press 9.",
        "Para el saldo de su cuenta, oprima 1. Para tarjetas, oprima 2. Para escuchar estas \
         opciones de nuevo, oprima 9.",
    ),
    (
        "Sorry, I didn't hear a choice.",
        "Perdón, no escuché su opción.",
    ),
    (
        "Sorry, that is not one of the options.",
        "Perdón, esa no es una de las opciones.",
    ),
    (
        "Please enter your eight digit account number, followed by the pound key.",
        "Marque su número de cuenta de ocho dígitos, seguido de la tecla numeral.",
    ),
    (
        "Sorry, that account number is not valid.",
        "Perdón, ese número de cuenta no es válido.",
    ),
    ("Sorry, I didn't get that.", "Perdón, no le entendí."),
    (
        "One moment while I look up your balance.",
        "Un momento mientras consulto su saldo.",
    ),
    (
        "The balance of the account ending in {account|last4} is {balance} dollars.",
        "El saldo de la cuenta que termina en {account|last4} es de {balance} dólares.",
    ),
    (
        "Sorry, we cannot look up your balance right now.",
        "Lo sentimos, no podemos consultar su saldo en este momento.",
    ),
    (
        "To report a lost or stolen card, press 1. To activate a new card, press 2. To go back \
         to the main menu, press star.",
        "Para reportar una tarjeta perdida o robada, oprima 1. Para activar una tarjeta nueva, \
         oprima 2. Para volver al menú principal, oprima asterisco.",
    ),
    (
        "Sorry, that is not a valid choice.",
        "Perdón, esa no es una opción válida.",
    ),
    (
        "Your cards are now blocked. We will call you back at {caller|digits} within one business \
         day.",
        "Sus tarjetas están bloqueadas. Le llamaremos al {caller|digits} dentro de un día hábil.",
    ),
    (
        "Enter the last four digits of your new card.",
        "Marque los últimos cuatro dígitos de su tarjeta nueva.",
    ),
    (
        "Sorry, that entry is not valid.",
        "Perdón, ese número no es válido.",
    ),
    (
        "Your card ending in {card_last4|digits} is now active.",
        "Su tarjeta que termina en {card_last4|digits} ya está activa.",
    ),
    (
        "Thank you for banking with Example Bank. Goodbye.",
        "Gracias por preferir a Example Bank. Adiós.",
    ),
    (
        "We are sorry, we are having technical difficulties. Please call again later.",
        "Lo sentimos, tenemos dificultades técnicas. Por favor llame más tarde.",
    ),
];

fn balance_request(ctx: &Ctx) -> FetchRequest {
    let api = ctx.setting("BANK_API_URL").unwrap_or_default();
    let key = ctx.setting("BANK_API_KEY").unwrap_or_default();
    let account = ctx.var("account").unwrap_or_default();
    FetchRequest::get(format!("{api}/accounts/{account}/balance"))
        .header("accept", "application/json")
        .header("authorization", &format!("Bearer {key}"))
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
