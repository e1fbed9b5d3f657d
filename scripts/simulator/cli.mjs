// What the command-line tools (npm run call, npm run soak) share: reading numeric options and
// leaving with their usage on a bad one, and reading .dev.vars.
import { readFileSync } from "node:fs";

/**
 * Prints `message` (if any) and `usage`, then exits 2 (bad usage).
 *
 * @param {string} usage
 * @param {string} [message]
 * @returns {never}
 */
export function usageExit(usage, message) {
  if (message) console.error(`${message}\n`);
  console.error(usage);
  process.exit(2);
}

/** The option `--name` as a positive whole number, or usage and exit 2. */
export function positive(usage, name, text) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) usageExit(usage, `--${name} takes a positive whole number, not \`${text}\``);
  return n;
}

/** KEY="value" lines of a .dev.vars file (comments and blank lines skipped). */
export function readDevVars(file) {
  const vars = {};
  for (const line of readFileSync(file, "utf8").split(/\r?\n/)) {
    const m = line.match(/^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/i);
    if (!m) continue;
    vars[m[1]] = m[2].replace(/^"(.*)"$/, "$1").replace(/^'(.*)'$/, "$1");
  }
  return vars;
}
