// The run timeline (Gantt): one bar per node from its start to its end, coloured by status.
import { useEffect, useState } from "react";
import { useReactFlow } from "@xyflow/react";
import { useCanvas } from "../context";
import { useTrait } from "../store";
import { STATUS_COLORS, formatSeconds, formatWhen, timelineRows } from "../runinfo";

const TICK_MS = 250;

export function Timeline({ onClose }: { onClose: () => void }) {
  const { model } = useCanvas();
  const status = useTrait(model, "status");
  const rf = useReactFlow();
  const running = status?.state === "running" || status?.state === "starting";
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!running) return;
    const t = setInterval(() => setNow(Date.now()), TICK_MS); // running bars grow
    return () => clearInterval(t);
  }, [running]);
  const rows = timelineRows(status, running ? now : Date.now());
  const t0 = rows.length ? Math.min(...rows.map((r) => r.start)) : 0;
  const t1 = rows.length ? Math.max(...rows.map((r) => r.end)) : 0;
  const span = Math.max(t1 - t0, 1);
  return (
    <div className="trc-panel trc-timeline" data-testid="timeline">
      <div className="trc-console-head">
        <span>
          Timeline{status?.run_id ? ` · run ${status.run_id}` : ""}
          {rows.length ? ` · ${formatSeconds((t1 - t0) / 1000)}` : ""}
          {status?.reopened ? " · past run" : ""}
        </span>
        <button type="button" className="trc-icon-btn" onClick={onClose} aria-label="Close timeline">
          ×
        </button>
      </div>
      <div className="trc-panel-body">
        {!rows.length ? (
          <div className="trc-muted">No node has run yet: run the pipeline, or open a past run from History.</div>
        ) : (
          <>
            <div className="trc-tl-axis">
              <span>{formatWhen(new Date(t0).toISOString())}</span>
              <span>+{formatSeconds(span / 1000)}</span>
            </div>
            {rows.map((r) => (
              <button
                type="button"
                key={r.id}
                className="trc-tl-row"
                data-testid={`tl-${r.id}`}
                data-status={r.status}
                title={`${r.id}: ${r.status}${r.seconds !== null ? `, ${formatSeconds(r.seconds)}` : ""} (click to show it)`}
                onClick={() => rf.fitView({ nodes: [{ id: r.id }], padding: 0.6, duration: 200, maxZoom: 1.2 })}
              >
                <span className="trc-tl-label">{r.id}</span>
                <span className="trc-tl-track">
                  <span
                    className="trc-tl-bar"
                    style={{
                      left: `${(100 * (r.start - t0)) / span}%`,
                      width: `max(3px, ${(100 * (r.end - r.start)) / span}%)`,
                      background: STATUS_COLORS[r.status] ?? "#64748b",
                    }}
                  />
                </span>
                <span className="trc-tl-time">{r.status === "cached" ? "cached" : formatSeconds(r.seconds)}</span>
              </button>
            ))}
          </>
        )}
      </div>
    </div>
  );
}
