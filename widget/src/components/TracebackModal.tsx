// The traceback of a failed node, opened from its card's error line.
import { useEffect } from "react";
import { useCanvas } from "../context";
import { useObservable, useTrait } from "../store";

export function TracebackModal() {
  const { model, traceback } = useCanvas();
  const nodeId = useObservable(traceback);
  const previews = useTrait(model, "previews");
  const status = useTrait(model, "status");
  useEffect(() => {
    if (!nodeId) return;
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && traceback.set(null);
    // capture: the canvas stops its keys from bubbling out to the notebook
    document.addEventListener("keydown", onKey, true);
    return () => document.removeEventListener("keydown", onKey, true);
  }, [nodeId, traceback]);
  if (!nodeId) return null;
  const err = previews?.[nodeId]?.error;
  const message = status?.nodes?.[nodeId]?.message ?? "";
  return (
    <div className="trc-modal" role="dialog" aria-label={`Traceback of ${nodeId}`} data-testid="traceback-modal" onClick={() => traceback.set(null)}>
      <div className="trc-modal-box" onClick={(e) => e.stopPropagation()}>
        <div className="trc-console-head">
          <span>
            Node <b>{nodeId}</b> failed
          </span>
          <button type="button" className="trc-btn" onClick={() => navigator.clipboard?.writeText(err?.traceback || message)}>
            Copy
          </button>
          <button type="button" className="trc-icon-btn" onClick={() => traceback.set(null)} aria-label="Close" data-testid="traceback-close">
            ×
          </button>
        </div>
        <div className="trc-error-view">
          <div className="trc-error-title">{err ? `${err.type}: ${err.message}` : message || "No error details were recorded."}</div>
          {err?.traceback ? <pre className="trc-traceback" data-testid="traceback-text">{err.traceback}</pre> : null}
        </div>
      </div>
    </div>
  );
}
