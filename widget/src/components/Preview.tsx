// A finished node's output: paged table, metrics grid, model summary, PNG charts, JSON fallback,
// or the traceback of a failed node.
import { useEffect, useState } from "react";
import { useCanvas } from "../context";
import { useObservable, useTrait } from "../store";
import type { Preview as PreviewData } from "../types";

const PAGE = 10;

export function Preview({ nodeId }: { nodeId: string }) {
  const { model } = useCanvas();
  const previews = useTrait(model, "previews");
  const status = useTrait(model, "status");
  const preview = previews?.[nodeId];
  const state = status?.nodes?.[nodeId]?.status;
  if (!preview) {
    const text =
      state === "running" || state === "pending"
        ? "Running… the output shows here when the node finishes."
        : state === "skipped"
          ? `Skipped: ${status.nodes[nodeId].message || "an upstream node did not complete"}.`
          : "No output yet: run the pipeline (or Run to here).";
    return <div className="trc-muted" data-testid="preview-empty">{text}</div>;
  }
  return (
    <div className="trc-preview" data-testid="preview" data-view={preview.view}>
      {preview.error ? <ErrorView error={preview.error} /> : <DataView preview={preview} />}
      {preview.images.map((img) => (
        <ImageView key={img.port} nodeId={nodeId} runId={preview.run_id} port={img.port} />
      ))}
    </div>
  );
}

function ErrorView({ error }: { error: NonNullable<PreviewData["error"]> }) {
  return (
    <div className="trc-error-view" data-testid="traceback">
      <div className="trc-error-title">
        {error.type}: {error.message}
      </div>
      {error.traceback ? <pre className="trc-traceback">{error.traceback}</pre> : null}
    </div>
  );
}

function DataView({ preview }: { preview: PreviewData }) {
  const data = preview.data;
  if (data === null || data === undefined) return <div className="trc-muted">This node has no preview.</div>;
  if (Array.isArray(data?.rows)) return <TableView rows={data.rows} columns={data.columns} total={data.shape?.rows} />;
  if (data?.train && data?.test) return <SplitView data={data} />;
  if (data?.metrics && typeof data.metrics === "object") return <MetricsView data={data} />;
  if (preview.view === "model_summary" && data?.model_type) return <ModelSummary data={data} />;
  return <JsonView value={data} />;
}

function fmt(v: unknown): string {
  if (typeof v === "number") {
    if (Number.isInteger(v)) return String(v);
    const abs = Math.abs(v);
    return abs !== 0 && (abs < 1e-3 || abs >= 1e6) ? v.toExponential(3) : String(Number(v.toPrecision(5)));
  }
  if (v === null || v === undefined) return "—";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function TableView({ rows, columns, total }: { rows: Record<string, unknown>[]; columns?: { name: string; dtype: string }[]; total?: number }) {
  const [page, setPage] = useState(0);
  const cols = columns?.map((c) => c.name) ?? Object.keys(rows[0] ?? {});
  const pages = Math.max(1, Math.ceil(rows.length / PAGE));
  useEffect(() => setPage(0), [rows]);
  const shown = rows.slice(page * PAGE, page * PAGE + PAGE);
  return (
    <div className="trc-table-wrap" data-testid="table">
      <div className="trc-table-scroll">
        <table className="trc-table">
          <thead>
            <tr>
              {cols.map((c) => (
                <th key={c} title={columns?.find((x) => x.name === c)?.dtype}>
                  {c}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {shown.map((row, i) => (
              <tr key={i}>
                {cols.map((c) => (
                  <td key={c}>{fmt(row[c])}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="trc-pager">
        <button type="button" disabled={page === 0} onClick={() => setPage(page - 1)} aria-label="Previous page">
          ‹
        </button>
        <span data-testid="pager">
          rows {rows.length ? page * PAGE + 1 : 0}–{Math.min(rows.length, (page + 1) * PAGE)} of{" "}
          {total ?? rows.length}
          {total !== undefined && total > rows.length ? ` (first ${rows.length} loaded)` : ""}
        </span>
        <button type="button" disabled={page >= pages - 1} onClick={() => setPage(page + 1)} aria-label="Next page">
          ›
        </button>
      </div>
    </div>
  );
}

function SplitView({ data }: { data: any }) {
  const [part, setPart] = useState<"train" | "test">("train");
  const ratio = data.split_ratio ?? {};
  return (
    <div>
      <div className="trc-tabs trc-tabs-small">
        {(["train", "test"] as const).map((p) => (
          <button type="button" key={p} className={part === p ? "trc-tab trc-tab-on" : "trc-tab"} onClick={() => setPart(p)}>
            {p} ({data[p].row_count} rows{ratio[p] !== undefined ? `, ${Math.round(ratio[p] * 100)}%` : ""})
          </button>
        ))}
      </div>
      <TableView rows={data[part].rows ?? []} total={data[part].row_count} />
    </div>
  );
}

function MetricsView({ data }: { data: any }) {
  const { metrics, chart_ref: _chart, ...rest } = data;
  return (
    <div>
      <div className="trc-metrics" data-testid="metrics">
        {Object.entries(metrics as Record<string, unknown>).map(([name, value]) => (
          <div key={name} className="trc-metric" data-testid={`metric-${name}`}>
            <div className="trc-metric-name">{name}</div>
            <div className="trc-metric-value">{fmt(value)}</div>
          </div>
        ))}
      </div>
      {Object.keys(rest).length ? <JsonView value={rest} collapsed /> : null}
    </div>
  );
}

function ModelSummary({ data }: { data: any }) {
  const { model_type, hyperparameters, ...rest } = data;
  const params = Object.entries((hyperparameters ?? {}) as Record<string, unknown>);
  return (
    <div data-testid="model-summary">
      <div className="trc-model-type">{String(model_type)}</div>
      {params.length ? (
        <table className="trc-table trc-kv">
          <tbody>
            {params.map(([k, v]) => (
              <tr key={k}>
                <th>{k}</th>
                <td>{fmt(v)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <div className="trc-muted">default hyperparameters</div>
      )}
      {Object.keys(rest).length ? <JsonView value={rest} /> : null}
    </div>
  );
}

function JsonView({ value, collapsed = false }: { value: unknown; collapsed?: boolean }) {
  const text = JSON.stringify(value, null, 2);
  if (collapsed) {
    return (
      <details className="trc-json-details">
        <summary>more ({Object.keys(value as object).join(", ")})</summary>
        <pre className="trc-json">{text}</pre>
      </details>
    );
  }
  return (
    <pre className="trc-json" data-testid="json">
      {text}
    </pre>
  );
}

function ImageView({ nodeId, runId, port }: { nodeId: string; runId: string; port: string }) {
  const { model, shared } = useCanvas();
  const images = useObservable(shared.images);
  const key = `${runId}/${nodeId}/${port}`;
  const entry = images[key];
  useEffect(() => {
    if (entry === undefined) {
      shared.images.set({ ...shared.images.get(), [key]: "loading" });
      model.send({ type: "image", node_id: nodeId, port });
    }
  }, [entry, key, model, nodeId, port, shared]);
  if (!entry || entry === "loading") return <div className="trc-muted">loading {port}…</div>;
  if ("error" in entry) return <div className="trc-field-error">{entry.error}</div>;
  return (
    <figure className="trc-figure">
      <img src={`data:${entry.mime};base64,${entry.data}`} alt={`${nodeId}.${port}`} data-testid={`image-${port}`} />
      <figcaption>{port}</figcaption>
    </figure>
  );
}
