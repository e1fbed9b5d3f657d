//! One event applied to one call: the state machine that walks the flow from where the call is
//! to its next action, and checks every action against the call-state rules before it is sent.

use crate::flow::{
    hours::OPENING_HOURS, template, Branch, Ctx, FetchRequest, Flow, Input, InputStep, Next,
    Prompt, Prompted, Registry, Retries, Step, Taken, Takes,
};
use crate::flow::{Decide, Fetch, Gather, Hours, Menu, Say, SetLanguage};
use crate::telesign::{
    may_answer, Action, CollectDigits, Dial, DialStatus, Event, EventKind, HangupCause,
    MediaCompleted, MediaStatus, Method, Parties, Play, SendDtmf, Speak,
};

use super::fit::{is_phone_key, remember};
use super::privacy;
use super::{
    done, hangup_reply, Answer, AnswerResult, CallOutcome, Direction, FetchOutcome, Held, Here,
    Lookup, LookupOutcome, MediaFailed, MediaFailure, Note, Outcome, Reply, Session, Wait, Write,
    MAX_HOPS,
};
use crate::mask::{mask_entry, mask_keys};

/// The flow of a live call is gone: hang up politely and say so in the record.
pub(super) fn ended_badly(mut session: Session, event: &Event, now_ms: u64) -> Outcome {
    session.outcome = Some(CallOutcome::FlowError);
    let reply = if may_answer(&event.kind, Method::Hangup) {
        session.wait = Wait::Hangup;
        hangup_reply()
    } else {
        None
    };
    remember(
        &mut session,
        event,
        &privacy::Kept::none(),
        reply.as_ref(),
        now_ms,
    );
    done(reply, Write::Session(Box::new(session)), Note::Advanced)
}

/// A flow did something it may not (a step that does not exist, an undeclared target, an action
/// the call state forbids, a value Telesign would refuse). The call is ended politely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FlowError;

/// What a turn produced: an action to send, none, a request to run first, or (at the end of a
/// hold) the outcome of the held request to read.
pub(super) enum Produced {
    Action(Action),
    Fetch(FetchRequest),
    AwaitLookup(u32),
}

pub(super) type TurnResult = Result<Option<Produced>, FlowError>;

/// One event being applied to one call.
pub(super) struct Turn<'a> {
    pub(super) flow: &'a Flow,
    pub(super) session: Session,
    pub(super) event: &'a Event,
    pub(super) now_ms: u64,
    /// The fingerprint of the event's body the session keeps, once the turn concludes.
    kept: privacy::Kept,
    /// Keys that stopped a plain prompt: the answer of the next input step, if the call reaches
    /// one before another prompt in this turn.
    keys_ahead: Option<String>,
    /// The variable a prompt needed and did not have, when that is why the turn failed.
    missing: Option<String>,
    /// The turn is already on its way to a fallback after an error: a second error hangs up.
    recovering: bool,
    /// The branches this turn took, in order.
    pub(super) taken: Vec<Taken>,
    /// The request of a held `fetch` step, to run after the answer.
    lookup: Option<Lookup>,
}

impl<'a> Turn<'a> {
    pub(super) fn new(
        flow: &'a Flow,
        mut session: Session,
        event: &'a Event,
        kept: privacy::Kept,
        now_ms: u64,
    ) -> Self {
        privacy::open(flow, &mut session);
        Turn {
            flow,
            session,
            event,
            now_ms,
            kept,
            keys_ahead: None,
            missing: None,
            recovering: false,
            taken: Vec::new(),
            lookup: None,
        }
    }

    /// A turn of the call's flow; a call whose flow is gone (removed by a deploy while the call
    /// was live) is ended instead.
    pub(super) fn start(
        registry: &'a Registry,
        session: Session,
        event: &'a Event,
        fingerprint: &str,
        now_ms: u64,
    ) -> Result<Self, Box<Outcome>> {
        match registry.get(&session.flow) {
            Some(flow) => {
                let kept = privacy::fingerprint(flow, fingerprint);
                Ok(Turn::new(flow, session, event, kept, now_ms))
            }
            None => Err(Box::new(ended_badly(session, event, now_ms))),
        }
    }

