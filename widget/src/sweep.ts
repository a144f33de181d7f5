// A sweep on the canvas (trait `sweep`, tensorrag/widget/_sweep.py): its shape, the selected branch, and
// the run status a node of the original graph shows (aggregated over its copies, or one branch's).
import { useCallback, useSyncExternalStore } from "react";
import { Observable, type Model } from "./store";
import type { Json, JsonObject } from "./types";
import { nodeSeconds } from "./runinfo";

export interface SweepNode {
  /** N for the swept part (the swept nodes and their descendants), 1 for shared nodes. */
  copies: number;
  swept: boolean;
  /** Space key -> the values swept (only for the swept nodes). */
  values: Record<string, Json[]>;
  counts: Record<string, number>;
  status: string;
  message: string;
}

export interface SweepTableData {
  columns: string[];
  rows: Record<string, Json>[];
  best: number | null;
}

/** Trait `sweep` (absent on a pipeline's canvas). */
export interface SweepState {
  keys: string[];
  size: number;
  search: string;
  mode: "max" | "min";
  objective: string | null;
  metrics: string[];
  nodes: Record<string, SweepNode>;
  branches: { config: JsonObject; nodes: Record<string, string> }[];
  table: SweepTableData | null;
  state: string;
  error?: string;
}

const selections = new WeakMap<object, Observable<number | null>>();

/** The branch picked in the results table (every view of one model shares it); null: all branches. */
export function branchSelection(model: Model): Observable<number | null> {
  let obs = selections.get(model);
  if (!obs) {
    obs = new Observable<number | null>(null);
    selections.set(model, obs);
  }
  return obs;
}

/** Subscribe to the sweep and status traits and the selected branch; `select` must return a primitive. */
export function useSweepSelect<T extends string | number | null>(model: Model, select: (sweep: SweepState | undefined, branch: number | null) => T): T {
  const obs = branchSelection(model);
  const subscribe = useCallback(
    (cb: () => void) => {
      model.on("change:sweep", cb);
      model.on("change:status", cb);
      const off = obs.subscribe(cb);
      return () => {
        model.off("change:sweep", cb);
        model.off("change:status", cb);
        off();
      };
    },
    [model, obs],
  );
  return useSyncExternalStore(subscribe, () => select(model.get("sweep"), obs.get()));
}

const SEP = "\u0001";

/**
 * The run key (status, progress current, total, message, seconds: CardNode's format) a node of a sweep shows:
 * the selected branch's copy, else the summary over its copies; "" for a shared node or no sweep.
 */
export function useSweepRunKey(model: Model, id: string): string {
  return useSweepSelect(model, (sweep, branch) => {
    const node = sweep?.nodes?.[id];
    if (!node || node.copies <= 1) return "";
    if (branch !== null) {
      const rec = model.get("status")?.nodes?.[`${id}:${branch}`];
      if (!rec) return ["pending", "", "", `branch ${branch}: not started`, ""].join(SEP);
      const p = rec.progress;
      const secs = rec.status === "running" ? null : nodeSeconds(rec);
      return [rec.status, p ? p.current : "", p ? p.total : "", `branch ${branch}: ${rec.message || rec.status}`, secs ?? ""].join(SEP);
    }
    return node.status ? [node.status, "", "", node.message, ""].join(SEP) : "";
  });
}

export function fmtValue(v: Json | undefined): string {
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(5)));
  if (v === null || v === undefined) return "—";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}
