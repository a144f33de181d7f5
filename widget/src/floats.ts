// Floats across the widget boundary. JavaScript has one number type (1.0 === 1), so a Python float
// with an integral value would come back an int (`{"max_features": 1.0}` -> 1: scikit-learn then
// uses one feature). The float-ness travels as marks next to the values, and every place a value
// is parsed from or written as text keeps it:
// - graph documents: node `data.floats` lists the paths (from `data`) of float values;
// - card schemas (palette): a schema object's `x-floats` lists the paths (from it) of float
//   keyword values (`default`, `enum`, `const`, `examples`);
// - the anywidget kernel adds and reads these marks (tensorrag/widget/_floats.py); the REST model
//   reads them from / writes them as the JSON text (`1.0`), so the server sees plain JSON.
import type { Json, JsonObject } from "./types";

export type Path = (string | number)[];
/** The node-data key of float marks. */
export const FLOATS = "floats";
/** The schema key of float marks. */
export const SCHEMA_FLOATS = "x-floats";

export const pathKey = (p: Path): string => JSON.stringify(p);

/** A number as Python would write it: `1.0` for a float with an integral value. */
export function formatNumber(n: number, isFloat: boolean): string {
  const s = String(n);
  return isFloat && /^-?\d+$/.test(s) ? `${s}.0` : s;
}

/** Whether typed text is a float literal for Python (`1.0`, `1e3`, `.5`), not an int (`1`). */
export function isFloatText(text: string): boolean {
  return /^[+-]?(\d+\.\d*|\.\d+|\d+(\.\d*)?[eE][+-]?\d+)$/.test(text.trim().replace(/(?<=\d)_(?=\d)/g, ""));
}