    /// Applies the event to where the call is. `None`: the event does not move the call.
    pub(super) fn advance(&mut self) -> Option<TurnResult> {
        let wait = self.session.wait;
        match (&self.event.kind, wait) {
            (EventKind::DialCompleted(d), Wait::Answer) if d.status == DialStatus::Answered => {
                let start = self.flow.start().map(str::to_owned);
                Some(match start {
                    Some(start) => self.follow(Next::Step(start)),
                    None => Err(FlowError),
                })
            }
            (EventKind::SpeakCompleted(m), Wait::Speak | Wait::Notice)
            | (EventKind::PlayCompleted(m), Wait::Play) => Some(self.media_completed(m)),
            (EventKind::DialCompleted(d), Wait::Bridge) => {
                if d.status == DialStatus::Answered {
                    self.session.outcome = Some(CallOutcome::Bridged);
                }
                None
            }
            (EventKind::CallLegCompleted(leg), Wait::Bridge) => {
                if self.is_late_leg(&leg.parties) {
                    // A late event of a number rung before: the current leg goes on.
                    return None;
                }
                Some(self.leg_completed(&leg.hangup_cause))
            }
            (kind, Wait::Dtmf) if !matches!(kind, EventKind::CallLegCompleted(_)) => {
                // Telesign documents no completion event for send_dtmf: whatever comes next
                // continues the flow.
                let Some(step) = self.flow.get(&self.session.step) else {
                    return Some(Err(FlowError));
                };
                let next = match step {
                    Step::SendDtmf(crate::flow::SendDtmf { next, .. }) => next.clone(),
                    // Only a step that sends tones leaves the call waiting for them.
                    Step::Say(_)
                    | Step::Menu(_)
                    | Step::Gather(_)
                    | Step::Decide(_)
                    | Step::Fetch(_)
                    | Step::Hours(_)
                    | Step::Dial(_)
                    | Step::SetLanguage(_)
                    | Step::Hangup(_) => return Some(Err(FlowError)),
                };
                self.took_here(Branch::Next);
                Some(self.follow(next))
            }
            _ => None,
        }
    }

    /// Whether a leg event names a number this dial rang before and not the one ringing now: a
    /// late (or redelivered) event of an earlier leg. Telesign's page does not make clear which
    /// of `to`/`from` is the leg's far end, so either counts; an event naming no number of the
    /// hunt is taken for the current leg.
    fn is_late_leg(&self, parties: &Parties) -> bool {
        let Some((ringing, before)) = self.session.here.rung.split_last() else {
            return false;
        };
        let named: Vec<&str> = [&parties.to, &parties.from]
            .into_iter()
            .flatten()
            .map(|p| p.digits())
            .collect();
        !named.contains(&ringing.as_str()) && before.iter().any(|n| named.contains(&n.as_str()))
    }

    /// The prompt the call waited on ended: played through, stopped by keys, timed out, or
    /// failed.
    fn media_completed(&mut self, m: &MediaCompleted) -> TurnResult {
        let name = self.session.step.clone();
        let step = self.flow.get(&name).ok_or(FlowError)?;
        // Only keys a phone has are kept: nothing else reaches a session or a record.
        let keys: String = m
            .collected_digits
            .chars()
            .filter(|c| is_phone_key(*c))
            .collect();
        if let (Step::Fetch(_), Some(held)) = (step, &self.session.held) {
            let failed = m.status == MediaStatus::Failed;
            return Ok(Some(self.hold_ended(&name, held.index, &keys, failed)));
        }
        if m.status == MediaStatus::Failed {
            return self.media_failed(&name, step);
        }
        if self.session.wait == Wait::Notice {
            // The retry notice before an audio prompt was said (or stopped by keys, which then
            // answer the prompt itself).
            return if keys.is_empty() {
                self.prompt_for_input(step)
            } else {
                self.entry(&name, step, &keys)
            };
        }
        if let Some(prompt) = self.prompt_of(step).filter(|p| self.more_parts(p)) {
            // A part of a prompt of several ended: keys answer (or stop) the whole prompt,
            // otherwise the next part plays.
            if keys.is_empty() {
                self.session.here.part += 1;
                let input = input_prompt(step).map(|(_, input)| input);
                let action = self.prompt_action(prompt, input)?;
                return self.send(action);
            }
            if step.is_input() {
                return self.entry(&name, step, &keys);
            }
        }
        if let Step::Say(Say { next, .. }) = step {
            if !keys.is_empty() {
                // Keys stop a plain prompt; they answer the next input step, if the call
                // reaches one before another prompt.
                self.answer(&name, &keys, AnswerResult::Interrupted);
                self.keys_ahead = Some(keys);
            }
            self.took(&name, Branch::Next);
            return self.follow(next.clone());
        }
        // Only prompts are waited on: a say's, or an input step's.
        self.entry(&name, step, &keys)
    }

