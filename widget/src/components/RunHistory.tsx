// Past runs of the project (from their manifests): status, start, duration; "Open" shows one on the canvas.
import { useCallback, useEffect, useState } from "react";
import { useCanvas } from "../context";
import { useTrait, useTraitSelect } from "../store";
import { formatSeconds, formatWhen } from "../runinfo";
import type { RunSummary } from "../types";

const TERMINAL = new Set(["completed", "failed", "cancelled", "invalid"]);

export function RunHistory({ onClose }: { onClose: () => void }) {
  const { model } = useCanvas();
  const status = useTrait(model, "status");
  const state = useTraitSelect(model, "status", (s) => s?.state ?? "idle");
  const [runs, setRuns] = useState<RunSummary[] | null>(null);
  const refresh = useCallback(() => model.send({ type: "runs" }), [model]);
  useEffect(() => {
    const onMessage = (msg: any) => {
      if (msg?.type === "runs" && Array.isArray(msg.runs)) setRuns(msg.runs);
    };
    model.on("msg:custom", onMessage);
    return () => model.off("msg:custom", onMessage);
  }, [model]);
  // Ask again when the panel opens and whenever a run ends (its manifest is then complete).
  useEffect(() => {
    if (state === "idle" || TERMINAL.has(state)) refresh();
  }, [state, refresh]);
  const running = state === "running" || state === "starting";
  return (
    <div className="trc-panel trc-history" data-testid="run-history">
      <div className="trc-console-head">
        <span>Run history{runs ? ` · ${runs.length}` : ""}</span>
        <button type="button" className="trc-btn" onClick={refresh} data-testid="history-refresh">
          Refresh
        </button>
        <button type="button" className="trc-icon-btn" onClick={onClose} aria-label="Close history">
          ×
        </button>
      </div>
      <div className="trc-panel-body">
        {runs === null ? (
          <div className="trc-muted">Loading…</div>
        ) : !runs.length ? (
          <div className="trc-muted">No runs of this project yet.</div>
        ) : (
          <table className="trc-table trc-history-table">
            <thead>
              <tr>
                <th>status</th>
                <th>started</th>
                <th>duration</th>
                <th>nodes</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {runs.map((r) => {
                const nodes = Object.values(r.nodes ?? {});
                const current = r.run_id === status?.run_id;
                return (
                  <tr key={r.run_id} className={current ? "trc-history-current" : undefined} data-testid={`run-${r.run_id}`} title={r.reason || r.error || r.run_id}>
                    <td>
                      <span className={`trc-badge trc-badge-${r.status}`}>{r.status}</span>
                    </td>
                    <td>{formatWhen(r.started_at)}</td>
                    <td>{formatSeconds(r.execution_time)}</td>
                    <td>
                      {nodes.length}
                      {r.failed?.length ? <span className="trc-history-failed"> · {r.failed.length} failed</span> : null}
                    </td>
                    <td>
                      {current ? (
                        <span className="trc-muted">shown</span>
                      ) : (
                        <button
                          type="button"
                          className="trc-btn"
                          disabled={running || r.status === "unreadable"}
                          onClick={() => model.send({ type: "open_run", run_id: r.run_id })}
                          data-testid={`open-${r.run_id}`}
                        >
                          Open
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </div>
    </div>
  );
}
