// Size of the release build of the test flows (build-test/): raw and gzip -9 of each file of the
// upload (index_bg.wasm, its glue, the entry's modules), the wasm's custom sections, and, when
// twiggy is installed, what takes the room: the largest items and the bytes of each crate, read
// from the same code with its function names (target/bench/named.wasm, which `npm run bench`
// keeps). Writes target/bench/size.json.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const gzip9 = (file) => execFileSync("gzip", ["-9", "-c", file], { maxBuffer: 64 << 20 }).length;

/** The custom sections of a wasm module (name -> bytes): what is not code or data. */
function customSections(bytes) {
  const sections = {};
  let at = 8;
  const leb = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[at++];
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
    }
  };
  while (at < bytes.length) {
    const id = bytes[at++];
    const size = leb();
    const end = at + size;
    if (id === 0) {
      const nameLength = leb();
      const name = Buffer.from(bytes.subarray(at, at + nameLength)).toString("utf8");
      sections[name] = size;
    }
    at = end;
  }
  return sections;
}

function twiggy(args) {
  try {
    return execFileSync("twiggy", args, { encoding: "utf8", maxBuffer: 64 << 20 });
  } catch {
    return null;
  }
}

/** Primitive types, whose impls (`<f64 as Display>::fmt`) are the standard library's. */
const PRIMITIVES = new Set(["f64", "f32", "str", "char", "bool", "u8", "u16", "u32", "u64", "usize", "i32", "i64", "isize"]);

/**
 * The crate a twiggy item belongs to: the first path segment of its name, or for an impl
 * (`<T as Trait>::f`) the crate of `T`. The entry points' state machines carry the name of the
 * js-sys wrapper they are polled in, though their code is this worker's.
 */
function crateOf(name) {
  if (name.startsWith("data segment") || name.startsWith("data[")) return "data segments";
  if (name.startsWith("import ")) return "imports";
  if (name.startsWith("js_sys::futures::future_to_promise::{{closure}}")) return "entry points' async handlers (in `js_sys::futures::future_to_promise`)";
  // A name without a path: an export of the wasm-bindgen glue, or a section's own item.
  if (!name.includes("::")) return "exports and other items";
  const m = /^<?(?:&(?:mut )?|dyn |\[)*([A-Za-z_][A-Za-z0-9_]*)/.exec(name);
  if (m?.[1] === "T") return "generic code"; // `<T as Trait>::f`, monomorphised
  if (!m) return "other";
  return PRIMITIVES.has(m[1]) ? "core" : m[1];
}

/** The items of the named build (the name section itself left out), largest first. */
function items(wasm) {
  const csv = twiggy(["top", "-n", "1000000", "--format", "csv", wasm]);
  if (!csv) return null;
  const rows = [];
  for (const line of csv.trim().split("\n").slice(1)) {
    // Name,ShallowSize,...: the name is quoted when it holds commas.
    const m = /^("(?:[^"]|"")*"|[^,]*),(\d+),/.exec(line);
    if (!m) continue;
    const name = m[1].startsWith('"') ? m[1].slice(1, -1).replaceAll('""', '"') : m[1];
    if (name.startsWith('"function names"') || name.startsWith("custom section")) continue;
    // Symbol hashes and crate disambiguators say nothing to a reader.
    rows.push({ name: name.replace(/::h[0-9a-f]{16}$/, "").replace(/\[[0-9a-f]{16}\]/g, ""), raw: Number(m[2]) });
  }
  return rows.sort((a, b) => b.raw - a.raw);
}

/** Raw bytes per crate, largest first. */
function byCrate(rows) {
  const sizes = new Map();
  for (const { name, raw } of rows) sizes.set(crateOf(name), (sizes.get(crateOf(name)) ?? 0) + raw);
  return [...sizes].sort((a, b) => b[1] - a[1]).map(([crate, raw]) => ({ crate, raw }));
}

// Every file of the upload: the wasm, its glue, the entry, its I/O and the documents it answers.
const files = [
  "build-test/index_bg.wasm",
  "build-test/index.js",
  "build-test/worker/shim.mjs",
  "build-test/worker/io.mjs",
  "build-test/worker/documents.mjs",
].map((f) => {
  const file = path.join(root, f);
  return { file: f, raw: readFileSync(file).length, gzip9: gzip9(file) };
});
const wasm = path.join(root, "build-test/index_bg.wasm");
// The same code with its name section (kept by scripts/build.sh for `npm run bench`), if there.
const named = path.join(root, "target/bench/named.wasm");
const names = existsSync(named) && statSync(named).mtimeMs >= statSync(wasm).mtimeMs - 60_000 ? named : null;
const named_items = names ? items(names) : null;
const out = {
  files,
  custom_sections: customSections(readFileSync(wasm)),
  // Without the named copy, twiggy's own table of the stripped build (items by index only).
  twiggy_top: names ? null : twiggy(["top", "-n", "15", wasm]),
  largest: named_items?.slice(0, 15) ?? null,
  by_crate: named_items ? byCrate(named_items) : null,
};
mkdirSync(path.join(root, "target/bench"), { recursive: true });
writeFileSync(path.join(root, "target/bench/size.json"), JSON.stringify(out, null, 2));
console.error(`[size] ${files.map((f) => `${f.file} ${f.raw} B, ${f.gzip9} B gzip -9`).join("; ")}`);
