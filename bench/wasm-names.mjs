// Reads a wasm module's function bodies and their names (the `name` section, present in a
// bundle built by bench/paint-functions.sh): `functions(bytes)` gives, per function index,
// `{ name, size }` with the body's size in bytes. Imported functions have no body and are left
// out. Used by bench/paint-trace.mjs to name the functions a first paint compiles.
export function functions(bytes) {
  let at = 8;
  const leb = () => {
    let value = 0;
    for (let shift = 0, byte = 0x80; byte & 0x80; shift += 7) {
      byte = bytes[at++];
      value += (byte & 0x7f) * 2 ** shift;
    }
    return value;
  };
  const skipLimits = () => {
    const flags = bytes[at++];
    leb();
    if (flags & 1) leb();
  };
  let imported = 0;
  const sizes = [];
  const names = new Map();
  while (at < bytes.length) {
    const id = bytes[at++];
    const size = leb();
    const end = at + size;
    if (id === 2) {
      for (let n = leb(); n > 0; n--) {
        for (const _ of ["module", "field"]) {
          const length = leb(); // read before `at` is: `at += leb()` would add to the old `at`
          at += length;
        }
        const kind = bytes[at++];
        if (kind === 0) { leb(); imported++; }
        else if (kind === 1) { at++; skipLimits(); }
        else if (kind === 2) skipLimits();
        else if (kind === 3) at += 2;
        else if (kind === 4) { at++; leb(); }
      }
    } else if (id === 10) {
      for (let n = leb(); n > 0; n--) {
        const body = leb();
        sizes.push(body);
        at += body;
      }
    } else if (id === 0) {
      const length = leb();
      const name = bytes.subarray(at, at + length).toString("utf8");
      at += length;
      if (name === "name") {
        while (at < end) {
          const sub = bytes[at++];
          const subEnd = leb() + at;
          if (sub === 1) {
            for (let n = leb(); n > 0; n--) {
              const index = leb();
              const l = leb();
              names.set(index, bytes.subarray(at, at + l).toString("utf8"));
              at += l;
            }
          }
          at = subEnd;
        }
      }
    }
    at = end;
  }
  const out = new Map();
  sizes.forEach((size, i) => {
    const index = imported + i;
    out.set(index, { name: (names.get(index) ?? `func${index}`).replace(/\[[0-9a-f]{16}\]/g, ""), size });
  });
  return out;
}

/** The crate a (demangled) function name belongs to: `offers_widget`, `core`, …, or its name. */
export function crateOf(name) {
  const m = /^<*([a-z_][a-z0-9_]*)::/.exec(name);
  return m ? m[1] : name.split(" ")[0];
}
