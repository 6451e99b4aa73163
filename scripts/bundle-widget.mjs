// The widget bundle's last steps (scripts/build-widget.sh runs it after wasm-bindgen and
// `wasm-opt -Oz`): shrink what host pages download, hash the names, precompress.
//
//   node scripts/bundle-widget.mjs WORK_DIR DIST_DIR
//
// WORK_DIR holds wasm-bindgen's `offers.js` (glue) and `offers_opt.wasm`, and for a split build
// (scripts/wasm-widget-steps.sh) wasm-split-cli's link module `__wasm_split.js` and the split
// module `after_paint_opt.wasm`. Steps, each measured in BENCHMARKS.md:
// 1. drop the wasm-streams classes server_fn's `browser` feature exports (`IntoUnderlying*`,
//    never used by the widget, kept alive by LTO only because they are exports): their wasm
//    exports go with `wasm-opt --remove-exports` (`--low-memory-unused` as in
//    scripts/build-widget.sh), their glue with them. The glue's asynchronous loading goes
//    too (`__wbg_init`, its default export): the loader instantiates the module it compiled
//    with the glue's `initSync`;
// 2. minify the wasm's import, export and module names (`wasm-opt
//    --minify-imports-and-exports-and-modules`; hashed names such as
//    `__wbg_append_child_0a1b2c…` do not compress), rewrite the glue from the map it prints,
//    and drop the wasm's custom sections (toolchain notes no browser reads). A split build's
//    link module (which fetches the split module and hands it the main module's memory,
//    table and shared functions) goes into the glue, so the critical path
//    stays three files: the names it takes from the main module's exports are rewritten from
//    the same map, its loader function joins the glue's one import object, and it fetches the
//    split module by its hashed name;
// 3. minify the glue (ES module), the extras module (`src/extras.js`, loaded after the first
//    paint) and the loader with terser;
// 4. write `offers-<hash>.js`, `offers-<hash>_bg.wasm`, `offers-extras-<hash>.js`, a split
//    build's `offers-after-paint-<hash>.wasm` and the loader `offers.js` into DIST_DIR, each
//    with a brotli (`.br`, quality 11) and a gzip (`.gz`, level 9) twin that the API serves by
//    `Accept-Encoding`.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { minify } from "terser";

const [work, dist] = process.argv.slice(2);
if (!work || !dist) throw new Error("usage: node scripts/bundle-widget.mjs WORK_DIR DIST_DIR");
const ROOT = resolve(import.meta.dirname, "..");
const wasmOpt = join(ROOT, "node_modules", ".bin", "wasm-opt");
// OFFERS_WASM_NAMES=1 (bench/paint-functions.sh only, never a shipped bundle): wasm-opt keeps
// the function names (`-g`) and the `name` section stays, so a trace can name what runs.
const keepNames = process.env.OFFERS_WASM_NAMES === "1";
const names = keepNames ? ["-g"] : [];

function fail(message) {
  console.error(`bundle-widget: ${message}`);
  process.exit(1);
}

// 1. The wasm-streams classes: glue and exports.
const STREAM_CLASSES = ["IntoUnderlyingByteSource", "IntoUnderlyingSink", "IntoUnderlyingSource"];
let glue = readFileSync(join(work, "offers.js"), "utf8");
for (const name of STREAM_CLASSES) {
  const start = glue.indexOf(`export class ${name} {`);
  if (start < 0) continue;
  // The class body ends at its matching brace (glue methods hold no braces in strings).
  let depth = 0;
  let end = glue.indexOf("{", start);
  for (; end < glue.length; end++) {
    if (glue[end] === "{") depth++;
    else if (glue[end] === "}" && --depth === 0) break;
  }
  glue = glue.slice(0, start) + glue.slice(end + 1);
  glue = glue.replace(`if (Symbol.dispose) ${name}.prototype[Symbol.dispose] = ${name}.prototype.free;`, "");
  glue = glue.replace(new RegExp(`const ${name}Finalization = [^;]*;`), "");
  if (glue.includes(name)) fail(`${name} is still referenced by the glue after removing it`);
}
// The glue's asynchronous loading (`__wbg_init`, the default export, with `__wbg_init_once`
// and `__wbg_load`): the loader hands the module it compiled while it streamed in to
// `initSync`, so that code is never called.
for (const name of ["__wbg_load", "__wbg_init_once", "__wbg_init"]) {
  const start = glue.indexOf(`\nasync function ${name}(`);
  if (start < 0) fail(`the glue has no ${name}`);
  const end = glue.indexOf("\n}\n", start);
  glue = glue.slice(0, start) + glue.slice(end + 2);
}
glue = glue.replace(/^let __wbg_init_promise;\n/m, "");
if (!glue.includes("export { initSync, __wbg_init as default };")) fail("the glue's exports are not as expected");
glue = glue.replace("export { initSync, __wbg_init as default };", "export { initSync };");
if (/__wbg_init\b|__wbg_load\b|__wbg_init_once\b/.test(glue)) fail("the glue still uses its asynchronous loading");
const trimmed = join(work, "offers_trimmed.wasm");
execFileSync(wasmOpt, [join(work, "offers_opt.wasm"),
  "--remove-exports=*intounderlying*", "--low-memory-unused", "-Oz", ...names, "-o", trimmed]);