    /// The caller's entry at an input step: the keys up to the first terminator (the
    /// terminator ends the entry and is not part of it). Nothing, or a terminator alone, is no
    /// input.
    fn entry(&mut self, name: &str, step: &Step, keys: &str) -> TurnResult {
        let step = step.input_step().ok_or(FlowError)?;
        let (input, retries) = (step.input, step.retries);
        let end = keys
            .find(|c| input.terminators.contains(c))
            .unwrap_or(keys.len());
        let digits = &keys[..end];
        // Digits pressed before a timeout still count; only an empty entry is "no input".
        if digits.is_empty() {
            self.answer(name, digits, AnswerResult::NoInput);
            self.took(name, Branch::NoInput);
            return self.retry(name, &retries.no_input, retries);
        }
        match step.takes {
            Takes::Choice {
                options,
                repeat,
                save_as,
            } => {
                if repeat == Some(digits) {
                    self.answer(name, digits, AnswerResult::Repeat);
                    self.took(name, Branch::Repeat);
                    return self.prompt_input(step);
                }
                match options.iter().find(|(k, _)| k == digits) {
                    Some((_, target)) => {
                        self.answer(name, digits, AnswerResult::Accepted);
                        self.took(name, Branch::Key(digits.to_owned()));
                        if let Some(var) = save_as {
                            self.session.vars.insert(var.to_owned(), target.clone());
                        }
                        self.follow(Next::to(target))
                    }
                    None => {
                        self.answer(name, digits, AnswerResult::Invalid);
                        self.took(name, Branch::Invalid);
                        self.retry(name, &retries.invalid, retries)
                    }
                }
            }
            Takes::Entry {
                var,
                min_digits,
                next,
                check,
            } => {
                // A gathered value is digits: `*` or `#` inside it (when not a terminator) make
                // it invalid, as does a length outside `digits(min, max)`.
                let len = u32::try_from(digits.len()).unwrap_or(u32::MAX);
                let only_digits = digits.bytes().all(|b| b.is_ascii_digit());
                if !only_digits || len < min_digits || len > input.max_digits {
                    self.answer(name, digits, AnswerResult::Invalid);
                    self.took(name, Branch::Invalid);
                    return self.retry(name, &retries.invalid, retries);
                }
                if check.is_some_and(|check| !check(digits)) {
                    self.answer(name, digits, AnswerResult::Refused);
                    self.took(name, Branch::Refused);
                    return self.retry(name, &retries.invalid, retries);
                }
                self.answer(name, digits, AnswerResult::Accepted);
                self.took(name, Branch::Next);
                self.session.vars.insert(var.to_owned(), digits.to_owned());
                self.follow(next.cloned().unwrap_or(Next::Hangup))
            }
        }
    }

    /// Telesign could not play the prompt: noted in the record; an audio prompt with a spoken
    /// fallback is spoken instead, any other prompt is tried once more; after that the call
    /// moves on (a `say` to its next step, a menu or gather to its fallback, else hang up).
    /// Notes in the call's failures that the prompt of step `name` could not be played.
    fn media_failure(&mut self, name: &str) {
        let status = match self.event.kind {
            EventKind::PlayCompleted(_) => MediaFailed::PlaybackFailed,
            _ => MediaFailed::SpeakFailed,
        };
        self.session.failures.push(MediaFailure {
            step: name.to_owned(),
            status,
            at_ms: self.now_ms,
        });
    }

    fn media_failed(&mut self, name: &str, step: &Step) -> TurnResult {
        self.media_failure(name);
        let step = step.prompted().ok_or(FlowError)?;
        let prompt = match step {
            // The notice before an audio prompt failed: the prompt itself, without it.
            Prompted::Input(input) if self.session.wait == Wait::Notice => {
                return self.prompt_input(input)
            }
            Prompted::Say { .. } if self.session.wait == Wait::Notice => return Err(FlowError),
            Prompted::Say { prompt, .. } => prompt,
            Prompted::Input(input) => input.prompt,
        };
        let has_fallback = matches!(
            prompt,
            Prompt::Play {
                or_say: Some(_),
                ..
            }
        );
        if has_fallback && !self.session.here.spoken_fallback {
            self.session.here.spoken_fallback = true;
        } else if self.session.here.media_retries == 0 {
            self.session.here.media_retries = 1;
        } else {
            return match step {
                Prompted::Say { next, .. } => {
                    self.took(name, Branch::Next);
                    self.follow(next.clone())
                }
                Prompted::Input(input) => {
                    self.took(name, Branch::Fallback);
                    let fallback = input.retries.fallback.as_deref();
                    self.follow(fallback.map_or(Next::Hangup, Next::to))
                }
            };
        }
        match step {
            Prompted::Say { prompt, .. } => {
                let action = self.prompt_action(prompt, None)?;
                self.send(action)
            }
            Prompted::Input(input) => self.prompt_input(input),
        }
    }

