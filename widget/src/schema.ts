// Config validation: a line-by-line port of tensorrag/cards/schema.py (validate_config), so the form
// marks exactly the fields Python would refuse, with the same words. Python stays the authority:
// every edit is applied by the kernel, and what it refuses comes back in `problems`.
import type { Json, JsonObject, JsonSchema } from "./types";

export interface FieldProblem {
  field: string;
  message: string;
}

export function validateConfig(schema: JsonSchema, config: JsonObject | null | undefined): {
  filled: JsonObject;
  problems: FieldProblem[];
} {
  const ctx = new Ctx(schema);
  const filled = ctx.check({ ...(config ?? {}) }, schema, "") as JsonObject;
  return { filled, problems: ctx.problems };
}

/** Resolve local `$ref`s (into `$defs`), as Python does. */
export function resolveSchema(root: JsonSchema, schema: JsonSchema): JsonSchema {
  let seen = 0;
  while (schema && "$ref" in schema && seen < 32) {
    const ref = schema.$ref;
    const { $ref: _, ...rest } = schema;
    if (typeof ref !== "string" || !ref.startsWith("#/")) return rest;
    let node: any = root;
    for (const part of ref.slice(2).split("/")) node = node && typeof node === "object" ? node[part] ?? {} : {};
    schema = { ...(node as JsonSchema), ...rest };
    seen += 1;
  }
  return schema;
}

class Ctx {
  problems: FieldProblem[] = [];
  constructor(private root: JsonSchema) {}

  fail(path: string, message: string): void {
    this.problems.push({ field: path || "(config)", message });
  }

  resolve(schema: JsonSchema): JsonSchema {
    return resolveSchema(this.root, schema);
  }

  check(value: Json, schema: JsonSchema, path: string): Json {
    schema = this.resolve(schema);
    for (const combo of ["anyOf", "oneOf"] as const) {
      const options = schema[combo];
      if (options) return this.checkAny(value, options, path);
    }
    const types = schema.type;
    if (types !== undefined) {
      const [coerced, ok] = coerce(value, Array.isArray(types) ? types : [types]);
      value = coerced;
      if (!ok) {
        this.fail(path, `expected ${typeWords(types)}, got ${describe(value)}`);
        return value;
      }
    }
    if ("const" in schema && !jsonEqual(value, schema.const as Json)) {
      this.fail(path, `must be ${pyRepr(schema.const as Json)}, got ${pyRepr(value)}`);
    }
    if (schema.enum && !schema.enum.some((v) => jsonEqual(v, value))) {
      const options = schema.enum.map(pyRepr).join(", ");
      let hint = "";
      if (typeof value === "string") {
        const close = closeMatches(value, schema.enum.map((v) => String(v)), 1);
        hint = close.length ? ` (did you mean ${pyRepr(close[0])}?)` : "";
      }
      this.fail(path, `must be one of ${options}; got ${pyRepr(value)}${hint}`);
    }
    if (typeof value === "number") this.checkNumber(value, schema, path);
    else if (typeof value === "string") this.checkString(value, schema, path);
    else if (Array.isArray(value)) value = this.checkArray(value, schema, path);
    else if (isObject(value) && (schema.properties || schema.type === "object")) value = this.checkObject(value, schema, path);
    return value;
  }

  checkAny(value: Json, options: JsonSchema[], path: string): Json {
    for (const option of options) {
      const trial = new Ctx(this.root);
      const out = trial.check(value, option, path);
      if (!trial.problems.length) return out;
    }
    const words = options.map((o) => typeWords((this.resolve(o).type as string | string[]) ?? "value")).join(" or ");
    this.fail(path, `expected ${words}, got ${describe(value)}`);
    return value;
  }

  checkNumber(value: number, s: JsonSchema, path: string): void {
    if (s.minimum !== undefined && value < s.minimum) this.fail(path, `must be >= ${num(s.minimum)}, got ${num(value)}`);
    if (s.maximum !== undefined && value > s.maximum) this.fail(path, `must be <= ${num(s.maximum)}, got ${num(value)}`);
    if (s.exclusiveMinimum !== undefined && value <= s.exclusiveMinimum)
      this.fail(path, `must be > ${num(s.exclusiveMinimum)}, got ${num(value)}`);
    if (s.exclusiveMaximum !== undefined && value >= s.exclusiveMaximum)
      this.fail(path, `must be < ${num(s.exclusiveMaximum)}, got ${num(value)}`);
  }