// 2. Minified import, export and module names.
if (WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(trimmed))).some((e) => e.name.includes("intounderlying"))) {
  fail("wasm-opt left an IntoUnderlying* export");
}
const minified = join(work, "offers_min.wasm");
const map = JSON.parse(execFileSync(wasmOpt, [trimmed, "--minify-imports-and-exports-and-modules", ...names, "-o", minified], { encoding: "utf8" }));
// Custom sections (`producers`, `target_features`, `__wasm_split_unstable`: toolchain notes no
// browser reads) are dropped; the known sections are copied as they are.
const wasmBytes = withoutCustomSections(readFileSync(minified), keepNames ? ["name"] : []);
const modules = [...new Set(WebAssembly.Module.imports(new WebAssembly.Module(wasmBytes)).map((i) => i.module))];
// wasm-bindgen's own import module, and for a split build the link module's.
const LINK = "./__wasm_split.js";
const split = existsSync(join(work, LINK));
const oldModules = [...new Set(map.imports.map(([module]) => module))].filter((m) => m !== LINK);
if (oldModules.length !== 1 || modules.length !== 1) fail(`expected one import module, got ${oldModules} -> ${modules}`);
const moduleKey = JSON.stringify(oldModules[0]);
if (!glue.includes(`${moduleKey}: import0`)) fail(`the glue does not name the import module ${moduleKey}`);
glue = glue.replace(`${moduleKey}: import0`, `${JSON.stringify(modules[0])}: import0`);
const linked = [];
for (const [module, name, short] of map.imports) {
  if (module === LINK) {
    linked.push(`${short}: ${name},`);
    continue;
  }
  const key = new RegExp(`(\\n\\s+)${name.replace(/\$/g, "\\$")}:`);
  if (!key.test(glue)) fail(`import ${name} not found in the glue`);
  glue = glue.replace(key, `$1${short}:`);
}
const exports = new Map(map.exports);
glue = glue.replace(/\bwasm\.([A-Za-z_$][\w$]*)/g, (_, name) => {
  if (!exports.has(name)) fail(`the glue uses wasm.${name}, which the wasm does not export`);
  return `wasm.${exports.get(name)}`;
});

