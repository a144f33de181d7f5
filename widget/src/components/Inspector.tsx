// The side panel of the selected node: its config form, its output and its console lines.
import { useCallback, useMemo, useState } from "react";
import { useCanvas } from "../context";
import { useTrait } from "../store";
import { categoryColor } from "../graph";
import type { DocNode, JsonObject } from "../types";
import { ConfigForm } from "./ConfigForm";
import { floatsUnder, type Path } from "../floats";
import { Preview } from "./Preview";

type Tab = "config" | "output" | "logs";

export function Inspector({
  node,
  onConfig,
  onRemove,
  onRunTo,
  onClose,
  running,
}: {
  node: DocNode;
  onConfig: (nodeId: string, config: JsonObject, floats?: Path[]) => void;
  onRemove: (nodeId: string) => void;
  onRunTo: (nodeId: string) => void;
  onClose: () => void;
  running: boolean;
}) {
  const { model, cards } = useCanvas();
  const [tab, setTab] = useState<Tab>("config");
  const problems = useTrait(model, "problems");
  const status = useTrait(model, "status");
  const card = cards.get(node.data.card_type);
  const mine = (problems ?? []).filter((p) => p.node_id === node.id);
  const rec = status?.nodes?.[node.id];
  const apply = useCallback((config: JsonObject, floats: Path[]) => onConfig(node.id, config, floats), [node.id, onConfig]);
  const configFloats = useMemo(() => floatsUnder(node.data, ["config"]), [node.data]);
  const configFields = new Set(Object.keys(card?.json_schema?.properties ?? {}));
  const nodeProblems = mine.filter((p) => !p.field || !configFields.has(p.field.split(/[.[]/)[0]));
  return (
    <aside className="trc-inspector" data-testid="inspector" data-node={node.id}>
      <div className="trc-inspector-head" style={{ borderTopColor: categoryColor(card?.category) }}>
        <div>
          <div className="trc-inspector-title">{card?.display_name ?? node.data.card_type}</div>
          <div className="trc-muted">
            {node.id} · {node.data.card_type}
            {rec ? (
              <>
                {" · "}
                <span className={`trc-badge trc-badge-${rec.status}`}>{rec.status}</span>
              </>
            ) : null}
          </div>
        </div>
        <button type="button" className="trc-icon-btn" onClick={onClose} aria-label="Close panel" title="Close">
          ×
        </button>
      </div>
      {card?.description ? <div className="trc-help trc-inspector-desc">{card.description}</div> : null}
      {nodeProblems.length ? (
        <ul className="trc-node-problems" data-testid="node-problems">
          {nodeProblems.map((p, i) => (
            <li key={i}>{p.message}</li>
          ))}
        </ul>
      ) : null}
      <div className="trc-tabs">
        {(["config", "output", "logs"] as Tab[]).map((t) => (
          <button
            type="button"
            key={t}
            className={tab === t ? "trc-tab trc-tab-on" : "trc-tab"}
            data-testid={`tab-${t}`}
            onClick={() => setTab(t)}
          >
            {t === "config" ? "Config" : t === "output" ? "Output" : "Logs"}
          </button>
        ))}
      </div>
      <div className="trc-inspector-body">
        {tab === "config" ? (
          card ? (
            <ConfigForm nodeId={node.id} schema={card.json_schema} config={node.data.config} floats={configFloats} problems={mine} onApply={apply} />
          ) : (
            <div className="trc-muted">Unknown card type {node.data.card_type}: register it to configure this node.</div>
          )
        ) : tab === "output" ? (
          <Preview nodeId={node.id} />
        ) : (
          <NodeLogs nodeId={node.id} />
        )}
      </div>
      <div className="trc-inspector-foot">
        <button type="button" className="trc-btn" disabled={running || !card} onClick={() => onRunTo(node.id)}>
          ▶ Run to here
        </button>
        <button type="button" className="trc-btn trc-btn-danger" onClick={() => onRemove(node.id)}>
          Delete node
        </button>
      </div>
    </aside>
  );
}

function NodeLogs({ nodeId }: { nodeId: string }) {
  const { model } = useCanvas();
  const logs = useTrait(model, "logs");
  const lines = (logs ?? []).filter((l) => l.node_id === nodeId);
  if (!lines.length) return <div className="trc-muted">No console output from this node in the current run.</div>;
  return <pre className="trc-console-text">{lines.map((l) => l.text).join("\n")}</pre>;
}
