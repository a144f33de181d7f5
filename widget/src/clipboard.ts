// Copy / paste / duplicate of nodes: the copied nodes with the edges between them; a paste gets new
// unique ids (the Pipeline's `{card_type}-{n}` scheme), keeps those internal edges and lands offset.
import { edgeId, newNodeId } from "./graph";
import type { DocEdge, DocNode, GraphDoc } from "./types";

/** The offset of a pasted copy from its original (again for each further paste of the same copy). */
export const PASTE_OFFSET = 40;

export interface Clip {
  nodes: DocNode[];
  edges: DocEdge[];
  pastes: number;
}

let clip: Clip | null = null; // one clipboard for every canvas on the page: copy in one, paste in another

/** The selected nodes of `doc` and the edges between them. */
export function copyOf(doc: GraphDoc, ids: Set<string>): Clip | null {
  const nodes = doc.nodes.filter((n) => ids.has(n.id));
  if (!nodes.length) return null;
  const edges = doc.edges.filter((e) => ids.has(e.source) && ids.has(e.target));
  return { nodes: structuredClone(nodes), edges: structuredClone(edges), pastes: 0 };
}

export function setClipboard(value: Clip | null): void {
  clip = value;
}

export function getClipboard(): Clip | null {
  return clip;
}

/** `doc` with a copy of `from` added: new ids, positions offset by `times` x PASTE_OFFSET. Returns the new ids. */
export function pasteInto(doc: GraphDoc, from: Clip, times = 1): [GraphDoc, string[]] {
  let next: GraphDoc = { ...doc, nodes: [...doc.nodes], edges: [...doc.edges] };
  const rename = new Map<string, string>();
  const d = PASTE_OFFSET * times;
  for (const n of from.nodes) {
    const id = newNodeId(next, n.data.card_type);
    rename.set(n.id, id);
    const node: DocNode = {
      ...structuredClone(n),
      id,
      position: { x: Math.round(Number(n.position?.x ?? 0) + d), y: Math.round(Number(n.position?.y ?? 0) + d) },
    };
    next = { ...next, nodes: [...next.nodes, node], nodeCounter: (next.nodeCounter ?? next.nodes.length) + 1 };
  }
  for (const e of from.edges) {
    const source = rename.get(e.source)!;
    const target = rename.get(e.target)!;
    const out = e.data.source_output;
    const inp = e.data.target_input;
    next.edges.push({
      ...structuredClone(e),
      id: edgeId(source, out, target, inp),
      source,
      target,
      sourceHandle: out,
      targetHandle: inp,
    });
  }
  return [next, [...rename.values()]];
}
