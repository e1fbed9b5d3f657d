// The call-state rules, as Telesign applies them: which action may answer which event, what Telesign
// posts after each action, and what a well-formed action carries. The tables are not written here:
// they are read from ./telesign-rules.json, which `npm run flows:rules` generates from the Rust
// protocol module (ivr-core/src/telesign/rules.rs), so the simulator and the worker play by one set
// of rules. Do not edit that file by hand.

import { readFileSync } from "node:fs";

/** The generated rules: `events` (who may answer what) and `completions` (what follows each method). */
export const RULES = JSON.parse(readFileSync(new URL("./telesign-rules.json", import.meta.url), "utf8"));

/** Every action method the rules know. */
export const METHODS = Object.keys(RULES.completions);

/** The methods that may answer an event (empty: no action expected). */
export function allowedMethods(event, data = {}) {
  const entry = RULES.events[event];
  if (!entry) return [];
  if (entry.any) return [...entry.any];
  const value = data?.[entry.field];
  const byValue = entry.by_value ?? {};
  const methods = typeof value === "string" && Object.hasOwn(byValue, value) ? byValue[value] : entry.otherwise;
  return [...(methods ?? [])];
}

/** Whether a `dial_completed` status says the call connected (the call may then be talked to). */
export function isAnswered(status) {
  return allowedMethods("dial_completed", { status }).length > 0;
}

/**
 * What is wrong with an action sent in reply to `event`, or null. `after` is the last action
 * Telesign got before this event (null: none, or the call has not started). No action at all is
 * fine where the event takes none, and where docs/call-behaviour.md says the caller is not waiting
 * on us: a `dial_completed` while a dial rings or bridges (the caller hears the ringing or talks to
 * the agent), and anything after a `hangup` we sent. Anywhere else a caller on the line would be
 * left in silence.
 */
export function checkReply(event, data, action, { after = null } = {}) {
  const allowed = allowedMethods(event, data);
  if (action == null) {
    if (allowed.length === 0 || silenceExpected(after, event)) return null;
    return `no action in reply to ${event}: the caller is left in silence (expected one of ${allowed.join(", ")})`;
  }
  if (typeof action !== "object" || Array.isArray(action) || typeof action.method !== "string") {
    return `the reply to ${event} is not a JSON-RPC action object`;
  }
  if (allowed.length === 0) {
    return `\`${action.method}\` in reply to ${event}, which takes no action (Telesign ignores it)`;
  }
  if (!allowed.includes(action.method)) {
    return `unsupported_call_state: \`${action.method}\` may not answer ${event} (allowed: ${allowed.join(", ")})`;
  }
  return checkParams(action);
}

/**
 * Where docs/call-behaviour.md answers an event that may take an action with none (`204`): after
 * the last action `after`, the events RULES.silence_after names (ivr-core/src/telesign/rules.rs
 * `silence_expected`).
 */
function silenceExpected(after, event) {
  return after != null && (RULES.silence_after[after.method] ?? []).includes(event);
}

/**
 * What is wrong with an action's parameters, or null: what Telesign's API reference asks of each
 * action, within the limits the worker's own checks use (RULES.params, generated from
 * ivr-core/src/telesign/action.rs).
 */
export function checkParams(action) {
  if (!METHODS.includes(action.method)) return `unknown method \`${action.method}\``;
  const p = action.params ?? {};
  const limits = RULES.params;
  switch (action.method) {
    case "speak": {
      const message = p.tts?.message;
      if (typeof message !== "string" || message.trim() === "") return "speak without tts.message";
      if ([...message].length > limits.speak.max_message_chars) return `tts.message is longer than ${limits.speak.max_message_chars} characters`;
      const language = String(p.tts?.language ?? "").toLowerCase();
      if (!limits.speak.languages.some((l) => l.toLowerCase() === language)) return `tts.language \`${p.tts?.language}\` is not one of Telesign's`;
      break;
    }
    case "play":
      if (typeof p.url !== "string" || !p.url.startsWith("https://")) return "play without an https url";
      if (Buffer.byteLength(p.url) > limits.play.max_url_len) return `the url is longer than ${limits.play.max_url_len} bytes`;
      break;
    case "dial":
      if (typeof p.to !== "string" || !/^\+?\d{7,15}$/.test(p.to)) return "dial without a valid `to` number";
      if (p.max_call_duration != null && !within(limits.dial.max_call_duration, p.max_call_duration)) return "dial's max_call_duration is out of range";
      if (p.external_id != null && [...String(p.external_id)].length > limits.dial.max_external_id_len) return "dial's external_id is too long";
      if (p.send_dtmf != null && !isDtmf(p.send_dtmf)) return "dial's send_dtmf is not DTMF tones";
      break;
    case "send_dtmf":
      if (!isDtmf(p.digits)) return "send_dtmf without DTMF tones";
      break;
    default:
      break;
  }
  const c = p.collect_digits;
  if (c == null) return null;
  const collect = limits.collect_digits;
  if (!within(collect.max, c.max)) return `collect_digits.max is not ${collect.max[0]} to ${collect.max[1]}`;
  if (c.timeout != null && !within(collect.timeout, c.timeout)) return "collect_digits.timeout is out of range";
  if (c.inter_digit_timeout != null && !within(collect.inter_digit_timeout, c.inter_digit_timeout)) return "collect_digits.inter_digit_timeout is out of range";
  if (c.terminators != null && ![...String(c.terminators)].every((k) => collect.terminator_keys.includes(k))) return "collect_digits.terminators are not keys";
  return null;
}