// The split module and the link module that loads it, inside the glue.
let afterPaint = null;
if (split) {
  afterPaint = withoutCustomSections(readFileSync(join(work, "after_paint_opt.wasm")), keepNames ? ["name"] : []);
  const afterPaintName = `offers-after-paint-${createHash("sha256").update(afterPaint).digest("hex").slice(0, 16)}.wasm`;
  let link = readFileSync(join(work, LINK), "utf8");
  const edit = (from, to) => {
    if (!from.test(link)) fail(`the link module has no ${from}`);
    link = link.replace(from, to);
  };
  edit(/^import \{ initSync \} from "[^"]*";\n/m, "");
  // `const { memory, … } = initSync(…)`: the main module's exports under their minified names.
  edit(/const \{([^}]*)\} = initSync\(/, (_, list) => `const {${list.split(",").map((n) => n.trim()).filter(Boolean)
    .map((n) => {
      if (!exports.has(n)) fail(`the link module takes ${n}, which the main module does not export`);
      return `${exports.get(n)}: ${n}`;
    }).join(", ")}} = initSync(`);
  edit(/"\.\/split_after_paint\.wasm"/, JSON.stringify(afterPaintName));
  link = link.replace(/^export const /gm, "const ");
  if (/\bexport\b|\bimport\b/.test(link.replace(/import\.meta\.url/g, ""))) fail("the link module imports or exports more than expected");
  const linkImport = /^import \* as (\w+) from "\.\/__wasm_split\.js";?\n/m;
  const linkVar = glue.match(linkImport)?.[1];
  if (!linkVar) fail("the glue does not import the link module");
  glue = glue.replace(linkImport, "");
  const linkKey = `${JSON.stringify(LINK)}: ${linkVar},`;
  if (!glue.includes(linkKey) || !glue.includes("const import0 = {")) fail("the glue's import object is not as expected");
  glue = glue.replace(linkKey, "").replace("const import0 = {", `const import0 = {\n        ${linked.join("\n        ")}`);
  if (new RegExp(`\\b${linkVar}\\b`).test(glue)) fail(`the glue still uses ${linkVar}`);
  glue += `\n${link}`;
  afterPaint = [afterPaintName, afterPaint];
} else if (linked.length) {
  fail("the wasm imports from the link module, but WORK_DIR has no __wasm_split.js");
}

/** The unsigned LEB128 number at `at` in `bytes`, and where it ends. */
function leb128(bytes, at) {
  let value = 0;
  for (let shift = 0, byte = 0x80; byte & 0x80; shift += 7) {
    byte = bytes[at++];
    value += (byte & 0x7f) * 2 ** shift;
  }
  return [value, at];
}

/** The module `bytes` without its custom sections (id 0), but for those named in `keep`. */
function withoutCustomSections(bytes, keep) {
  const kept = [bytes.subarray(0, 8)];
  let at = 8;
  while (at < bytes.length) {
    const start = at;
    const id = bytes[at];
    const [size, body] = leb128(bytes, at + 1);
    at = body + size;
    if (at > bytes.length) fail("a wasm section runs past the end of the module");
    // A custom section's body starts with its name, a length-prefixed UTF-8 text.
    const [nameLength, name] = id === 0 ? leb128(bytes, body) : [0, body];
    if (id !== 0 || keep.includes(bytes.subarray(name, name + nameLength).toString("utf8"))) {
      kept.push(bytes.subarray(start, at));
    }
  }
  const out = Buffer.concat(kept);
  if (!WebAssembly.validate(out)) fail("the wasm is not valid without its custom sections");
  return out;
}

// 3. Minified JavaScript.
const glueMin = (await minify(glue, { module: true, compress: { passes: 2 }, mangle: true })).code;
const hash = createHash("sha256").update(glueMin).update(wasmBytes).digest("hex").slice(0, 16);
// The extras module (src/extras.js), loaded after the first paint: hashed on its own.
const extrasMin = (await minify(readFileSync(join(ROOT, "src", "extras.js"), "utf8"),
  { module: true, compress: { passes: 2 }, mangle: true })).code;
const extrasName = `offers-extras-${createHash("sha256").update(extrasMin).digest("hex").slice(0, 16)}.js`;
const loaderSource = readFileSync(join(ROOT, "src", "loader.js"), "utf8")
  .replaceAll("__BUNDLE_JS__", `offers-${hash}.js`)
  .replaceAll("__BUNDLE_WASM__", `offers-${hash}_bg.wasm`)
  .replaceAll("__BUNDLE_EXTRAS__", extrasName);
const loaderMin = (await minify(loaderSource, { compress: { passes: 2 }, mangle: true })).code;

// 4. The bundle, precompressed.
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
const files = { [`offers-${hash}.js`]: glueMin, [`offers-${hash}_bg.wasm`]: wasmBytes, "offers.js": loaderMin,
  [extrasName]: extrasMin };
if (afterPaint) files[afterPaint[0]] = afterPaint[1];
for (const [name, content] of Object.entries(files)) {
  const bytes = Buffer.from(content);
  writeFileSync(join(dist, name), bytes);
  writeFileSync(join(dist, `${name}.br`), brotliCompressSync(bytes, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
  }));
  writeFileSync(join(dist, `${name}.gz`), gzipSync(bytes, { level: 9 }));
}
console.error(`bundle-widget: ${Object.keys(files).join(" ")} (+ .br, .gz) in ${dist}`);
