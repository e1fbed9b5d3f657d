// The call-state rules, as Telesign applies them: which action may answer which event, and what a
// well-formed action carries. Mirrors the table in src/telesign/rules.rs: change both together.

const MEDIA = ["speak", "play", "hangup"];

/** The methods that may answer an event (empty: no action expected). */
export function allowedMethods(event, data = {}) {
  switch (event) {
    case "incoming_call":
      return ["hangup", "speak", "play", "dial"];
    case "dial_completed":
      return isAnswered(data.status) ? ["speak", "play", "hangup", "send_dtmf"] : [];
    case "play_completed":
    case "speak_completed":
      return MEDIA;
    case "call_leg_completed":
      return ["dial", ...MEDIA];
    default:
      return [];
  }
}

export function isAnswered(status) {
  return status === "answered" || status === "call_answered";
}

/**
 * What is wrong with an action sent in reply to `event`, or null. `silenceAllowed` says whether no
 * action at all is fine here (a bridged leg's dial_completed: the caller is talking to the agent).
 */
export function checkReply(event, data, action, { silenceAllowed = false } = {}) {
  const allowed = allowedMethods(event, data);
  if (action == null) {
    if (allowed.length === 0 || silenceAllowed) return null;
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

/** The parameters Telesign needs for each action, or null when they are there. */
export function checkParams(action) {
  const p = action.params ?? {};
  switch (action.method) {
    case "speak":
      if (typeof p.tts?.message !== "string" || p.tts.message.trim() === "") return "speak without tts.message";
      break;
    case "play":
      if (typeof p.url !== "string" || !p.url.startsWith("https://")) return "play without an https url";
      break;
    case "dial":
      if (typeof p.to !== "string" || !/^\+?\d{7,15}$/.test(p.to)) return "dial without a valid `to` number";
      break;
    case "send_dtmf":
      if (typeof p.digits !== "string" || p.digits === "") return "send_dtmf without digits";
      break;
    case "hangup":
      break;
    default:
      return `unknown method \`${action.method}\``;
  }
  const c = p.collect_digits;
  if (c != null && !(Number.isInteger(c.max) && c.max >= 1)) return "collect_digits without a max of at least 1";
  return null;
}

/** The event Telesign sends when an action is done, or null when it sends none of its own. */
export function completionOf(method) {
  return { speak: "speak_completed", play: "play_completed" }[method] ?? null;
}

/**
 * Whether `event` could be the genuine next event after the worker answered `lastAction`: Telesign's
 * events carry no id, so such an event delivered twice is the same bytes as a new one (the same
 * key pressed again) and cannot serve as a redelivery or a stale event.
 */
export function couldBeNext(lastAction, event, data = {}) {
  const method = lastAction?.method;
  if (method === "speak" || method === "play") {
    if (event !== completionOf(method)) return false;
    const collecting = lastAction.params?.collect_digits != null;
    const silentSuccess = /successful$/.test(data.status ?? "") && !data.collected_digits;
    return !(collecting && silentSuccess);
  }
  if (method === "dial") return event === "dial_completed" || event === "call_leg_completed";
  if (method === "send_dtmf") return event !== "incoming_call";
  return false;
}
