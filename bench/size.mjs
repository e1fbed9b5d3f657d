// Size of the release build (build/): raw and gzip -9 of index_bg.wasm and index.js, the wasm's
// custom sections, and, when twiggy is installed, what takes the room. Writes target/bench/size.json.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
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

function twiggy(wasm) {
  try {
    return execFileSync("twiggy", ["top", "-n", "15", wasm], { encoding: "utf8" });
  } catch {
    return null;
  }
}

const files = ["build/index_bg.wasm", "build/index.js"].map((f) => {
  const file = path.join(root, f);
  return { file: f, raw: readFileSync(file).length, gzip9: gzip9(file) };
});
const wasm = path.join(root, "build/index_bg.wasm");
const out = { files, custom_sections: customSections(readFileSync(wasm)), twiggy_top: twiggy(wasm) };
mkdirSync(path.join(root, "target/bench"), { recursive: true });
writeFileSync(path.join(root, "target/bench/size.json"), JSON.stringify(out, null, 2));
console.error(`[size] ${files.map((f) => `${f.file} ${f.raw} B, ${f.gzip9} B gzip -9`).join("; ")}`);
