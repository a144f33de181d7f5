// The console panel: log lines of the current run, newest at the bottom.
import { useEffect, useRef } from "react";
import { useCanvas } from "../context";
import { useTrait } from "../store";

export function Console({ onClose }: { onClose: () => void }) {
  const { model } = useCanvas();
  const logs = useTrait(model, "logs");
  const status = useTrait(model, "status");
  const box = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const el = box.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [logs]);
  return (
    <div className="trc-console" data-testid="console">
      <div className="trc-console-head">
        <span>Console</span>
        <span className="trc-muted">
          {status?.run_id ? `run ${status.run_id} · ${status.state}` : "no run yet"}
          {status?.execution_time != null ? ` · ${status.execution_time.toFixed(2)} s` : ""}
        </span>
        <button type="button" className="trc-icon-btn" onClick={onClose} aria-label="Hide console">
          ×
        </button>
      </div>
      <pre className="trc-console-text" ref={box}>
        {status?.error ? <span className="trc-console-error">{status.error + "\n"}</span> : null}
        {(logs ?? []).filter((l) => !l.run_id || !status?.run_id || l.run_id === status.run_id).map((l, i) => ( // this run's lines only
          <span key={i}>
            <span className="trc-console-node">{l.node_id ?? "-"}</span> {l.text}
            {"\n"}
          </span>
        ))}
      </pre>
    </div>
  );
}
