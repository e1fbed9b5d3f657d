//! The builders flows are written with: each reads like the call it describes.

use super::hours::{Days, Hours};
use super::{
    CheckFn, DecideFn, DialOptions, Hold, Input, Next, ParseFn, Prompt, RequestFn, Retries,
    Sensitive, Step, HOLD_MAX_PLAYS,
};

/// An audio file prompt: `say(audio("https://example.com/welcome.wav"))`.
pub fn audio(url: &str) -> Prompt {
    Prompt::Play {
        url: url.to_owned(),
        or_say: None,
    }
}

/// Text spoken in another language than the flow's: `say(speak_in("es-US", "Hola"))`.
pub fn speak_in(language: &str, text: &str) -> Prompt {
    Prompt::Speak {
        text: text.to_owned(),
        language: Some(language.to_owned()),
    }
}

/// Several prompts in turn, one after the other: `say(parts([audio(chime), "Welcome.".into()]))`.
pub fn parts<const N: usize>(parts: [Prompt; N]) -> Prompt {
    let mut flat = Vec::with_capacity(N);
    for part in parts {
        match part {
            Prompt::Parts(inner) => flat.extend(inner),
            part => flat.push(part),
        }
    }
    Prompt::Parts(flat)
}

/// Speak or play a prompt; the call hangs up after it unless `.then(..)` names a next step.
pub fn say(prompt: impl Into<Prompt>) -> Then {
    Then(Step::Say {
        prompt: prompt.into(),
        next: Next::Hangup,
    })
}

/// A step with one way on (`say`, `send_dtmf`, `set_language`): it hangs up after itself unless
/// `.then(..)` names the next step.
pub struct Then(Step);

impl Then {
    pub fn then(mut self, step: &str) -> Self {
        if let Step::Say { next, .. }
        | Step::SendDtmf { next, .. }
        | Step::SetLanguage { next, .. } = &mut self.0
        {
            *next = Next::to(step);
        }
        self
    }
}

/// Switch the call to `language`, one the flow speaks (`Flow::translations`), then go on at
/// `.then(..)`: `menu(..).option("8", "spanish")` with
/// `.step("spanish", set_language("es-US").then("main_menu"))`.
pub fn set_language(language: &str) -> Then {
    Then(Step::SetLanguage {
        language: language.to_owned(),
        next: Next::Hangup,
    })
}

impl From<Then> for Step {
    fn from(b: Then) -> Step {
        b.0
    }
}

/// A menu: the caller presses a key and the call branches.
pub fn menu(prompt: impl Into<Prompt>) -> MenuBuilder {
    MenuBuilder {
        prompt: prompt.into(),
        options: Vec::new(),
        repeat: None,
        save_as: None,
        input: Input::default(),
        retries: Retries::default(),
        max_digits: None,
    }
}

/// The retry setters menus and gathers share: both builders keep a `retries: Retries`.
macro_rules! retry_setters {
    () => {
        /// What is said when the caller presses nothing, before the step asks again.
        pub fn no_input(mut self, text: &str) -> Self {
            text.clone_into(&mut self.retries.no_input);
            self
        }
        /// What is said after a wrong entry, before the step asks again.
        pub fn invalid(mut self, text: &str) -> Self {
            text.clone_into(&mut self.retries.invalid);
            self
        }
        /// How many times the step asks again after no input or a wrong entry.
        pub fn retries(mut self, n: u32) -> Self {
            self.retries.max = n;
            self
        }
        /// Where to go when the retries are spent (default: hang up).
        pub fn fallback(mut self, step: &str) -> Self {
            self.retries.fallback = Some(step.to_owned());
            self
        }
    };
}

pub struct MenuBuilder {
    prompt: Prompt,
    options: Vec<(String, String)>,
    repeat: Option<String>,
    save_as: Option<String>,
    input: Input,
    retries: Retries,
    max_digits: Option<u32>,
}

