// The caller's side: what is pressed at each prompt, from a script (`--keys "1,4321#,-,hangup"`)
// or typed at the keyboard one prompt at a time. Each source answers three questions the call asks:
// the keys at a prompt, whether a ringing number answers, and who hangs up a bridged call.

import { createInterface } from "node:readline";

/** Tokens of a key script: digits, `*` and `#` are pressed; these two are not. */
export const NO_INPUT = ["-", "timeout"];
export const HANG_UP = "hangup";

/** Parses `1,4321#,-,hangup` (commas or spaces) into tokens; throws on anything else. */
export function parseKeyScript(text) {
  const tokens = String(text)
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((t) => t.toLowerCase());
  for (const t of tokens) {
    if (!/^[0-9*#]+$/.test(t) && !NO_INPUT.includes(t) && t !== HANG_UP) {
      throw new Error(`unknown key token \`${t}\`: use digits, * and #, \`-\` for no input, or \`hangup\``);
    }
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
 * One key entry: `{ kind: "keys", digits }`, `{ kind: "none" }` (let the prompt time out) or
 * `{ kind: "hangup" }`.
 */
function entry(token) {
  if (token === HANG_UP) return { kind: "hangup" };
  if (NO_INPUT.includes(token) || token === "") return { kind: "none" };
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
      if (/^[0-9*#]+$/.test(t)) return { kind: "keys", digits: t };
      this.output.write("  (type digits, * or #, Enter for no input, or h to hang up)\n");
    }
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