/** JSON.parse that also returns the paths of float literals with integral values (the error is JSON.parse's). */
export function parseJson(text: string): { value: Json; floats: Path[] } {
  const value = JSON.parse(text) as Json; // throws the usual message on bad JSON
  const floats: Path[] = [];
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  const str = (): string => {
    const start = i++;
    while (text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const walk = (path: Path): void => {
    ws();
    const ch = text[i];
    if (ch === "{") {
      i++;
      ws();
      if (text[i] === "}") {
        i++;
        return;
      }
      for (;;) {
        ws();
        const key = str();
        ws();
        i++; // :
        walk([...path, key]);
        ws();
        if (text[i++] === "}") return;
      }
    }
    if (ch === "[") {
      i++;
      ws();
      if (text[i] === "]") {
        i++;
        return;
      }
      for (let n = 0; ; n++) {
        walk([...path, n]);
        ws();
        if (text[i++] === "]") return;
      }
    }
    if (ch === '"') {
      str();
      return;
    }
    const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?|^(true|false|null)/.exec(text.slice(i, i + 400));
    const token = m ? m[0] : "";
    i += token.length;
    // Only floats that read as ints need a mark (2.5 stays a float anyway), as the kernel marks them.
    if (/[.eE]/.test(token) && !/^(true|false|null)$/.test(token) && Number.isInteger(Number(token))) floats.push(path);
  };
  walk([]);
  return { value, floats };
}

/**
 * JSON text of `value` with the numbers at `floats` written as floats. Node data objects (with
 * `card_type`) write their own `data.floats` marks the same way and leave the key out; schema
 * objects leave `x-floats` out after using it: the text is what Python's json would write.
 */
export function stringifyJson(value: unknown, floats: Path[] = [], indent = 0): string {
  const marked = new Set(floats.map(pathKey));
  const pad = (depth: number) => (indent ? "\n" + " ".repeat(indent * depth) : "");
  const write = (v: unknown, path: Path, depth: number, local: Set<string>, base: number): string => {
    if (typeof v === "number") {
      if (!Number.isFinite(v)) return "null";
      return formatNumber(v, local.has(pathKey(path.slice(base))));
    }
    if (v === null || typeof v !== "object") return v === undefined ? "null" : JSON.stringify(v);
    if (typeof (v as { toJSON?: unknown }).toJSON === "function") return JSON.stringify(v);
    if (Array.isArray(v)) {
      if (!v.length) return "[]";
      const items = v.map((x, n) => pad(depth + 1) + write(x, [...path, n], depth + 1, local, base));
      return `[${items.join(",")}${pad(depth)}]`;
    }
    const obj = v as Record<string, unknown>;
    let own = local;
    let ownBase = base;
    const skip = new Set<string>();
    const marks = typeof obj.card_type === "string" ? obj[FLOATS] : obj[SCHEMA_FLOATS];
    if (Array.isArray(marks)) {
      own = new Set(marks.map((p) => pathKey(p as Path)));
      ownBase = path.length;
      skip.add(typeof obj.card_type === "string" ? FLOATS : SCHEMA_FLOATS);
    }
    const parts: string[] = [];
    for (const [k, x] of Object.entries(obj)) {
      if (skip.has(k) || x === undefined) continue;
      parts.push(`${pad(depth + 1)}${JSON.stringify(k)}:${indent ? " " : ""}${write(x, [...path, k], depth + 1, own, ownBase)}`);
    }
    return parts.length ? `{${parts.join(",")}${pad(depth)}}` : "{}";
  };
  return write(value, [], 0, marked, 0);
}

// ------------------------------------------------------------------ marks on documents and schemas

function startsWith(p: Path, prefix: Path): boolean {
  return prefix.every((k, n) => p[n] === k);
}

/** The float paths of node data under `prefix` (e.g. ["config"]), relative to it. */
export function floatsUnder(data: { [key: string]: unknown } | undefined, prefix: Path): Path[] {
  const marks = (data?.[FLOATS] as Path[] | undefined) ?? [];
  return marks.filter((p) => p.length > prefix.length && startsWith(p, prefix)).map((p) => p.slice(prefix.length));
}

/** Node data with the marks under `prefix` replaced by `floats` (relative to it); no key when none. */
export function withFloats<T extends { [key: string]: unknown }>(data: T, prefix: Path, floats: Path[]): T {
  const keep = ((data[FLOATS] as Path[] | undefined) ?? []).filter((p) => !startsWith(p, prefix));
  const all = [...keep, ...floats.map((p) => [...prefix, ...p])];
  const out: { [key: string]: unknown } = { ...data };
  if (all.length) out[FLOATS] = all;
  else delete out[FLOATS];
  return out as T;
}

/** Whether the schema keyword value at `rel` (e.g. ["default"], ["enum", 1]) is a float. */
export function schemaFloat(schema: object | undefined, rel: Path): boolean {
  const marks = (schema as { [SCHEMA_FLOATS]?: Path[] } | undefined)?.[SCHEMA_FLOATS];
  return !!marks?.some((p) => pathKey(p) === pathKey(rel));
}

/** The float paths of `value` (what a schema keyword holds) relative to it. */
export function schemaFloatsOf(schema: object | undefined, keyword: Path): Path[] {
  const marks = (schema as { [SCHEMA_FLOATS]?: Path[] } | undefined)?.[SCHEMA_FLOATS] ?? [];
  return marks.filter((p) => p.length >= keyword.length && startsWith(p, keyword)).map((p) => p.slice(keyword.length));
}

const SCHEMA_VALUES = new Set(["default", "enum", "const", "examples"]);

/**
 * Put float paths found in a parsed response (`parseJson`) where the canvas reads them: on the
 * data of graph nodes (`nodes[i].data...`) and on schema objects (a keyword's value).
 */
export function attachFloats(value: Json, floats: Path[]): Json {
  for (const p of floats) {
    const n = p.indexOf("data");
    const holder = n >= 0 ? get(value, p.slice(0, n + 1)) : undefined;
    if (n >= 0 && isObject(holder) && typeof holder.card_type === "string") {
      addMark(holder, FLOATS, p.slice(n + 1));
      continue;
    }
    for (let j = p.length - 1; j >= 0; j--) {
      const key = p[j];
      const owner = get(value, p.slice(0, j));
      if (typeof key === "string" && SCHEMA_VALUES.has(key) && isObject(owner)) {
        addMark(owner, SCHEMA_FLOATS, p.slice(j));
        break;
      }
    }
  }
  return value;
}

function addMark(obj: JsonObject, key: string, rel: Path): void {
  const list = Array.isArray(obj[key]) ? (obj[key] as Json[]) : [];
  obj[key] = [...list, rel as Json];
}

function get(value: Json, path: Path): Json | undefined {
  let cur: Json | undefined = value;
  for (const k of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as any)[k];
  }
  return cur;
}

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