impl MenuBuilder {
    /// Pressing `keys` goes to `step`.
    pub fn option(mut self, keys: &str, step: &str) -> Self {
        self.options.push((keys.to_owned(), step.to_owned()));
        self
    }
    /// Pressing `keys` plays the menu again (not counted as a retry).
    pub fn repeat(mut self, keys: &str) -> Self {
        self.repeat = Some(keys.to_owned());
        self
    }
    /// Keeps the chosen option's step name in the variable `var` (and so in the call record).
    pub fn save_as(mut self, var: &str) -> Self {
        self.save_as = Some(var.to_owned());
        self
    }
    pub fn timeout_ms(mut self, ms: u32) -> Self {
        self.input.timeout_ms = ms;
        self
    }
    /// How many keys a choice has (default: the longest option).
    pub fn max_digits(mut self, n: u32) -> Self {
        self.max_digits = Some(n);
        self
    }
    retry_setters!();
}

impl From<MenuBuilder> for Step {
    fn from(b: MenuBuilder) -> Step {
        let longest = b
            .options
            .iter()
            .map(|(k, _)| k.len())
            .chain(b.repeat.as_ref().map(String::len))
            .max()
            .unwrap_or(1);
        let max_digits = b.max_digits.unwrap_or(u32::try_from(longest).unwrap_or(1));
        Step::Menu {
            prompt: b.prompt,
            options: b.options,
            repeat: b.repeat,
            save_as: b.save_as,
            input: Input {
                max_digits,
                ..b.input
            },
            retries: b.retries,
        }
    }
}

/// Collect a value of several digits (account number, PIN, date) into the variable `var`. Say
/// where the call goes with it: `.then(step)`, or `.then_hangup()` (the checker refuses a gather
/// without either).
pub fn gather(prompt: impl Into<Prompt>, var: &str) -> GatherBuilder {
    GatherBuilder {
        prompt: prompt.into(),
        var: var.to_owned(),
        min_digits: 1,
        input: Input {
            max_digits: 10,
            timeout_ms: 8_000,
            inter_digit_timeout_ms: 3_000,
            terminators: "#".to_owned(),
        },
        next: None,
        retries: Retries {
            invalid: "Sorry, that entry is not valid.".to_owned(),
            ..Retries::default()
        },
        check: None,
        sensitive: None,
    }
}

pub struct GatherBuilder {
    prompt: Prompt,
    var: String,
    min_digits: u32,
    input: Input,
    next: Option<Next>,
    retries: Retries,
    check: Option<CheckFn>,
    sensitive: Option<Sensitive>,
}

impl GatherBuilder {
    /// Accept between `min` and `max` digits (fewer is invalid input).
    pub fn digits(mut self, min: u32, max: u32) -> Self {
        self.min_digits = min;
        self.input.max_digits = max;
        self
    }
    /// Keys that end the entry early (default `#`).
    pub fn terminators(mut self, keys: &str) -> Self {
        keys.clone_into(&mut self.input.terminators);
        self
    }
    /// Wait for the first digit, in milliseconds.
    pub fn timeout_ms(mut self, ms: u32) -> Self {
        self.input.timeout_ms = ms;
        self
    }
    /// Wait between digits, in milliseconds.
    pub fn inter_digit_timeout_ms(mut self, ms: u32) -> Self {
        self.input.inter_digit_timeout_ms = ms;
        self
    }
    /// Where the call goes with the entry.
    pub fn then(mut self, step: &str) -> Self {
        self.next = Some(Next::to(step));
        self
    }
    /// End the call once the entry is made (it is in the call's record).
    pub fn then_hangup(mut self) -> Self {
        self.next = Some(Next::Hangup);
        self
    }
    retry_setters!();
    /// Refuse an entry `check` says is wrong (a Luhn check digit, a known PIN): the gather asks
    /// again with its invalid notice, counting a retry, and the record keeps it as `refused`.
    pub fn check(mut self, check: CheckFn) -> Self {
        self.check = Some(check);
        self
    }
    /// A sensitive entry (an account number, a card number, a PIN, a date of birth): the flow
    /// uses it while the call lives (its `fetch` requests, checks, `decide`), but it is kept
    /// sealed with the `SESSION_SEAL_KEY` secret, dropped once no later step can read it, and
    /// never written to a record, a log line or the API's answers: its answer keeps only its
    /// result and a mask of its length (`********`). A prompt may speak it only as
    /// `{var|last4}`.
    pub fn sensitive(self) -> Self {
        self.keep_last(0)
    }
    /// A sensitive entry ([`GatherBuilder::sensitive`]) whose answer in records keeps its last
    /// `n` digits (`****5674`), never more than half of them.
    pub fn keep_last(mut self, n: u8) -> Self {
        self.sensitive = Some(Sensitive { keep_last: n });
        self
    }
}