  checkString(value: string, s: JsonSchema, path: string): void {
    if (s.minLength !== undefined && [...value].length < s.minLength)
      this.fail(path, `must have at least ${s.minLength} characters`);
    if (s.maxLength !== undefined && [...value].length > s.maxLength)
      this.fail(path, `must have at most ${s.maxLength} characters`);
    // JS regexes cannot be timed out: only short values are matched here (even a runaway pattern
    // is cheap on them); longer ones are left to the kernel, which matches with a time bound.
    if (s.pattern !== undefined && [...value].length <= 16) {
      let ok = true;
      try {
        ok = new RegExp(s.pattern, "u").test(value);
      } catch {
        ok = true; // a Python-only pattern: leave it to the kernel
      }
      if (!ok) this.fail(path, `must match pattern ${pyRepr(s.pattern)}; got ${pyRepr(value)}`);
    }
  }

  checkArray(value: Json[], s: JsonSchema, path: string): Json[] {
    if (s.minItems !== undefined && value.length < s.minItems) this.fail(path, `must have at least ${s.minItems} items`);
    if (s.maxItems !== undefined && value.length > s.maxItems) this.fail(path, `must have at most ${s.maxItems} items`);
    const items = s.items;
    if (isObject(items as Json)) return value.map((v, i) => this.check(v, items as JsonSchema, `${path}[${i}]`));
    return value;
  }

  checkObject(value: JsonObject, s: JsonSchema, path: string): JsonObject {
    const props = s.properties ?? {};
    const out: JsonObject = {};
    const prefix = path ? `${path}.` : "";
    for (const name of s.required ?? []) {
      if (!(name in value) && !("default" in this.resolve(props[name] ?? {}))) this.fail(`${prefix}${name}`, "is required");
    }
    for (const [name, sub] of Object.entries(props)) {
      if (name in value) {
        const resolved = this.resolve(sub);
        if (value[name] === null && "default" in resolved && !allowsNull(resolved, this.root)) {
          out[name] = structuredClone(resolved.default as Json); // the UI cleared it
          continue;
        }
        out[name] = this.check(value[name], sub, `${prefix}${name}`);
      } else {
        const resolved = this.resolve(sub);
        if ("default" in resolved) out[name] = structuredClone(resolved.default as Json);
      }
    }
    const extraOk = s.additionalProperties ?? Object.keys(props).length === 0;
    for (const [name, v] of Object.entries(value)) {
      if (name in props) continue;
      if (name.startsWith("_") || extraOk === true) out[name] = v;
      else if (isObject(extraOk as Json)) out[name] = this.check(v, extraOk as JsonSchema, `${prefix}${name}`);
      else {
        const close = closeMatches(name, Object.keys(props), 1);
        const hint = close.length ? `; did you mean ${pyRepr(close[0])}?` : `; known fields: ${Object.keys(props).join(", ")}`;
        this.fail(`${prefix}${name}`, `is not a config field of this card${hint}`);
      }
    }
    return out;
  }
}

function allowsNull(schema: JsonSchema, root: JsonSchema): boolean {
  const t = schema.type;
  if (t === "null" || (Array.isArray(t) && t.includes("null"))) return true;
  return (["anyOf", "oneOf"] as const).some((c) => (schema[c] ?? []).some((o) => allowsNull(resolveSchema(root, o), root)));
}

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isType(value: Json, t: string): boolean {
  switch (t) {
    case "string":
      return typeof value === "string";
    case "boolean":
      return typeof value === "boolean";
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "number":
      return typeof value === "number";
    case "array":
      return Array.isArray(value);
    case "object":
      return isObject(value);
    case "null":
      return value === null;
    default:
      return true; // unknown type words are not ours to reject
  }
}

