// One card on the canvas: title, category colour, labelled typed ports, run status and progress.
import { memo, useEffect, useMemo, useRef } from "react";
import { Handle, Position, useStore, useUpdateNodeInternals, type Node, type NodeProps } from "@xyflow/react";
import { useCanvas } from "../context";
import { LOD_ZOOM, nodeHeight } from "../geometry";
import { useTraitSelect } from "../store";
import { TYPE_COLORS } from "../graph";
import { formatSeconds, keyValues, nodeSeconds } from "../runinfo";
import { isCollapsed, toggleCollapsed } from "../ui";
import { ErrorBadge } from "./ErrorBadge";
import { useSweepRunKey } from "../sweep";
import { SweepBadge, SweepSummary } from "./SweepBadge";

export interface CardNodeData extends Record<string, unknown> {
  cardType: string;
  title: string;
  category: string;
  color: string;
  inputs: [string, string][];
  outputs: [string, string][];
  unknown: boolean;
  configKey: string;
  /** Runs skip this node and its descendants (data.disabled). */
  disabled?: boolean;
}

export type CardFlowNode = Node<CardNodeData, "card">;

const SEP = "\u0001";
const zoomedOut = (s: { transform: [number, number, number] }) => s.transform[2] < LOD_ZOOM;

function CardNodeView({ id, data, selected }: NodeProps<CardFlowNode>) {
  const { model, commit } = useCanvas();
  const far = useStore(zoomedOut);
  const compact = far; // any graph seen from afar: titles and status colours, not unreadable ports
  const collapsed = useTraitSelect(model, "graph", (g) => isCollapsed(g, id));
  // Switching between the compact and the full card adds or removes the handles: re-measure them.
  const updateInternals = useUpdateNodeInternals();
  const wasCompact = useRef(`${compact}/${collapsed}`);
  const shape = `${compact}/${collapsed}`;
  useEffect(() => {
    if (wasCompact.current !== shape) {
      wasCompact.current = shape;
      updateInternals(id);
    }
  }, [shape, id, updateInternals]);
  const runKey = useTraitSelect(model, "status", (s) => {
    const rec = s?.nodes?.[id];
    if (!rec) return "";
    const p = rec.progress;
    const secs = rec.status === "running" ? null : nodeSeconds(rec);
    return [rec.status, p ? p.current : "", p ? p.total : "", rec.message ?? "", secs ?? ""].join(SEP);
  });
  const facts = useMemo(() => keyValues(JSON.parse(data.configKey || "{}")), [data.configKey]);
  const problemKey = useTraitSelect(model, "problems", (ps) =>
    (ps ?? [])
      .filter((p) => p.node_id === id)
      .map((p) => `${p.field ?? ""}${SEP}${p.message}`)
      .join("\n"),
  );
  const sweepKey = useSweepRunKey(model, id); // a sweep's copied node: its copies' run, or the picked branch's
  const key = sweepKey || runKey;
  const [status, current, total, message, seconds] = key ? key.split(SEP) : ["", "", "", "", ""];
  const took = status === "cached" ? "cached" : seconds ? formatSeconds(Number(seconds)) : "";
  const problems = problemKey ? problemKey.split("\n").map((line) => line.split(SEP)) : [];
  const badFields = new Set(problems.map(([field]) => field).filter(Boolean));
  const pct = current && total && Number(total) > 0 ? Math.min(100, (100 * Number(current)) / Number(total)) : null;
  const rows = data.inputs.length + data.outputs.length;
  const classes = `trc-node${status ? ` trc-status-${status}` : ""}${selected ? " trc-selected" : ""}${
    data.unknown ? " trc-unknown" : ""
  }${data.disabled ? " trc-disabled" : ""}${collapsed ? " trc-node-collapsed" : ""}`;
  if (compact) {
    // A big graph seen from afar: a box of the same size with the title (ports are unreadable here;
    // the edges are drawn by the canvas). Zoom in and the full card comes back.
    return (
      <div
        className={`${classes} trc-node-compact`}
        data-testid={`node-${id}`}
        data-status={status || "idle"}
        style={{ "--trc-cat": data.color, height: nodeHeight(data.inputs.length, data.outputs.length) } as React.CSSProperties}
      >
        {data.title}
      </div>
    );
  }
  return (
    <div
      className={classes}
      data-testid={`node-${id}`}
      data-status={status || "idle"}
      style={{ "--trc-cat": data.color } as React.CSSProperties}
      title={message || undefined}
    >
      <div className="trc-node-head">
        <button
          type="button"
          className="trc-node-fold nodrag"
          onClick={(e) => {
            e.stopPropagation();
            commit(toggleCollapsed(model.get("graph"), [id]));
          }}
          aria-label={collapsed ? "Expand card" : "Collapse card"}
          title={collapsed ? "Expand card" : "Collapse card"}
          data-testid={`fold-${id}`}
        >
          {collapsed ? "▸" : "▾"}
        </button>
        <span className="trc-node-title">{data.title}</span>
        <SweepBadge nodeId={id} />
        {data.disabled ? <span className="trc-badge trc-badge-disabled" title="Disabled: runs skip it and its descendants">off</span> : null}
        {status ? <span className={`trc-badge trc-badge-${status}`}>{status}</span> : null}
      </div>
      <div className="trc-node-sub">
        <span className="trc-node-id">{id}</span>
        <span className="trc-node-cat">{data.unknown ? `unknown: ${data.cardType}` : data.category}</span>
      </div>
      <SweepSummary nodeId={id} />
      {collapsed ? (
        // Folded: the ports' handles stay (edges keep their ends), stacked at the card's sides.
        <>
          {data.inputs.map(([name, type]) => (
            <Handle key={`in-${name}`} type="target" position={Position.Left} id={name} className="trc-handle" data-port={name} data-type={type} style={{ background: TYPE_COLORS[type] ?? "#64748b" }} />
          ))}
          {data.outputs.map(([name, type]) => (
            <Handle key={`out-${name}`} type="source" position={Position.Right} id={name} className="trc-handle" data-port={name} data-type={type} style={{ background: TYPE_COLORS[type] ?? "#64748b" }} />
          ))}
        </>
      ) : rows > 0 ? (
        <div className="trc-ports">
          {data.inputs.map(([name, type]) => (
            <div className={`trc-port trc-port-in${badFields.has(name) ? " trc-port-bad" : ""}`} key={`in-${name}`}>
              <Handle
                type="target"
                position={Position.Left}
                id={name}
                className="trc-handle"
                data-port={name}
                data-type={type}
                style={{ background: TYPE_COLORS[type] ?? "#64748b" }}
              />
              <span className="trc-port-name">{name}</span>
              <span className="trc-port-type">{type}</span>
            </div>
          ))}
          {data.outputs.map(([name, type]) => (
            <div className="trc-port trc-port-out" key={`out-${name}`}>
              <span className="trc-port-type">{type}</span>
              <span className="trc-port-name">{name}</span>
              <Handle
                type="source"
                position={Position.Right}
                id={name}
                className="trc-handle"
                data-port={name}
                data-type={type}
                style={{ background: TYPE_COLORS[type] ?? "#64748b" }}
              />
            </div>
          ))}
        </div>
      ) : null}
      {!collapsed && (facts.length || took) ? (
        <div className="trc-node-foot" data-testid={`facts-${id}`}>
          <span className="trc-node-facts" title={facts.map(([k, v]) => `${k} = ${v}`).join("\n")}>
            {facts.map(([k, v]) => (
              <span className="trc-kv" key={k}>
                <span className="trc-kv-k">{k}</span> {v}
              </span>
            ))}
          </span>
          {took ? (
            <span className="trc-node-took" data-testid={`took-${id}`} title="How long the node took in this run">
              {took}
            </span>
          ) : null}
        </div>
      ) : null}
      {status === "failed" ? <ErrorBadge nodeId={id} message={message} /> : null}
      {status === "running" ? (
        <div className={`trc-progress${pct === null ? " trc-progress-busy" : ""}`} data-testid={`progress-${id}`}>
          <div style={pct === null ? undefined : { width: `${pct}%` }} />
        </div>
      ) : null}
      {problems.length ? (
        <div className="trc-node-problem" title={problems.map(([, m]) => m).join("\n")}>
          ⚠ {problems.length === 1 ? problems[0][1] : `${problems.length} problems`}
        </div>
      ) : null}
    </div>
  );
}

export const CardNode = memo(CardNodeView);
