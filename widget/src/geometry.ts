// Card node geometry. The stylesheet fixes these sizes, so a node's size and its ports' positions
// are known before React Flow measures anything (initial sizes, the first viewport, and the
// edges drawn for big graphs zoomed out all use them).
export const NODE_WIDTH = 190;
/** From the node's top edge to its first port row: top border 4 + head 24 + sub 18 + ports border 1 + padding 2. */
export const PORTS_TOP = 49;
export const PORT_ROW = 20;

export function nodeHeight(inputs: number, outputs: number): number {
  const rows = inputs + outputs;
  return rows ? PORTS_TOP + rows * PORT_ROW + 3 : 47; // head 24 + sub 18 + borders 5 when it has no ports
}

/** Offset of port row `row` (inputs first, then outputs) from the node's top-left corner. */
export function portY(row: number): number {
  return PORTS_TOP + row * PORT_ROW + PORT_ROW / 2;
}

/** Graphs bigger than this cull off-screen elements and, zoomed out below LOD_ZOOM, draw compact nodes. */
export const BIG_GRAPH = 300;
export const LOD_ZOOM = 0.35;