    /// Notes a branch taken at `step`, for the trace of the turn.
    pub(super) fn took(&mut self, step: &str, branch: Branch) {
        self.taken.push(Taken {
            step: step.to_owned(),
            branch,
        });
    }

    /// Notes a branch taken at the step the call is at.
    pub(super) fn took_here(&mut self, branch: Branch) {
        let step = self.session.step.clone();
        self.took(&step, branch);
    }

    /// Keeps an entry in the call's answers: a sensitive step's as its mask.
    fn answer(&mut self, step: &str, digits: &str, result: AnswerResult) {
        let sensitive = self.flow.sensitive_entry(step);
        self.session.answers.push(Answer {
            step: step.to_owned(),
            digits: match sensitive {
                Some(s) => mask_entry(digits, s.keep_last),
                None => digits.to_owned(),
            },
            result,
            at_ms: self.now_ms,
            sensitive: sensitive.is_some(),
        });
    }

    /// Keys pressed during a plain prompt answer a sensitive entry: their answer at the prompt
    /// is masked (they may hold a terminator, and keys past it).
    fn mask_keys_ahead(&mut self, step: &str, keys: &str) {
        if self.flow.sensitive_entry(step).is_none() {
            return;
        }
        let earlier =
            self.session.answers.iter_mut().rev().find(|a| {
                a.result == AnswerResult::Interrupted && !a.sensitive && a.digits == keys
            });
        if let Some(answer) = earlier {
            answer.digits = mask_keys(keys);
            answer.sensitive = true;
        }
    }

    /// Prompts again after no input or a wrong entry, or gives up to the fallback.
    fn retry(&mut self, name: &str, notice: &str, retries: &Retries) -> TurnResult {
        self.session.retries += 1;
        if self.session.retries > retries.max {
            self.took(name, Branch::Fallback);
            return self.follow(retries.fallback.as_deref().map_or(Next::Hangup, Next::to));
        }
        let step = self.flow.get(name).ok_or(FlowError)?;
        let (prompt, input) = input_prompt(step).ok_or(FlowError)?;
        let notice = self.said(notice.trim())?;
        self.session.here.part = 0;
        match prompt {
            Prompt::Speak {
                text,
                language: None,
            } if !notice.is_empty() => {
                let text = format!("{notice} {}", self.said(text)?);
                let speak = self.speak(&text, None, Some(input))?;
                self.send(Action::Speak(speak))
            }
            Prompt::Speak {
                text,
                language: Some(language),
            } if !notice.is_empty() => {
                let text = format!("{notice} {}", self.render(text)?);
                let speak = self.speak(&text, Some(language), Some(input))?;
                self.send(Action::Speak(speak))
            }
            Prompt::Play {
                or_say: Some(text), ..
            } if !notice.is_empty() && self.session.here.spoken_fallback => {
                let text = format!("{notice} {}", self.said(text)?);
                let speak = self.speak(&text, None, Some(input))?;
                self.send(Action::Speak(speak))
            }
            Prompt::Play { .. } | Prompt::Parts(_) if !notice.is_empty() => {
                let action = self.speak(&notice, None, None)?;
                self.session.wait = Wait::Notice;
                self.allowed(Action::Speak(action))
                    .map(|a| Some(Produced::Action(a)))
            }
            _ => self.prompt_for_input(step),
        }
    }

    /// A bridged leg ended: answered legs go on to `after`; others try the next number.
    fn leg_completed(&mut self, cause: &HangupCause) -> TurnResult {
        let step = self.flow.get(&self.session.step).ok_or(FlowError)?;
        let Step::Dial(crate::flow::Dial {
            after,
            on_no_answer,
            ..
        }) = step
        else {
            return Err(FlowError);
        };
        if *cause == HangupCause::CallAnswered {
            self.session.outcome = Some(CallOutcome::Bridged);
            self.took_here(Branch::After);
            return self.follow(after.clone());
        }
        self.session.here.hunt += 1;
        match self.dial_from(step, self.session.here.hunt)? {
            Some(action) => self.send(action),
            None => {
                if self.session.outcome.is_none() {
                    self.session.outcome = Some(CallOutcome::NoAnswer);
                }
                self.took_here(Branch::NoAnswer);
                self.follow(on_no_answer.clone())
            }
        }
    }

