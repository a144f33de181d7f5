// The side-panel form generated from a card's config_schema. Fields are checked as you type with
// the same rules Python uses (schema.ts); a valid config is applied to the pipeline after a short
// pause, and what the kernel refuses comes back as problems and is marked too.
import { useEffect, useMemo, useRef, useState } from "react";
import type { Json, JsonObject, JsonSchema, Problem } from "../types";
import { resolveSchema, validateConfig } from "../schema";

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
}

const APPLY_DELAY_MS = 250;

function stableKey(value: unknown): string {
  return JSON.stringify(value ?? null);
}

export function ConfigForm({
  nodeId,
  schema,
  config,
  problems,
  onApply,
}: {
  nodeId: string;
  schema: JsonSchema;
  config: JsonObject;
  problems: Problem[];
  onApply: (config: JsonObject) => void;
}) {
  const props = schema.properties ?? {};
  const configKey = stableKey(config);
  const [draft, setDraft] = useState<JsonObject>(config);
  const [dirty, setDirty] = useState(false);
  const [localErrors, setLocalErrors] = useState<Record<string, string>>({});
  const applied = useRef(configKey);

  // A new node, or its config changed elsewhere (Python, another view): start from the truth.
  useEffect(() => {
    applied.current = configKey;
    setDraft(config);
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
      if (stableKey(draft) !== applied.current) {
        applied.current = stableKey(draft);
        onApply(draft);
      }
      setDirty(false);
    }, APPLY_DELAY_MS);
    return () => clearTimeout(timer);
  }, [draft, dirty, blocked, onApply]);

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
  return "default" in schema ? JSON.stringify(schema.default) : "";
}

function Field(props: FieldProps) {
  const { name, path, root, value, required, marks, onChange, onLocalError } = props;
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
    const current = value === undefined ? "" : JSON.stringify(value);
    control = (
      <select {...common} value={current} onChange={(e) => onChange(e.target.value === "" ? undefined : JSON.parse(e.target.value))}>
        <option value="">{"default" in schema ? `default (${String(schema.default)})` : "(not set)"}</option>
        {options.map((o) => (
          <option key={JSON.stringify(o)} value={JSON.stringify(o)}>
            {String(o)}
          </option>
        ))}
        {value !== undefined && !options.some((o) => JSON.stringify(o) === current) ? (
          <option value={current}>{String(value)} (invalid)</option>
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
    const options = resolveSchema(root, schema.items ?? {}).enum ?? [];
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
                  onChange(options.filter((x) => next.some((c) => JSON.stringify(c) === JSON.stringify(x))));
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
            onChange={(v) => {
              const next = { ...obj };
              if (v === undefined) delete next[sub];
              else next[sub] = v;
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
  const { value, schema, onChange, onLocalError, path, integer, common } = props;
  const external = typeof value === "number" ? String(value) : value === undefined ? "" : String(value);
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
        last.current = parsed === undefined ? "" : String(parsed);
        onChange(parsed);
      }}
    />
  );
}

function ListInput(props: FieldProps & { common: Common }) {
  const { value, schema, root, onChange, onLocalError, path, common } = props;
  const itemType = String(resolveSchema(root, schema.items ?? {}).type);
  const external = Array.isArray(value) ? value.map(String).join(", ") : "";
  const [text, setText, last] = useDraft(external);
  const fallback = Array.isArray(schema.default) ? (schema.default as Json[]).map(String).join(", ") : "";
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
          onChange(undefined);
          return;
        }
        const parts = raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
        let items: Json[] = parts;
        if (itemType !== "string") {
          const nums = parts.map(Number);
          if (nums.some((n) => !Number.isFinite(n))) {
            onLocalError(path, `expected ${itemType === "integer" ? "integers" : "numbers"}, separated by commas`);
            return;
          }
          items = nums;
        }
        onLocalError(path, null);
        last.current = items.map(String).join(", ");
        onChange(items);
      }}
    />
  );
}

function JsonInput(props: FieldProps & { common: Common }) {
  const { value, onChange, onLocalError, path, common, schema } = props;
  const external = value === undefined ? "" : JSON.stringify(value, null, 1);
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
          onChange(undefined);
          return;
        }
        try {
          const parsed = JSON.parse(raw) as Json;
          onLocalError(path, null);
          last.current = JSON.stringify(parsed, null, 1);
          onChange(parsed);
        } catch (err) {
          onLocalError(path, `not valid JSON: ${(err as Error).message}`);
        }
      }}
    />
  );
}
