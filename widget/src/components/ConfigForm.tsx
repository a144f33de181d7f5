// The side-panel form generated from a card's config_schema. Fields are checked as you type with
// the same rules Python uses (schema.ts); a valid config is applied to the pipeline after a short
// pause, and what the kernel refuses comes back as problems and is marked too.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { Json, JsonObject, JsonSchema, Problem } from "../types";
import { resolveSchema, validateConfig } from "../schema";
import { formatNumber, isFloatText, parseJson, pathKey, schemaFloat, schemaFloatsOf, stringifyJson, type Path } from "../floats";

type OnChange = (value: Json | undefined) => void;

interface FieldProps {
  name: string;
  path: string;
  schema: JsonSchema;
  root: JsonSchema;
  value: Json | undefined;
  required: boolean;
  marks: Map<string, string[]>;
  onChange: OnChange;
  onLocalError: (path: string, message: string | null) => void;
  /** Where the value is in the config (keys and indexes), for its float marks. */
  at: Path;
  /** Path keys (floats.ts `pathKey`) of the config values that are floats. */
  floats: Set<string>;
  /** The float paths under `at` are now `rel` (relative to `at`). */
  onFloats: (at: Path, rel: Path[]) => void;
}

/** The float paths of the value at `at`, relative to it. */
function floatsAt(floats: Set<string>, at: Path): Path[] {
  const out: Path[] = [];
  for (const key of floats) {
    const p = JSON.parse(key) as Path;
    if (p.length >= at.length && at.every((k, n) => p[n] === k)) out.push(p.slice(at.length));
  }
  return out;
}

const APPLY_DELAY_MS = 250;
const NO_FLOATS: Path[] = [];

function stableKey(value: unknown): string {
  return JSON.stringify(value ?? null);
}