    /// Moves the call along `next`, through steps without actions of their own, to the next
    /// action (or fetch).
    pub(super) fn follow(&mut self, mut next: Next) -> TurnResult {
        for _ in 0..MAX_HOPS {
            let name = match next {
                Next::Hangup => return self.send(Action::Hangup),
                Next::Retry => {
                    let name = self.session.input_step.clone().ok_or(FlowError)?;
                    // User code refused the entry the input step accepted.
                    if let Some(answer) = self.session.answers.last_mut() {
                        if answer.step == name && answer.result == AnswerResult::Accepted {
                            answer.result = AnswerResult::Refused;
                        }
                    }
                    self.took(&name, Branch::Refused);
                    self.session.step = name.clone();
                    let step = self.flow.get(&name).ok_or(FlowError)?;
                    let retries = input_retries(step).ok_or(FlowError)?;
                    return self.retry(&name, &retries.invalid, retries);
                }
                Next::Step(name) => name,
            };
            let step = self.flow.get(&name).ok_or(FlowError)?;
            self.session.step = name.clone();
            self.session.visits.enter(&name, self.now_ms);
            self.session.here = Here::default();
            match step {
                Step::Say(Say { prompt, .. }) => {
                    // Keys that stopped the last prompt answer input steps only.
                    self.keys_ahead = None;
                    let action = self.prompt_action(prompt, None)?;
                    return self.send(action);
                }
                Step::Menu(_) | Step::Gather(_) => {
                    // The count starts afresh at each input step entered, and only there: a
                    // `Next::Retry` from the steps after it (a check of the entry) spends it.
                    self.session.retries = 0;
                    self.session.input_step = Some(name.clone());
                    return match self.keys_ahead.take() {
                        Some(keys) => {
                            self.mask_keys_ahead(&name, &keys);
                            self.entry(&name, step, &keys)
                        }
                        None => self.prompt_for_input(step),
                    };
                }
                Step::Decide(Decide {
                    targets, decide, ..
                }) => {
                    self.settings_ready()?;
                    next = checked(decide(&mut self.ctx()), targets)?;
                    if let Next::Step(target) = &next {
                        self.took(&name, Branch::Chosen(target.clone()));
                    }
                }
                Step::Hours(Hours {
                    hours,
                    open,
                    closed,
                }) => {
                    next = match hours.is_open_at(self.now_ms).ok_or(FlowError)? {
                        true => {
                            self.took(&name, Branch::Open);
                            open.clone()
                        }
                        false => {
                            self.took(&name, Branch::Closed);
                            let words = hours.describe_in(self.language());
                            self.session.vars.insert(OPENING_HOURS.to_owned(), words);
                            closed.clone()
                        }
                    };
                }
                Step::Fetch(Fetch {
                    request,
                    hold: Some(hold),
                    ..
                }) => {
                    // The hold answers at once; the request runs after the answer.
                    self.settings_ready()?;
                    let request = request(&self.ctx());
                    let index = u32::try_from(self.session.fetches.len()).unwrap_or(u32::MAX);
                    self.session.held = Some(Held {
                        index,
                        plays: 1,
                        since_ms: self.now_ms,
                    });
                    self.lookup = Some(Lookup {
                        index,
                        step: name,
                        request,
                    });
                    let first = hold.prompts.first().ok_or(FlowError)?;
                    let action = self.prompt_action(first, None)?;
                    return self.send(action);
                }
                Step::Fetch(Fetch { request, .. }) => {
                    self.settings_ready()?;
                    return Ok(Some(Produced::Fetch(request(&self.ctx()))));
                }
                Step::Dial(_) => {
                    return match self.dial_from(step, 0)? {
                        Some(action) => self.send(action),
                        None => Err(FlowError),
                    };
                }
                Step::SendDtmf(crate::flow::SendDtmf { digits, .. }) => {
                    let action = SendDtmf::new(digits).map_err(|_| FlowError)?;
                    return self.send(Action::SendDtmf(action));
                }
                Step::SetLanguage(SetLanguage {
                    language,
                    next: then,
                }) => {
                    self.session.language = Some(language.clone());
                    self.took(&name, Branch::Next);
                    next = then.clone();
                }
                Step::Hangup(_) => return self.send(Action::Hangup),
            }
        }
        Err(FlowError)
    }

    /// The prompt of a menu or gather step, collecting digits.
    fn prompt_for_input(&mut self, step: &Step) -> TurnResult {
        self.prompt_input(step.input_step().ok_or(FlowError)?)
    }

