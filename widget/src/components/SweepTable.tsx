// A sweep's results (SweepResult.table) under the canvas: sortable by any column, the best branch
// highlighted; clicking a row shows that branch on the canvas (its values, its nodes' statuses).
import { useMemo, useState } from "react";
import { useCanvas } from "../context";
import { useObservable, useTrait } from "../store";
import { branchSelection, fmtValue } from "../sweep";
import type { Json } from "../types";
import "./Sweep.css";

type Sort = { col: string; dir: 1 | -1 } | null;

/** Numbers by value, then text; empty cells last whichever the direction. */
function compare(a: Json | undefined, b: Json | undefined, dir: 1 | -1): number {
  const na = a === null || a === undefined;
  const nb = b === null || b === undefined;
  if (na || nb) return na === nb ? 0 : na ? 1 : -1;
  if (typeof a === "number" && typeof b === "number") return dir * (a - b);
  return dir * fmtValue(a).localeCompare(fmtValue(b), undefined, { numeric: true });
}

export function SweepTable() {
  const { model } = useCanvas();
  const sweep = useTrait(model, "sweep");
  const selection = branchSelection(model);
  const selected = useObservable(selection);
  const [sort, setSort] = useState<Sort>(null);
  const [open, setOpen] = useState(true);
  const table = sweep?.table;
  const rows = useMemo(() => {
    const all = [...(table?.rows ?? [])];
    if (sort) all.sort((x, y) => compare(x[sort.col], y[sort.col], sort.dir) || Number(x.branch) - Number(y.branch));
    return all;
  }, [table, sort]);
  if (!sweep?.keys) return null;
  const best = table?.best ?? null;
  const columns = (table?.columns ?? ["branch", ...sweep.keys]).filter((c) => c !== "error" || rows.some((r) => r.error));
  const onHeader = (col: string) =>
    setSort((s) => (s?.col === col ? { col, dir: s.dir === 1 ? -1 : 1 } : { col, dir: col === sweep.objective && sweep.mode === "max" ? -1 : 1 }));
  const config = selected !== null ? sweep.branches?.[selected]?.config : undefined;
  return (
    <div className={`trc-sweep${open ? "" : " trc-sweep-closed"}`} data-testid="sweep-table">
      <div className="trc-console-head">
        <span>
          Sweep · {sweep.size} {sweep.search} branches
          {sweep.objective ? ` · ${sweep.mode} ${sweep.objective}` : ""}
          {best !== null ? ` · best: branch ${best}` : ""}
        </span>
        {config ? (
          <span className="trc-sweep-picked" data-testid="sweep-picked">
            branch {selected}: {Object.entries(config).map(([k, v]) => `${k}=${fmtValue(v)}`).join(", ")}
            <button type="button" className="trc-btn" onClick={() => selection.set(null)} data-testid="sweep-all">
              All branches
            </button>
          </span>
        ) : null}
        <button type="button" className="trc-icon-btn" onClick={() => setOpen((v) => !v)} aria-label={open ? "Collapse" : "Expand"}>
          {open ? "▾" : "▸"}
        </button>
      </div>
      {open ? (
        <div className="trc-sweep-scroll">
          {table ? (
            <table className="trc-table">
              <thead>
                <tr>
                  {columns.map((c) => (
                    <th
                      key={c}
                      onClick={() => onHeader(c)}
                      data-testid={`sweep-col-${c}`}
                      aria-sort={sort?.col === c ? (sort.dir === 1 ? "ascending" : "descending") : "none"}
                      title={`Sort by ${c}`}
                    >
                      {c}
                      {sort?.col === c ? (sort.dir === 1 ? " ▲" : " ▼") : ""}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => {
                  const i = Number(r.branch);
                  return (
                    <tr
                      key={i}
                      data-testid={`sweep-row-${i}`}
                      data-best={i === best ? "true" : undefined}
                      className={`${i === best ? "trc-sweep-best" : ""}${i === selected ? " trc-sweep-selected" : ""}`}
                      onClick={() => selection.set(i === selected ? null : i)}
                      title={i === best ? "The best branch" : "Show this branch on the canvas"}
                    >
                      {columns.map((c) => (
                        <td key={c} className={c === "status" ? `trc-sweep-status-${String(r.status)}` : undefined} title={c === "error" ? String(r.error ?? "") : undefined}>
                          {c === "branch" && i === best ? `★ ${i}` : fmtValue(r[c])}
                        </td>
                      ))}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          ) : (
            <div className="trc-muted">Not run yet: press Run (or sweep.run(...) in code) and the results show here.</div>
          )}
        </div>
      ) : null}
    </div>
  );
}