/** Whether `value` is an integer in the inclusive range `[lo, hi]`. */
function within([lo, hi], value) {
  return Number.isInteger(value) && value >= lo && value <= hi;
}

/** Whether `tones` is a non-empty string of DTMF tones (and `w` pauses) within the length limit. */
function isDtmf(tones) {
  const { keys, max_len } = RULES.params.dtmf;
  return typeof tones === "string" && tones !== "" && tones.length <= max_len && [...tones].every((t) => keys.includes(t));
}

/** What Telesign posts once `method` is done: `[{event, field, values, when_collecting}]` (empty: nothing documented). */
export function completionsOf(method) {
  return RULES.completions[method] ?? [];
}

/** The first event Telesign posts when an action is done, or null when it documents none. */
export function completionOf(method) {
  return completionsOf(method)[0]?.event ?? null;
}

/**
 * The status values of the completion of a prompt (`speak`, `play`), read from the rules:
 * `{ event, success, failure, timeout }`, e.g. speak_completed, speak_successful, speak_failed,
 * digit_collection_timeout. `timeout` is the value that only comes when digits are collected.
 */
export function promptStatuses(method) {
  const c = completionsOf(method).find((x) => x.field === "status");
  if (!c) return null;
  const timeout = c.when_collecting[0] ?? null;
  return { event: c.event, success: c.success ?? null, failure: c.failures[0] ?? null, timeout };
}

/** The events that end a call (what Telesign posts after a `hangup`). */
export function callEndEvents() {
  return completionsOf("hangup").map((c) => c.event);
}

/**
 * Whether Telesign could post `event` (with `data`) as the genuine next event of the call, `elapsedMs`
 * after it got `lastAction` (the last action, null when the last event needed none, such as a bridged
 * leg answering). The same oracle as `could_follow` in tests/flows/tests/engine/caller.rs, stated from
 * Telesign's side: what its pages list after each action (the generated completions), plus two
 * readings the engine documents:
 * - a digit_collection_timeout comes no sooner than the prompt's collect_digits.timeout after the
 *   prompt (collection waits that long for the first digit), and only from a prompt that collects;
 * - a plain prompt (no collect_digits) stops at the first key ("the message stops"), so it reports
 *   one key at most; a collecting prompt without terminators never ends `successful` with no keys
 *   (nothing pressed ends in the timeout; an entry ends at `max` keys or the inter-digit timeout).
 * A value the pages do not list could be one Telesign added: it could be new.
 *
 * Telesign's events carry no id: an event that could be next cannot serve as a redelivery (the
 * worker must take it for a new one), so the simulator only redelivers events for which this is false.
 */
export function couldBeNext(lastAction, event, data = {}, elapsedMs = 0) {
  if (lastAction == null) {
    // No action: a bridged leg answered; what follows is the dial's own completions.
    return completionsOf("dial").some((c) => c.event === event);
  }
  const method = lastAction.method;
  if (!METHODS.includes(method)) return false;
  const completions = completionsOf(method);
  if (completions.length === 0) {
    // No completion documented (send_dtmf): whatever comes next continues; a call is announced once.
    return event !== "incoming_call";
  }
  const completion = completions.find((c) => c.event === event);
  if (!completion) return false;
  const collect = lastAction.params?.collect_digits;
  const collecting = collect != null && typeof collect === "object";
  const value = typeof data?.[completion.field] === "string" ? data[completion.field] : "";
  if (completion.when_collecting.includes(value)) {
    if (!collecting) return false;
    // The timeout: not before collection has waited its `timeout` for the first digit.
    return Number.isInteger(collect.timeout) && elapsedMs >= collect.timeout;
  }
  const keys = typeof data?.collected_digits === "string" ? data.collected_digits : "";
  if (/successful$/.test(value)) {
    if (collecting) return keys !== "" || typeof collect.terminators === "string";
    return [...keys].length <= 1;
  }
  return true;
}