    /// The prompt of an input step, collecting digits.
    fn prompt_input(&mut self, step: InputStep) -> TurnResult {
        let action = self.prompt_action(step.prompt, Some(step.input))?;
        self.send(action)
    }

    fn prompt_action(
        &mut self,
        prompt: &Prompt,
        input: Option<&Input>,
    ) -> Result<Action, FlowError> {
        match prompt {
            Prompt::Parts(parts) => {
                // One part per event; only the last collects the entry.
                let at = usize::try_from(self.session.here.part).unwrap_or(usize::MAX);
                let part = parts.get(at).ok_or(FlowError)?;
                let last = at + 1 == parts.len();
                self.prompt_action(part, input.filter(|_| last))
            }
            Prompt::Speak {
                text,
                language: None,
            } => {
                let text = self.said(text)?;
                Ok(Action::Speak(self.speak(&text, None, input)?))
            }
            // Text in a language of its own is spoken as written.
            Prompt::Speak {
                text,
                language: Some(language),
            } => {
                let text = self.render(text)?;
                Ok(Action::Speak(self.speak(&text, Some(language), input)?))
            }
            Prompt::Play {
                or_say: Some(text), ..
            } if self.session.here.spoken_fallback => {
                let text = self.said(text)?;
                Ok(Action::Speak(self.speak(&text, None, input)?))
            }
            Prompt::Play { url, .. } => {
                // A phrasebook may pair an audio file with its recording in another language.
                let flow = self.flow;
                let url = flow.translate(self.language(), url);
                let mut play = Play::new(url).map_err(|_| FlowError)?;
                if let Some(input) = input {
                    play = play.collect(collect_digits(input)?);
                }
                Ok(Action::Play(play))
            }
        }
    }

    /// The language the call is spoken in.
    fn language(&self) -> &str {
        self.session
            .language
            .as_deref()
            .unwrap_or(&self.flow.language)
    }

    /// A text of the flow's as the caller hears it: in the call's language, placeholders filled.
    fn said(&mut self, text: &str) -> Result<String, FlowError> {
        let flow = self.flow;
        let language = self.language().to_owned();
        self.render(flow.translate(&language, text))
    }

    fn speak(
        &self,
        text: &str,
        language: Option<&str>,
        input: Option<&Input>,
    ) -> Result<Speak, FlowError> {
        let language = language.unwrap_or(self.language());
        let mut speak = Speak::new(text, language).map_err(|_| FlowError)?;
        if let Some(input) = input {
            speak = speak.collect(collect_digits(input)?);
        }
        Ok(speak)
    }

    /// The dial action for the first number from index `from` on that renders to a valid number.
    fn dial_from(&mut self, step: &Step, from: u32) -> Result<Option<Action>, FlowError> {
        let Step::Dial(crate::flow::Dial {
            numbers,
            caller_id,
            options,
            ..
        }) = step
        else {
            return Err(FlowError);
        };
        let caller_id = match caller_id {
            Some(c) => self.render(c)?,
            // Show the number the caller dialed (ours) to the agent.
            None => self.session.to.clone().unwrap_or_default(),
        };
        let start = usize::try_from(from).unwrap_or(usize::MAX);
        for (i, number) in numbers.iter().enumerate().skip(start) {
            // A number whose variable is not set is skipped, as a number that is not one is.
            let Ok(number) = self.render(number) else {
                self.missing = None;
                continue;
            };
            if let Ok(dial) = Dial::new(&number, &caller_id) {
                self.session.here.hunt = u32::try_from(i).unwrap_or(u32::MAX);
                self.session.here.rung.push(dial.to().digits().to_owned());
                return Ok(Some(Action::Dial(
                    options.apply(dial).map_err(|_| FlowError)?,
                )));
            }
        }
        Ok(None)
    }

    /// Checks the action against the call-state rules and records what is now awaited.
    fn send(&mut self, action: Action) -> TurnResult {
        let action = self.allowed(action)?;
        self.session.wait = match &action {
            Action::Speak(_) => Wait::Speak,
            Action::Play(_) => Wait::Play,
            Action::Dial(_) => Wait::Bridge,
            Action::SendDtmf(_) => Wait::Dtmf,
            _ => {
                if self.session.outcome.is_none() {
                    self.session.outcome = Some(CallOutcome::Completed);
                }
                Wait::Hangup
            }
        };
        Ok(Some(Produced::Action(action)))
    }

