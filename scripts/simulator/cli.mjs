// What the command-line tools (npm run call, npm run soak) share: reading numeric options and
// leaving with their usage on a bad one.

/** Prints `message` (if any) and `usage`, then exits 2 (bad usage). */
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
