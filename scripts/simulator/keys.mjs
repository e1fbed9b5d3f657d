// The caller's side: what is pressed at each prompt, from a script (`--keys "1,4321#,-,hangup"`)
// or typed at the keyboard one prompt at a time. Each source answers the questions the call asks:
// the keys at a prompt that collects digits, what happens during a plain prompt (it plays through,
// a key stops it, or Telesign cannot play it), whether a ringing number answers, and who hangs up a
// bridged call.

import { createInterface } from "node:readline";

/** Tokens of a key script: digits, `*` and `#` are pressed; these are not. */
export const NO_INPUT = ["-", "timeout"];
export const HANG_UP = "hangup";
/** Telesign reports the prompt failed (speak_failed / playback_failed). */
export const FAIL = "fail";
/** `!K`: the key K pressed while the next prompt still plays. */
export const DURING = "!";
/** `KEYS+hangup`: the keys, then the caller hangs up at once, while the worker still answers them. */
export const THEN_HANG_UP = "+hangup";

const KEYS = /^[0-9*#]+$/;
const ONE_KEY = /^![0-9*#]$/;

/**
 * Parses `1,4321#,-,hangup` (commas or spaces) into tokens; throws on anything else. Tokens:
 * - `KEYS` (digits, `*`, `#`): pressed at the next prompt that collects digits;
 * - `-` or `timeout`: nothing pressed there, so it times out; `hangup`: the caller hangs up there;
 * - `KEYS+hangup`: the keys pressed there, then the caller hangs up at once, while the worker is
 *   still answering them (a slow `fetch` step);
 * - `!K` (one key): K pressed while the next prompt, plain or collecting, still plays: a plain
 *   prompt stops at it (Telesign reports the key), a collecting one takes it as the entry;
 * - `fail`: Telesign cannot play the next prompt, plain or collecting (speak_failed or
 *   playback_failed).
 */
export function parseKeyScript(text) {
  const tokens = String(text)
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((t) => t.toLowerCase());
  for (const t of tokens) {
    const entry = t.endsWith(THEN_HANG_UP) ? t.slice(0, -THEN_HANG_UP.length) : t;
    if (KEYS.test(entry) || ONE_KEY.test(t) || NO_INPUT.includes(t) || t === HANG_UP || t === FAIL) continue;
    if (t.startsWith(DURING)) throw new Error(`\`${t}\`: \`!\` takes one key (a plain prompt stops at the first key), e.g. \`!1\``);
    throw new Error(
      `unknown key token \`${t}\`: use digits, * and #, \`-\` for no input, \`hangup\`, \`KEYS+hangup\`, \`!K\` (a key during the prompt) or \`fail\``,
    );
  }
  return tokens;
}

/** Parses `no,no,yes` into per-dial answers (`yes`, `no` or `busy`). */
export function parseLegAnswers(text) {
  const answers = String(text)
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((t) => t.toLowerCase());
  for (const a of answers) {
    if (!["yes", "no", "busy"].includes(a)) throw new Error(`unknown leg answer \`${a}\`: use yes, no or busy`);
  }
  return answers;
}

/**
 * One entry at a collecting prompt: `{ kind: "keys", digits, during?, thenHangUp? }`,
 * `{ kind: "none" }` (let the prompt time out), `{ kind: "fail" }` (Telesign cannot play it) or
 * `{ kind: "hangup" }`.
 */
function entry(token) {
  if (token === HANG_UP) return { kind: "hangup" };
  if (token === FAIL) return { kind: "fail" };
  if (NO_INPUT.includes(token) || token === "") return { kind: "none" };
  if (token.startsWith(DURING)) return { kind: "keys", digits: token.slice(1), during: true };
  if (token.endsWith(THEN_HANG_UP)) return { kind: "keys", digits: token.slice(0, -THEN_HANG_UP.length), thenHangUp: true };
  return { kind: "keys", digits: token };
}

/** Keys from a script; when it runs out the caller hangs up. */
export class ScriptedCaller {
  constructor(tokens, legAnswers = []) {
    this.tokens = [...tokens];
    this.legAnswers = [...legAnswers];
  }
  async keys() {
    if (this.tokens.length === 0) {
      return { kind: "hangup", reason: "the key script ran out" };
    }
    return entry(this.tokens.shift());
  }
  /**
   * What happens during a plain prompt: null (it plays through), `{ kind: "keys", digits }` (a key
   * stops it) or `{ kind: "fail" }`. Only a `!K` or `fail` token next in the script is taken here.
   */
  async duringPlainPrompt() {
    const next = this.tokens[0];
    if (next === FAIL || (next != null && ONE_KEY.test(next))) return entry(this.tokens.shift());
    return null;
  }
  /** Whether the next dialled number answers: from --answer-legs, else yes. */
  async legAnswer() {
    return this.legAnswers.shift() ?? "yes";
  }
  /** A bridged call ends with the agent hanging up, unless the script's next token is `hangup`. */
  async bridgeEnd() {
    if (this.tokens[0] === HANG_UP) {
      this.tokens.shift();
      return "caller";
    }
    return "agent";
  }
}

/** Keys typed at the terminal, one prompt at a time. */
export class InteractiveCaller {
  /** @param {{ input?: NodeJS.ReadStream, output?: NodeJS.WriteStream, legAnswers?: any[] }} [options] */
  constructor({ input = process.stdin, output = process.stdout, legAnswers = [] } = {}) {
    this.rl = createInterface({ input, output, terminal: Boolean(input.isTTY) });
    this.lines = [];
    this.waiting = null;
    this.closed = false;
    this.output = output;
    this.legAnswers = [...legAnswers];
    this.rl.on("line", (line) => this.#push(line));
    this.rl.on("close", () => {
      this.closed = true;
      this.#push(null);
    });
  }
  #push(line) {
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve(line);
    } else if (line !== null) {
      this.lines.push(line);
    }
  }
  #ask(question) {
    this.output.write(question);
    if (this.lines.length > 0) return Promise.resolve(this.lines.shift());
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => (this.waiting = resolve));
  }
  async keys() {
    for (;;) {
      const line = await this.#ask("  keys (digits * #; Enter = no input; h = hang up) > ");
      if (line === null) return { kind: "hangup", reason: "end of input" };
      const t = line.trim().toLowerCase();
      if (t === "h" || t === HANG_UP) return { kind: "hangup" };
      if (t === "" || NO_INPUT.includes(t)) return { kind: "none" };
      if (t === FAIL) return { kind: "fail" };
      if (KEYS.test(t)) return { kind: "keys", digits: t };
      this.output.write("  (type digits, * or #, Enter for no input, h to hang up, or fail)\n");
    }
  }
  /** Plain prompts play through when typing (only prompts that collect digits ask). */
  async duringPlainPrompt() {
    return null;
  }
  async legAnswer(number) {
    const scripted = this.legAnswers.shift();
    if (scripted) return scripted;
    for (;;) {
      const line = await this.#ask(`  ${number} is ringing: does it answer? (y = yes, n = no, b = busy) > `);
      if (line === null) return "no";
      const t = line.trim().toLowerCase();
      const answer = { y: "yes", yes: "yes", n: "no", no: "no", "": "no", b: "busy", busy: "busy" }[t];
      if (answer) return answer;
    }
  }
  async bridgeEnd() {
    const line = await this.#ask("  talking to the agent: who hangs up? (a = agent, c = caller) > ");
    return line !== null && /^c/i.test(line.trim()) ? "caller" : "agent";
  }
  close() {
    this.rl.close();
  }
}