    fn allowed(&self, action: Action) -> Result<Action, FlowError> {
        let kind = match (&self.event.kind, self.session.wait) {
            // After send_dtmf the next event continues the flow as a media completion would.
            (EventKind::Unknown { .. }, Wait::Dtmf) => &MEDIA_COMPLETED_STATE,
            (kind, _) => kind,
        };
        if may_answer(kind, action.method()) {
            Ok(action)
        } else {
            Err(FlowError)
        }
    }

    /// `text` with its placeholders filled; a variable that is not set (and has no default)
    /// fails the turn, to the step's fallback or the flow's `on_error` step.
    fn render(&mut self, text: &str) -> Result<String, FlowError> {
        let s = &self.session;
        let rendered = template::render(text, |name| match name {
            "caller" => caller(s),
            "called" => called(s),
            _ => s.vars.get(name).map(String::as_str),
        });
        rendered.map_err(|template::Missing(name)| {
            self.missing = Some(name);
            FlowError
        })
    }

    /// The flow's code runs only with every setting it declares: without, a flow error (the
    /// shell logs which are missing).
    fn settings_ready(&self) -> Result<(), FlowError> {
        match self.flow.settings.missing().is_empty() {
            true => Ok(()),
            false => Err(FlowError),
        }
    }

    pub(super) fn ctx(&mut self) -> Ctx<'_> {
        let s = &mut self.session;
        let (caller, called) = match s.direction {
            Direction::Inbound => (s.from.as_deref(), s.to.as_deref()),
            Direction::Outbound => (s.to.as_deref(), s.from.as_deref()),
        };
        // (`parties` would borrow the whole session, which the variables borrow mutably.)
        Ctx {
            vars: &mut s.vars,
            caller,
            called,
            settings: self.flow.settings.values(),
        }
    }

    /// A hold prompt of a held `fetch` step ended (played through, stopped by keys, or not
    /// played at all): keys are kept in the record, and the call goes on with the request's
    /// outcome once the shell has read it.
    fn hold_ended(&mut self, name: &str, index: u32, keys: &str, failed: bool) -> Produced {
        if failed {
            self.media_failure(name);
        }
        if !keys.is_empty() {
            self.answer(name, keys, AnswerResult::Interrupted);
        }
        Produced::AwaitLookup(index)
    }

    /// The outcome of the held request, as the shell read it: the way on, when it has come; the
    /// next hold prompt while it has not; the error way once the hold has played its most.
    pub(super) fn lookup_read(&mut self, outcome: Option<&LookupOutcome>) -> TurnResult {
        let name = self.session.step.clone();
        let Some(Step::Fetch(Fetch {
            ok,
            error,
            hold: Some(hold),
            ..
        })) = self.flow.get(&name)
        else {
            return Err(FlowError);
        };
        let held = self.session.held.clone().ok_or(FlowError)?;
        if let Some(outcome) = outcome {
            self.session.held = None;
            let vars = privacy::outcome_vars(self.flow, &self.session.reference_id, outcome);
            self.session.vars.extend(vars);
            self.session.fetches.push(outcome.fetch_outcome());
            let (branch, next) = match outcome.ok {
                true => (Branch::Ok, ok),
                false => (Branch::Error, error),
            };
            self.took(&name, branch);
            return self.follow(next.clone());
        }
        if held.plays < hold.max_plays {
            let at = usize::try_from(held.plays).unwrap_or(0) % hold.prompts.len().max(1);
            self.session.held = Some(Held {
                plays: held.plays + 1,
                ..held
            });
            self.session.here.part = 0;
            let prompt = hold.prompts.get(at).ok_or(FlowError)?;
            let action = self.prompt_action(prompt, None)?;
            return self.send(action);
        }
        // The hold has played its most: the request is given up.
        self.session.held = None;
        self.session.fetches.push(FetchOutcome {
            step: name.clone(),
            status: None,
            ok: false,
            at_ms: self.now_ms,
        });
        self.took(&name, Branch::Error);
        self.follow(error.clone())
    }

    /// Finishes the turn: a flow error hangs up politely; the event is remembered.
    pub(super) fn conclude(mut self, result: TurnResult, note: Note) -> Outcome {
        let produced = match result {
            Ok(p) => p,
            Err(FlowError) => {
                self.session.outcome = Some(CallOutcome::FlowError);
                match self.recover() {
                    Ok(p) => p,
                    // Judged as `send` judges: after send_dtmf an unknown event may be answered.
                    Err(FlowError) if self.allowed(Action::Hangup).is_ok() => {
                        self.session.wait = Wait::Hangup;
                        Some(Produced::Action(Action::Hangup))
                    }
                    Err(FlowError) => None,
                }
            }
        };
        let reply = match produced {
            Some(Produced::Fetch(request)) => {
                return Outcome::Fetch {
                    session: Box::new(self.session),
                    request,
                    taken: self.taken,
                }
            }
            Some(Produced::AwaitLookup(index)) => {
                return Outcome::Lookup {
                    session: Box::new(self.session),
                    taken: self.taken,
                    index,
                }
            }
            Some(Produced::Action(action)) => Some(Reply::from(&action)),
            None => None,
        };
        remember(
            &mut self.session,
            self.event,
            &self.kept,
            reply.as_ref(),
            self.now_ms,
        );
        privacy::seal(self.flow, &mut self.session);
        // A lookup starts only with the hold that answers it.
        let lookup = self.lookup.filter(|_| reply.is_some()).map(Box::new);
        Outcome::Done {
            reply,
            write: Write::Session(Box::new(self.session)),
            note,
            taken: self.taken,
            lookup,
        }
    }
}

