// A failed card's error line; a click opens its traceback (TracebackModal).
import { useCanvas } from "../context";
import { useTraitSelect } from "../store";

export function ErrorBadge({ nodeId, message }: { nodeId: string; message: string }) {
  const { model, traceback } = useCanvas();
  // The preview's error has the exception's type and message; the status message is the fallback.
  const line = useTraitSelect(model, "previews", (p) => {
    const err = p?.[nodeId]?.error;
    return err ? `${err.type}: ${err.message}` : "";
  });
  const text = (line || message || "failed").split("\n")[0];
  return (
    <button
      type="button"
      className="trc-node-error nodrag"
      data-testid={`error-${nodeId}`}
      title={`${text}\n(click for the traceback)`}
      onClick={(e) => {
        e.stopPropagation();
        traceback.set(nodeId);
      }}
    >
      ✖ {text}
    </button>
  );
}