export function ConfigForm({
  nodeId,
  schema,
  config,
  floats = NO_FLOATS,
  problems,
  onApply,
}: {
  nodeId: string;
  schema: JsonSchema;
  config: JsonObject;
  /** Paths (from the config) of its float values: `data.floats` under "config". */
  floats?: Path[];
  problems: Problem[];
  onApply: (config: JsonObject, floats: Path[]) => void;
}) {
  const props = schema.properties ?? {};
  const configKey = stableKey(config) + stableKey(floats);
  const [draft, setDraft] = useState<JsonObject>(config);
  const [draftFloats, setDraftFloats] = useState<Set<string>>(() => new Set(floats.map(pathKey)));
  const [dirty, setDirty] = useState(false);
  const [localErrors, setLocalErrors] = useState<Record<string, string>>({});
  const applied = useRef(configKey);

  // A new node, or its config changed elsewhere (Python, another view): start from the truth.
  useEffect(() => {
    applied.current = configKey;
    setDraft(config);
    setDraftFloats(new Set(floats.map(pathKey)));
    setDirty(false);
    setLocalErrors({});
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [nodeId, configKey]);

  const checked = useMemo(() => validateConfig(schema, draft), [schema, draft]);
  const localCount = Object.keys(localErrors).length;
  const blocked = checked.problems.length + localCount > 0;

  useEffect(() => {
    if (!dirty || blocked) return;
    const timer = setTimeout(() => {
      const paths = [...draftFloats].map((k) => JSON.parse(k) as Path);
      const key = stableKey(draft) + stableKey(paths);
      if (key !== applied.current) {
        applied.current = key;
        onApply(draft, paths);
      }
      setDirty(false);
    }, APPLY_DELAY_MS);
    return () => clearTimeout(timer);
  }, [draft, draftFloats, dirty, blocked, onApply]);
  const onFloats = useCallback((at: Path, rel: Path[]) => {
    setDraftFloats((old) => {
      const next = new Set([...old].filter((k) => !floatsAt(new Set([k]), at).length));
      for (const p of rel) next.add(pathKey([...at, ...p]));
      return next.size === old.size && [...next].every((k) => old.has(k)) ? old : next;
    });
  }, []);

  const marks = useMemo(() => {
    const out = new Map<string, string[]>();
    const add = (field: string, message: string) => {
      const top = field.replace(/\[\d+\]$/, "");
      out.set(top, [...(out.get(top) ?? []), message]);
    };
    for (const p of checked.problems) add(p.field, p.message);
    for (const [field, message] of Object.entries(localErrors)) add(field, message);
    if (!dirty) {
      // what the kernel refused (config fields only; port problems are listed by the inspector)
      for (const p of problems) {
        if (!p.field || p.node_id !== nodeId || !(p.field.split(/[.[]/)[0] in props)) continue;
        add(p.field, p.message.replace(/^[\w.[\]]+: /, ""));
      }
    }
    return out;
  }, [checked, localErrors, problems, dirty, nodeId, props]);
  const required = new Set(schema.required ?? []);
  const setField = (name: string, value: Json | undefined) => {
    if (value === undefined) onFloats([name], []);
    setDraft((d) => {
      const next = { ...d };
      if (value === undefined) delete next[name];
      else next[name] = value;
      return next;
    });
    setDirty(true);
  };
  const onLocalError = (path: string, message: string | null) => {
    setLocalErrors((errs) => {
      if ((errs[path] ?? null) === message) return errs;
      const next = { ...errs };
      if (message === null) delete next[path];
      else next[path] = message;
      return next;
    });
    if (message) setDirty(true);
  };
  const unknownKeys = Object.keys(draft).filter((k) => !(k in props) && !k.startsWith("_"));
  const formProblems = [...marks.entries()].filter(([field]) => !(field in props) || field === "(config)");

  return (
    <form className="trc-form" data-testid="config-form" onSubmit={(e) => e.preventDefault()}>
      {Object.keys(props).length === 0 && unknownKeys.length === 0 ? (
        <div className="trc-muted">This card has no configuration.</div>
      ) : null}
      {Object.entries(props).map(([name, sub]) => (
        <Field
          key={name}
          name={name}
          path={name}
          schema={sub}
          root={schema}
          value={draft[name]}
          required={required.has(name)}
          marks={marks}
          onChange={(v) => setField(name, v)}
          onLocalError={onLocalError}
          at={[name]}
          floats={draftFloats}
          onFloats={onFloats}
        />
      ))}
      {unknownKeys.map((name) => (
        <Field
          key={name}
          name={name}
          path={name}
          schema={{}}
          root={schema}
          value={draft[name]}
          required={false}
          marks={marks}
          onChange={(v) => setField(name, v)}
          onLocalError={onLocalError}
          at={[name]}
          floats={draftFloats}
          onFloats={onFloats}
        />
      ))}
      {formProblems.length ? (
        <ul className="trc-form-problems">
          {formProblems.map(([field, msgs]) => (
            <li key={field}>
              {field}: {msgs.join("; ")}
            </li>
          ))}
        </ul>
      ) : null}
      <div className={`trc-form-state${blocked ? " trc-form-blocked" : ""}`} data-testid="form-state">
        {blocked
          ? `Not applied: fix the marked field${checked.problems.length + localCount > 1 ? "s" : ""}.`
          : dirty
            ? "Applying…"
            : "Applied to the pipeline."}
      </div>
    </form>
  );
}

function Label({ name, schema, required }: { name: string; schema: JsonSchema; required: boolean }) {
  return (
    <span className="trc-label">
      {schema.title && schema.title.toLowerCase().replace(/ /g, "_") !== name ? schema.title : name}
      {required ? <span className="trc-required">*</span> : null}
    </span>
  );
}

function shownDefault(schema: JsonSchema): string {
  return "default" in schema ? stringifyJson(schema.default, schemaFloatsOf(schema, ["default"])) : "";
}

function Field(props: FieldProps) {
  const { name, path, root, value, required, marks, onChange, onLocalError, at, floats, onFloats } = props;
  let schema = resolveSchema(root, props.schema);
  const combo = schema.anyOf ?? schema.oneOf;
  if (combo) {
    const nonNull = combo.map((o) => resolveSchema(root, o)).filter((o) => o.type !== "null");
    if (nonNull.length === 1) schema = { ...nonNull[0], ...stripCombo(schema) };
  }
  const types = Array.isArray(schema.type) ? schema.type.filter((t) => t !== "null") : schema.type ? [schema.type] : [];
  const type = types.length === 1 ? types[0] : undefined;
  const errors = marks.get(path) ?? [];
  const invalid = errors.length > 0;
  const common = {
    "data-field": path,
    "aria-invalid": invalid || undefined,
    className: `trc-input${invalid ? " trc-invalid" : ""}`,
  };
  let control: React.ReactNode;
  if (schema.enum) {
    const options = schema.enum;
    const optionText = (n: number) => stringifyJson(options[n], schemaFloatsOf(schema, ["enum", n]));
    const current = value === undefined ? "" : stringifyJson(value, floatsAt(floats, at));
    control = (
      <select
        {...common}
        value={current}
        onChange={(e) => {
          if (e.target.value === "") {
            onFloats(at, []);
            onChange(undefined);
            return;
          }
          const parsed = parseJson(e.target.value);
          onFloats(at, parsed.floats);
          onChange(parsed.value);
        }}
      >
        <option value="">{"default" in schema ? `default (${shownDefault(schema).replace(/^"|"$/g, "")})` : "(not set)"}</option>
        {options.map((o, n) => (
          <option key={optionText(n)} value={optionText(n)}>
            {typeof o === "number" ? formatNumber(o, schemaFloat(schema, ["enum", n])) : String(o)}
          </option>
        ))}
        {value !== undefined && !options.some((_o, n) => optionText(n) === current) ? (
          <option value={current}>{current} (invalid)</option>
        ) : null}
      </select>
    );
  } else if (type === "boolean") {
    const shown = value === undefined ? schema.default === true : value === true;
    control = (
      <input {...common} className={`${common.className} trc-check`} type="checkbox" checked={shown} onChange={(e) => onChange(e.target.checked)} />
    );
  } else if (type === "integer" || type === "number") {
    control = <NumberInput {...props} schema={schema} integer={type === "integer"} common={common} />;
  } else if (type === "string") {
    control = (
      <input
        {...common}
        type="text"
        value={typeof value === "string" ? value : value === undefined ? "" : JSON.stringify(value)}
        placeholder={shownDefault(schema).replace(/^"|"$/g, "")}
        onChange={(e) => onChange(e.target.value === "" ? undefined : e.target.value)}
      />
    );
  } else if (type === "array" && resolveSchema(root, schema.items ?? {}).enum) {
    const itemSchema = resolveSchema(root, schema.items ?? {});
    const options = itemSchema.enum ?? [];
    const chosen = Array.isArray(value) ? value : Array.isArray(schema.default) ? (schema.default as Json[]) : [];
    control = (
      <div className={`trc-multi${invalid ? " trc-invalid" : ""}`} data-field={path}>
        {options.map((o) => {
          const on = chosen.some((c) => JSON.stringify(c) === JSON.stringify(o));
          return (
            <label key={JSON.stringify(o)} className="trc-multi-item">
              <input
                type="checkbox"
                checked={on}
                onChange={() => {
                  const next = on ? chosen.filter((c) => JSON.stringify(c) !== JSON.stringify(o)) : [...chosen, o];
                  const picked = options.map((x, n) => [x, n] as const).filter(([x]) => next.some((c) => JSON.stringify(c) === JSON.stringify(x)));
                  onFloats(at, picked.flatMap(([, n], j) => schemaFloatsOf(itemSchema, ["enum", n]).map((p) => [j, ...p])));
                  onChange(picked.map(([x]) => x));
                }}
              />
              {String(o)}
            </label>
          );
        })}
      </div>
    );
  } else if (type === "array" && ["string", "number", "integer"].includes(String(resolveSchema(root, schema.items ?? {}).type))) {
    control = <ListInput {...props} schema={schema} common={common} />;
  } else if (type === "object" && schema.properties && Object.keys(schema.properties).length) {
    const obj = value && typeof value === "object" && !Array.isArray(value) ? (value as JsonObject) : {};
    const req = new Set(schema.required ?? []);
    control = (
      <fieldset className={`trc-fieldset${invalid ? " trc-invalid" : ""}`} data-field={path}>
        {Object.entries(schema.properties).map(([sub, subSchema]) => (
          <Field
            key={sub}
            name={sub}
            path={`${path}.${sub}`}
            schema={subSchema}
            root={root}
            value={obj[sub]}
            required={req.has(sub)}
            marks={marks}
            onLocalError={onLocalError}
            at={[...at, sub]}
            floats={floats}
            onFloats={onFloats}
            onChange={(v) => {
              const next = { ...obj };
              if (v === undefined) {
                delete next[sub];
                onFloats([...at, sub], []);
              } else next[sub] = v;
              onChange(Object.keys(next).length ? next : undefined);
            }}
          />
        ))}
      </fieldset>
    );
  } else {
    control = <JsonInput {...props} schema={schema} common={common} />;
  }
  return (
    <div className={`trc-field${invalid ? " trc-field-invalid" : ""}`} data-testid={`field-${path}`}>
      <div className="trc-field-head">
        <Label name={name} schema={schema} required={required} />
        {value !== undefined ? (
          <button type="button" className="trc-reset" title="Back to the default" onClick={() => {
            onLocalError(path, null);
            onFloats(at, []);
            onChange(undefined);
          }}>
            ↺
          </button>
        ) : null}
      </div>
      {control}
      {errors.map((e, i) => (
        <div key={i} className="trc-field-error" data-testid={`error-${path}`}>
          {e}
        </div>
      ))}
      {schema.description ? <div className="trc-help">{schema.description}</div> : null}
    </div>
  );
}

function stripCombo(schema: JsonSchema): JsonSchema {
  const { anyOf: _a, oneOf: _o, ...rest } = schema;
  return rest;
}

type Common = { "data-field": string; "aria-invalid": boolean | undefined; className: string };

/**
 * Text being typed, kept while the user edits; replaced when the value changes from outside (Python).
 * Set ``last.current`` to the text of what the field sent, so that echo is not treated as outside.
 */
function useDraft(external: string): [string, (text: string) => void, { current: string }] {
  const [text, setText] = useState(external);
  const last = useRef(external);
  useEffect(() => {
    if (external !== last.current) {
      last.current = external;
      setText(external);
    }
  }, [external]);
  return [text, setText, last];
}

function NumberInput(props: FieldProps & { integer: boolean; common: Common }) {
  const { value, schema, onChange, onLocalError, path, integer, common, at, floats, onFloats } = props;
  const isFloat = floats.has(pathKey(at));
  const external = typeof value === "number" ? formatNumber(value, isFloat) : value === undefined ? "" : String(value);
  const [text, setText, last] = useDraft(external);
  return (
    <input
      {...common}
      type="number"
      step={integer ? 1 : "any"}
      min={schema.minimum ?? schema.exclusiveMinimum}
      max={schema.maximum ?? schema.exclusiveMaximum}
      placeholder={shownDefault(schema)}
      value={text}
      onChange={(e) => {
        const raw = e.target.value;
        setText(raw);
        if (e.target.validity?.badInput) {
          onLocalError(path, `expected ${integer ? "an integer" : "a number"}`);
          return;
        }
        onLocalError(path, null);
        const parsed = raw.trim() === "" ? undefined : Number(raw);
        const typedFloat = parsed !== undefined && !integer && isFloatText(raw); // "1.0" stays a float
        last.current = parsed === undefined ? "" : formatNumber(parsed, typedFloat);
        onFloats(at, typedFloat ? [[]] : []);
        onChange(parsed);
      }}
    />
  );
}

function ListInput(props: FieldProps & { common: Common }) {
  const { value, schema, root, onChange, onLocalError, path, common, at, floats, onFloats } = props;
  const itemType = String(resolveSchema(root, schema.items ?? {}).type);
  const show = (items: Json[], isFloat: (n: number) => boolean) =>
    items.map((v, n) => (typeof v === "number" ? formatNumber(v, isFloat(n)) : String(v))).join(", ");
  const external = Array.isArray(value) ? show(value, (n) => floats.has(pathKey([...at, n]))) : "";
  const [text, setText, last] = useDraft(external);
  const fallback = Array.isArray(schema.default) ? show(schema.default as Json[], (n) => schemaFloat(schema, ["default", n])) : "";
  return (
    <input
      {...common}
      type="text"
      value={text}
      placeholder={fallback ? `${fallback} (comma-separated)` : "comma-separated"}
      onChange={(e) => {
        const raw = e.target.value;
        setText(raw);
        if (raw.trim() === "") {
          last.current = "";
          onLocalError(path, null);
          onFloats(at, []);
          onChange(undefined);
          return;
        }
        const parts = raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
        let items: Json[] = parts;
        const typed: Path[] = [];
        if (itemType !== "string") {
          const nums = parts.map(Number);
          if (nums.some((n) => !Number.isFinite(n))) {
            onLocalError(path, `expected ${itemType === "integer" ? "integers" : "numbers"}, separated by commas`);
            return;
          }
          items = nums;
          if (itemType === "number") parts.forEach((part, n) => isFloatText(part) && typed.push([n]));
        }
        onLocalError(path, null);
        last.current = show(items, (n) => typed.some((p) => p[0] === n));
        onFloats(at, typed);
        onChange(items);
      }}
    />
  );
}

function JsonInput(props: FieldProps & { common: Common }) {
  const { value, onChange, onLocalError, path, common, schema, at, floats, onFloats } = props;
  const external = value === undefined ? "" : stringifyJson(value, floatsAt(floats, at), 1);
  const [text, setText, last] = useDraft(external);
  return (
    <textarea
      {...common}
      rows={Math.min(6, Math.max(2, text.split("\n").length))}
      value={text}
      placeholder={shownDefault(schema) || "JSON"}
      spellCheck={false}
      onChange={(e) => {
        const raw = e.target.value;
        setText(raw);
        if (raw.trim() === "") {
          last.current = "";
          onLocalError(path, null);
          onFloats(at, []);
          onChange(undefined);
          return;
        }
        try {
          const parsed = parseJson(raw); // keeps which numbers were typed as floats (1.0)
          onLocalError(path, null);
          last.current = stringifyJson(parsed.value, parsed.floats, 1);
          onFloats(at, parsed.floats);
          onChange(parsed.value);
        } catch (err) {
          onLocalError(path, `not valid JSON: ${(err as Error).message}`);
        }
      }}
    />
  );
}
