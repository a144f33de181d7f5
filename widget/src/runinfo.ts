// What a run tells about each node, for the cards and the panels: durations, times, status colours.
import type { Json, JsonObject, NodeRunState, RunStatus } from "./types";

/** Fill colours of node states (the stylesheet's --trc-{status} values, for the minimap and timeline). */
export const STATUS_COLORS: Record<string, string> = {
  pending: "#94a3b8",
  running: "#2563eb",
  completed: "#16a34a",
  cached: "#0d9488",
  failed: "#dc2626",
  skipped: "#d97706",
  stale: "#a16207",
};

export function statusColor(status: string | undefined): string | undefined {
  return status ? STATUS_COLORS[status] : undefined;
}

/** Milliseconds since the epoch of an ISO-8601 time, or null. */
export function timeOf(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : null;
}

/** How long a node took: its card's own seconds when known, else end - start (until `now` while running). */
export function nodeSeconds(rec: NodeRunState | undefined, now: number = Date.now()): number | null {
  if (!rec) return null;
  if (typeof rec.seconds === "number" && rec.status !== "running") return rec.seconds;
  const start = timeOf(rec.started);
  if (start === null) return null;
  const end = timeOf(rec.finished) ?? (rec.status === "running" ? now : null);
  return end === null ? null : Math.max(0, (end - start) / 1000);
}

/** 0.42 s, 3.1 s, 2 min 05 s, 1 h 02 min. */
export function formatSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return "";
  if (s < 0.01) return "<0.01 s";
  if (s < 10) return `${s.toFixed(2)} s`;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.round(s % 60)).padStart(2, "0")} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}

/** Local date and time of an ISO-8601 string, short. */
export function formatWhen(iso: string | null | undefined): string {
  const t = timeOf(iso);
  if (t === null) return "";
  const d = new Date(t);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function short(v: Json): string {
  if (v === null) return "null";
  if (typeof v === "string") return v.length > 16 ? `"${v.slice(0, 15)}…"` : `"${v}"`;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return v.length <= 3 && v.every((x) => typeof x !== "object" || x === null) ? `[${v.map(short).join(", ")}]` : `[${v.length} items]`;
  const keys = Object.keys(v);
  return keys.length === 1 && typeof v[keys[0]] !== "object" ? `{${keys[0]}: ${short(v[keys[0]])}}` : `{${keys.length} keys}`;
}

/** The config values shown on a card: the first `max` that are set, as [name, short text]. */
export function keyValues(config: JsonObject | undefined, max = 3): [string, string][] {
  return Object.entries(config ?? {})
    .filter(([, v]) => v !== "" && v !== undefined)
    .slice(0, max)
    .map(([k, v]) => [k, short(v)]);
}

/** Nodes of a run that have a start or an end, with [start, end] in ms (end = now while running). */
export function timelineRows(status: RunStatus | undefined, now: number = Date.now()) {
  const rows: { id: string; status: string; start: number; end: number; seconds: number | null }[] = [];
  for (const [id, rec] of Object.entries(status?.nodes ?? {})) {
    const end = timeOf(rec.finished) ?? (rec.status === "running" ? now : null);
    const start = timeOf(rec.started) ?? end;
    if (start === null || end === null) continue;
    rows.push({ id, status: rec.status, start, end, seconds: nodeSeconds(rec, now) });
  }
  rows.sort((a, b) => a.start - b.start || a.id.localeCompare(b.id));
  return rows;
}