impl From<GatherBuilder> for Step {
    fn from(b: GatherBuilder) -> Step {
        Step::Gather {
            prompt: b.prompt,
            var: b.var,
            min_digits: b.min_digits,
            input: b.input,
            next: b.next,
            retries: b.retries,
            check: b.check,
            sensitive: b.sensitive,
        }
    }
}

fn names<const N: usize>(names: [&str; N]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

/// Run `decide` to choose the next step among `targets` (declared so flows can be validated; a
/// step not declared here is refused at run time and the call ends politely).
pub fn decide<const N: usize>(targets: [&str; N], decide: DecideFn) -> DecideBuilder {
    DecideBuilder(Step::Decide {
        targets: names(targets),
        decide,
        sets: Vec::new(),
    })
}

pub struct DecideBuilder(Step);

impl DecideBuilder {
    /// The variables the code may set, so that later prompts may name them.
    pub fn sets<const N: usize>(mut self, vars: [&str; N]) -> Self {
        if let Step::Decide { sets, .. } = &mut self.0 {
            *sets = names(vars);
        }
        self
    }
}

impl From<DecideBuilder> for Step {
    fn from(b: DecideBuilder) -> Step {
        b.0
    }
}

/// Call an HTTP API: `request` builds the request from the session; `.on_ok(step, parse)` reads
/// a successful answer into variables and goes on at `step`; `.on_error(step)` is where a failed
/// request (or an answer `parse` refused) goes.
pub fn fetch(request: RequestFn) -> FetchBuilder {
    FetchBuilder(Step::Fetch {
        request,
        parse: |_, _| Ok(()),
        ok: Next::Hangup,
        error: Next::Hangup,
        sets: Vec::new(),
        hold: None,
    })
}

pub struct FetchBuilder(Step);

impl FetchBuilder {
    /// A 2xx answer is read by `parse`; if it accepts it, the call goes on at `step`.
    pub fn on_ok(mut self, step: &str, read: ParseFn) -> Self {
        if let Step::Fetch { parse, ok, .. } = &mut self.0 {
            *parse = read;
            *ok = Next::to(step);
        }
        self
    }
    /// Where the call goes when the request fails or its answer is refused.
    pub fn on_error(mut self, step: &str) -> Self {
        if let Step::Fetch { error, .. } = &mut self.0 {
            *error = Next::to(step);
        }
        self
    }
    /// The variables `parse` may set, so that later prompts may name them.
    pub fn sets<const N: usize>(mut self, vars: [&str; N]) -> Self {
        if let Step::Fetch { sets, .. } = &mut self.0 {
            *sets = names(vars);
        }
        self
    }
    /// What the caller hears while the request runs: text (in the flow's language), audio (hold
    /// music), or both. Called again, it adds a prompt: they play in turn until the answer comes.
    pub fn hold(mut self, prompt: impl Into<Prompt>) -> Self {
        if let Step::Fetch { hold, .. } = &mut self.0 {
            let hold = hold.get_or_insert_with(|| Hold {
                prompts: Vec::new(),
                max_plays: HOLD_MAX_PLAYS,
            });
            hold.prompts.push(prompt.into());
        }
        self
    }
    /// How many hold prompts play before a request that has not answered is given up (the
    /// step's error way); default 4.
    pub fn hold_at_most(mut self, plays: u32) -> Self {
        if let Step::Fetch {
            hold: Some(hold), ..
        } = &mut self.0
        {
            hold.max_plays = plays;
        }
        self
    }
}

impl From<FetchBuilder> for Step {
    fn from(b: FetchBuilder) -> Step {
        b.0
    }
}

/// Branch on opening hours in an IANA time zone:
/// `hours("America/New_York").open(Mon..=Fri, "09:00-17:30").closed_on("2026-12-25")
/// .then_open("agents").then_closed("closed")`.
pub fn hours(zone: &str) -> HoursBuilder {
    HoursBuilder {
        hours: Hours::new(zone),
        open: Next::Hangup,
        closed: Next::Hangup,
    }
}

pub struct HoursBuilder {
    hours: Hours,
    open: Next,
    closed: Next,
}

impl HoursBuilder {
    /// Open on `days` (`Mon`, `Mon..=Fri`, `[Sat, Sun]`) for `ranges` (`"09:00-12:00, 13:00-17:00"`).
    pub fn open(mut self, days: impl Days, ranges: &str) -> Self {
        self.hours.open(days, ranges);
        self
    }
    /// Closed all day on `date` (`"2026-12-25"`).
    pub fn closed_on(mut self, date: &str) -> Self {
        self.hours.closed_on(date);
        self
    }
    /// Open only for `ranges` on `date`, whatever its weekday's hours are.
    pub fn special(mut self, date: &str, ranges: &str) -> Self {
        self.hours.special(date, ranges);
        self
    }
    /// Where calls go while open.
    pub fn then_open(mut self, step: &str) -> Self {
        self.open = Next::to(step);
        self
    }
    /// Where calls go while closed (the variable `opening_hours` says the hours in words).
    pub fn then_closed(mut self, step: &str) -> Self {
        self.closed = Next::to(step);
        self
    }
}

impl From<HoursBuilder> for Step {
    fn from(b: HoursBuilder) -> Step {
        Step::Hours {
            hours: b.hours,
            open: b.open,
            closed: b.closed,
        }
    }
}

/// Bridge the caller to the first number that answers. Numbers may be templates (`"{agent}"`).
pub fn dial<const N: usize>(numbers: [&str; N]) -> DialBuilder {
    DialBuilder {
        numbers: numbers.iter().map(|s| (*s).to_owned()).collect(),
        caller_id: None,
        options: DialOptions::default(),
        after: Next::Hangup,
        on_no_answer: Next::Hangup,
    }
}

pub struct DialBuilder {
    numbers: Vec<String>,
    caller_id: Option<String>,
    options: DialOptions,
    after: Next,
    on_no_answer: Next,
}

impl DialBuilder {
    /// The caller id shown to the called party (default: the number the caller dialed).
    pub fn caller_id(mut self, number: &str) -> Self {
        self.caller_id = Some(number.to_owned());
        self
    }
    /// Record the bridged call (the file name arrives in the call record).
    pub fn record(mut self) -> Self {
        self.options.record_call = true;
        self
    }
    /// End the bridged call after `seconds` (Telesign's limit is 14400, four hours).
    pub fn max_call_duration(mut self, seconds: u32) -> Self {
        self.options.max_call_duration = Some(seconds);
        self
    }
    /// Tones sent once the number answers (`0-9A-D*#`, `w` a half-second pause): an extension.
    pub fn send_dtmf(mut self, tones: &str) -> Self {
        self.options.send_dtmf = Some(tones.to_owned());
        self
    }
    /// Mark the dialled leg as the primary one (Telesign's `is_primary`).
    pub fn primary(mut self) -> Self {
        self.options.is_primary = true;
        self
    }
    /// Where to go when no number answered (default: hang up).
    pub fn on_no_answer(mut self, step: &str) -> Self {
        self.on_no_answer = Next::to(step);
        self
    }
    /// Where to go when an answered leg has ended and the caller is still there (default: hang up).
    pub fn after(mut self, step: &str) -> Self {
        self.after = Next::to(step);
        self
    }
}

impl From<DialBuilder> for Step {
    fn from(b: DialBuilder) -> Step {
        Step::Dial {
            numbers: b.numbers,
            caller_id: b.caller_id,
            options: b.options,
            after: b.after,
            on_no_answer: b.on_no_answer,
        }
    }
}

/// Send DTMF tones (`0-9A-D*#`, `w` a half-second pause) into an answered outbound call.
pub fn send_dtmf(digits: &str) -> Then {
    Then(Step::SendDtmf {
        digits: digits.to_owned(),
        next: Next::Hangup,
    })
}

/// End the call.
pub fn hangup() -> Step {
    Step::Hangup
}
