// Auto-layout (left to right) with dagre; node sizes are the measured ones when React Flow knows them.
import { Graph, layout } from "@dagrejs/dagre";
import type { GraphDoc } from "./types";

export interface Size {
  width: number;
  height: number;
}

export function layoutPositions(
  doc: GraphDoc,
  sizeOf: (id: string) => Size | undefined,
  fallback: (id: string) => Size,
): Map<string, { x: number; y: number }> {
  const g = new Graph({ multigraph: true });
  g.setGraph({ rankdir: "LR", nodesep: 36, ranksep: 90, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of doc.nodes) {
    const size = sizeOf(n.id) ?? fallback(n.id);
    g.setNode(n.id, { width: size.width, height: size.height });
  }
  for (const e of doc.edges) {
    if (g.hasNode(e.source) && g.hasNode(e.target)) g.setEdge(e.source, e.target, {}, e.id);
  }
  layout(g);
  const out = new Map<string, { x: number; y: number }>();
  for (const n of doc.nodes) {
    const p = g.node(n.id) as { x: number; y: number; width: number; height: number } | undefined;
    if (p) out.set(n.id, { x: p.x - p.width / 2, y: p.y - p.height / 2 }); // dagre gives centres
  }
  return out;
}