impl Turn<'_> {
    /// After a flow error: the step's fallback when a prompt lacked a variable (a menu's or a
    /// gather's), else the flow's `on_error` step, once; `Err` when there is none or it fails
    /// too, and the call is hung up.
    fn recover(&mut self) -> TurnResult {
        if self.recovering {
            return Err(FlowError);
        }
        self.recovering = true;
        let fallback = self.missing.take().and_then(|_| {
            let step = self.flow.get(&self.session.step)?;
            input_retries(step)?.fallback.clone()
        });
        let target = fallback
            .or_else(|| self.flow.on_error.clone())
            .ok_or(FlowError)?;
        self.keys_ahead = None;
        self.follow(Next::Step(target))
    }
}

impl Turn<'_> {
    /// What a step plays now, if it plays something: a held `fetch` step, the hold prompt that
    /// plays.
    fn prompt_of<'s>(&self, step: &'s Step) -> Option<&'s Prompt> {
        match step {
            Step::Say(Say { prompt, .. })
            | Step::Menu(Menu { prompt, .. })
            | Step::Gather(Gather { prompt, .. }) => Some(prompt),
            Step::Fetch(Fetch {
                hold: Some(hold), ..
            }) => {
                let plays = self.session.held.as_ref().map_or(1, |h| h.plays);
                let at = usize::try_from(plays.saturating_sub(1)).unwrap_or(0);
                hold.prompts.get(at % hold.prompts.len().max(1))
            }
            Step::Fetch(Fetch { hold: None, .. })
            | Step::Decide(_)
            | Step::Hours(_)
            | Step::Dial(_)
            | Step::SendDtmf(_)
            | Step::SetLanguage(_)
            | Step::Hangup(_) => None,
        }
    }

    /// Whether `prompt` has parts after the one that just ended.
    fn more_parts(&self, prompt: &Prompt) -> bool {
        match prompt {
            Prompt::Parts(parts) => {
                usize::try_from(self.session.here.part).is_ok_and(|at| at + 1 < parts.len())
            }
            _ => false,
        }
    }
}

/// The call state a media completion puts the call in, used after `send_dtmf`.
static MEDIA_COMPLETED_STATE: EventKind = EventKind::SpeakCompleted(MediaCompleted {
    parties: Parties {
        to: None,
        from: None,
    },
    status: MediaStatus::Completed,
    collected_digits: String::new(),
});

/// The caller and the called number of a call: the other party is `to` on an outbound call.
pub(super) fn parties(s: &Session) -> (Option<&str>, Option<&str>) {
    (caller(s), called(s))
}

fn caller(s: &Session) -> Option<&str> {
    match s.direction {
        Direction::Inbound => s.from.as_deref(),
        Direction::Outbound => s.to.as_deref(),
    }
}

fn called(s: &Session) -> Option<&str> {
    match s.direction {
        Direction::Inbound => s.to.as_deref(),
        Direction::Outbound => s.from.as_deref(),
    }
}

fn input_prompt(step: &Step) -> Option<(&Prompt, &Input)> {
    step.input_step().map(|i| (i.prompt, i.input))
}

fn input_retries(step: &Step) -> Option<&Retries> {
    step.input_step().map(|i| i.retries)
}

fn collect_digits(input: &Input) -> Result<CollectDigits, FlowError> {
    input.collect_digits().map_err(|_| FlowError)
}

/// User code may only go where its step declared.
pub(super) fn checked(next: Next, targets: &[String]) -> Result<Next, FlowError> {
    match &next {
        Next::Step(s) if !targets.iter().any(|t| t == s) => Err(FlowError),
        _ => Ok(next),
    }
}