function coerce(value: Json, types: string[]): [Json, boolean] {
  for (const t of types) if (isType(value, t)) return [value, true];
  for (const t of types) {
    if (typeof value === "string") {
      const raw = value.trim();
      if (t === "integer" && /^[+-]?\d+$/.test(raw)) return [parseInt(raw, 10), true];
      if (t === "number") {
        const n = pyFloat(raw);
        if (n !== null && Number.isFinite(n)) return [n, true];
      }
      if (t === "boolean" && ["true", "false"].includes(raw.toLowerCase())) return [raw.toLowerCase() === "true", true];
    }
  }
  return [value, false];
}

/** Python's float(text) for the texts JSON cares about (None where Python raises). */
function pyFloat(raw: string): number | null {
  const text = raw.replace(/(?<=\d)_(?=\d)/g, "");
  if (!/^[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|inf(inity)?|nan)$/i.test(text)) return null;
  const lower = text.toLowerCase().replace(/^[+]/, "");
  if (lower === "nan" || lower === "-nan") return NaN;
  if (/^-?inf(inity)?$/.test(lower)) return lower.startsWith("-") ? -Infinity : Infinity;
  return Number(text);
}

function typeWords(types: string | string[]): string {
  if (Array.isArray(types)) return types.join(" or ");
  return ({ integer: "an integer", array: "an array", object: "an object" } as Record<string, string>)[types] ?? `a ${types}`;
}

function describe(value: Json): string {
  const kind =
    typeof value === "string"
      ? "string"
      : typeof value === "boolean"
        ? "boolean"
        : typeof value === "number"
          ? Number.isInteger(value) ? "integer" : "number"
          : Array.isArray(value)
            ? "array"
            : value === null
              ? "NoneType"
              : "object";
  const text = pyRepr(value);
  return `${kind} ${text.length < 60 ? text : text.slice(0, 57) + "..."}`;
}

function num(n: number): string {
  return String(n);
}

/** Python's repr() of a JSON value (strings in single quotes, True/False/None). */
export function pyRepr(value: Json): string {
  if (value === null) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "number") return String(value);
  if (typeof value === "string") {
    const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
    let body = "";
    for (const ch of value) {
      if (ch === "\\") body += "\\\\";
      else if (ch === quote) body += "\\" + ch;
      else if (ch === "\n") body += "\\n";
      else if (ch === "\r") body += "\\r";
      else if (ch === "\t") body += "\\t";
      else body += ch;
    }
    return quote + body + quote;
  }
  if (Array.isArray(value)) return "[" + value.map(pyRepr).join(", ") + "]";
  return "{" + Object.entries(value).map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`).join(", ") + "}";
}

function jsonEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as Json[];
    return a.length === bb.length && a.every((v, i) => jsonEqual(v, bb[i]));
  }
  const ao = a as JsonObject;
  const bo = b as JsonObject;
  const keys = Object.keys(ao);
  return keys.length === Object.keys(bo).length && keys.every((k) => k in bo && jsonEqual(ao[k], bo[k]));
}

/** difflib.get_close_matches(word, options, n, cutoff=0.6), via the same ratio (Ratcliff/Obershelp). */
export function closeMatches(word: string, options: string[], n = 3, cutoff = 0.6): string[] {
  const scored = options
    .map((o) => ({ o, r: ratio(word, o) }))
    .filter((x) => x.r >= cutoff)
    .sort((a, b) => b.r - a.r || (a.o < b.o ? 1 : a.o > b.o ? -1 : 0));
  return scored.slice(0, n).map((x) => x.o);
}

function ratio(a: string, b: string): number {
  const total = a.length + b.length;
  if (!total) return 1;
  return (2 * matches(a, b)) / total;
}

function matches(a: string, b: string): number {
  if (!a.length || !b.length) return 0;
  let best = 0;
  let bi = 0;
  let bj = 0;
  for (let i = 0; i < a.length; i++) {
    for (let j = 0; j < b.length; j++) {
      let k = 0;
      while (i + k < a.length && j + k < b.length && a[i + k] === b[j + k]) k++;
      if (k > best) {
        best = k;
        bi = i;
        bj = j;
      }
    }
  }
  if (!best) return 0;
  return best + matches(a.slice(0, bi), b.slice(0, bj)) + matches(a.slice(bi + best), b.slice(bj + best));
}
