// First display: a pipeline built in code has Python's default positions (one row, 280 px apart)
// or nodes on top of each other; lay it out (dagre, left to right) before the first draw.
import { NODE_WIDTH, nodeHeight } from "./geometry";
import { movePositions } from "./graph";
import { layoutPositions } from "./layout";
import { needsLayout } from "./placement";
import type { CardInfo, GraphDoc } from "./types";

/** `doc` laid out when it needs it (placement.ts `needsLayout`), else `doc` itself. */
export function firstLayout(doc: GraphDoc, cards: Map<string, CardInfo>): GraphDoc {
  if (!needsLayout(doc, cards)) return doc;
  const types = new Map(doc.nodes.map((n) => [n.id, n.data.card_type]));
  const positions = layoutPositions(doc, () => undefined, (id) => {
    const card = cards.get(types.get(id) ?? "");
    return { width: NODE_WIDTH, height: nodeHeight(Object.keys(card?.inputs ?? {}).length, Object.keys(card?.outputs ?? {}).length) };
  });
  return movePositions(doc, positions);
}
