// The edges of a big graph seen from afar, as one SVG path in flow coordinates (instead of one
// React Flow edge component per edge): what makes a 1,000-node pipeline draw in well under a second.
import { memo, useMemo } from "react";
import { ViewportPortal } from "@xyflow/react";
import type { Edge } from "@xyflow/react";
import { NODE_WIDTH, portY } from "../geometry";
import type { CardFlowNode } from "./CardNode";

function EdgeOverlayView({ nodes, edges }: { nodes: CardFlowNode[]; edges: Edge[] }) {
  const [d, count] = useMemo(() => {
    const byId = new Map(nodes.map((n) => [n.id, n]));
    const parts: string[] = [];
    for (const e of edges) {
      const s = byId.get(e.source);
      const t = byId.get(e.target);
      if (!s || !t || s.hidden || t.hidden) continue;
      const out = s.data.outputs.findIndex(([p]) => p === e.sourceHandle);
      const inp = t.data.inputs.findIndex(([p]) => p === e.targetHandle);
      const sx = s.position.x + (s.measured?.width ?? NODE_WIDTH);
      const sy = s.position.y + portY(s.data.inputs.length + Math.max(0, out));
      const tx = t.position.x;
      const ty = t.position.y + portY(Math.max(0, inp));
      const dx = Math.max(40, Math.abs(tx - sx) / 2);
      parts.push(`M${sx},${sy}C${sx + dx},${sy} ${tx - dx},${ty} ${tx},${ty}`);
    }
    return [parts.join(""), parts.length];
  }, [nodes, edges]);
  return (
    <ViewportPortal>
      <svg className="trc-edge-overlay" width="1" height="1" data-edges={count} data-testid="edge-overlay">
        <path d={d} />
      </svg>
    </ViewportPortal>
  );
}

export const EdgeOverlay = memo(EdgeOverlayView);
