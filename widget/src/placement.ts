// Where nodes go when nobody placed them: Python's `p.add(...)` puts a node after the last one
// added (+280 px on x), which after a layout lands on top of another node, and a pipeline built
// in code is one long row. Node sizes come from the card geometry (geometry.ts).
import { NODE_WIDTH, nodeHeight } from "./geometry";
import type { CardInfo, GraphDoc } from "./types";

const GAP_X = 90; // as the layout's ranksep
const GAP_Y = 36; // as the layout's nodesep
/** Pipeline._next_position: the first node at (0, 0), each next one 280 px to the right. */
const PYTHON_STEP = 280;

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export function boxesOf(doc: GraphDoc, cards: Map<string, CardInfo>): Map<string, Box> {
  const out = new Map<string, Box>();
  for (const n of doc?.nodes ?? []) {
    const card = cards.get(n.data.card_type);
    const h = nodeHeight(Object.keys(card?.inputs ?? {}).length, Object.keys(card?.outputs ?? {}).length);
    out.set(n.id, { x: Number(n.position?.x ?? 0), y: Number(n.position?.y ?? 0), w: NODE_WIDTH, h });
  }
  return out;
}

const hits = (a: Box, b: Box) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

function overlapsAny(id: string, box: Box, boxes: Map<string, Box>): boolean {
  for (const [other, b] of boxes) if (other !== id && hits(box, b)) return true;
  return false;
}

/** First display: lay out when no node was placed (Python's default row, all at one spot) or nodes overlap. */
export function needsLayout(doc: GraphDoc, cards: Map<string, CardInfo>): boolean {
  const nodes = doc?.nodes ?? [];
  if (nodes.length < 2 || nodes.length > 300) return false; // a big graph's first draw stays as fast as it is
  const defaultRow = nodes.every(
    (n, i) => Number(n.position?.x ?? 0) === i * PYTHON_STEP && Number(n.position?.y ?? 0) === 0,
  );
  if (defaultRow && (doc.edges ?? []).length > 0) return true;
  const boxes = [...boxesOf(doc, cards).entries()];
  const sorted = boxes.sort((a, b) => a[1].x - b[1].x);
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length && sorted[j][1].x < sorted[i][1].x + sorted[i][1].w; j++) {
      if (hits(sorted[i][1], sorted[j][1])) return true;
    }
  }
  return false;
}

/**
 * Positions for the nodes of `added` that overlap another node: right of their inputs' nodes (or
 * left of their outputs' nodes, or right of the graph), moved down until the spot is free.
 */
export function placeAdded(doc: GraphDoc, cards: Map<string, CardInfo>, added: string[]): Map<string, { x: number; y: number }> {
  const boxes = boxesOf(doc, cards);
  const out = new Map<string, { x: number; y: number }>();
  for (const id of added) {
    const box = boxes.get(id);
    if (!box || !overlapsAny(id, box, boxes)) continue;
    const parents = doc.edges.filter((e) => e.target === id && e.source !== id).map((e) => boxes.get(e.source)).filter(Boolean) as Box[];
    const children = doc.edges.filter((e) => e.source === id && e.target !== id).map((e) => boxes.get(e.target)).filter(Boolean) as Box[];
    const others = [...boxes.entries()].filter(([other]) => other !== id).map(([, b]) => b);
    let x: number;
    let y: number;
    if (parents.length) {
      x = Math.max(...parents.map((b) => b.x + b.w)) + GAP_X;
      y = Math.min(...parents.map((b) => b.y));
    } else if (children.length) {
      x = Math.min(...children.map((b) => b.x)) - GAP_X - box.w;
      y = Math.min(...children.map((b) => b.y));
    } else {
      x = Math.max(...others.map((b) => b.x + b.w)) + GAP_X;
      y = Math.min(...others.map((b) => b.y));
    }
    const spot = { ...box, x: Math.round(x), y: Math.round(y) };
    while (overlapsAny(id, spot, boxes)) spot.y += GAP_Y + 20;
    boxes.set(id, spot);
    out.set(id, { x: spot.x, y: spot.y });
  }
  return out;
}
