// What the canvas does when the graph changes from outside (Python, another view): it keeps the
// user's viewport (an edit in code must not reset zoom and pan), fits only a whole new graph
// (Load, the first nodes), and moves Python-added nodes that landed on another node next to
// their neighbours (placement.ts); the moves go back to Python as ordinary moves.
import { useEffect, useRef } from "react";
import type { Edge, ReactFlowInstance } from "@xyflow/react";
import { movePositions } from "./graph";
import { placeAdded } from "./placement";
import type { CardInfo, GraphDoc } from "./types";
import type { CardFlowNode } from "./components/CardNode";

/** Wait this long for the edges of a new node (`p.add` then `p.connect` arrive as two changes). */
const PLACE_MS = 120;

export function usePlacement(
  doc: GraphDoc,
  committed: { current: GraphDoc | null },
  cards: Map<string, CardInfo>,
  commit: (next: GraphDoc) => void,
  rf: ReactFlowInstance<CardFlowNode, Edge>,
  docRef: { current: GraphDoc },
  fitPadding: number,
): void {
  const seen = useRef<Set<string>>(new Set((doc?.nodes ?? []).map((n) => n.id)));
  const toPlace = useRef<Set<string>>(new Set());
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => {
    const ids = (doc?.nodes ?? []).map((n) => n.id);
    const before = seen.current;
    seen.current = new Set(ids);
    if (doc === committed.current) return; // our own edit
    const added = ids.filter((id) => !before.has(id));
    if (!added.length) return;
    if (!ids.some((id) => before.has(id))) {
      // a whole new graph (Load, or the first nodes): show all of it
      requestAnimationFrame(() => requestAnimationFrame(() => rf.fitView({ padding: fitPadding, duration: 150 })));
      return;
    }
    for (const id of added) toPlace.current.add(id);
    if (timer.current) clearTimeout(timer.current);
    timer.current = setTimeout(() => {
      timer.current = null;
      const current = docRef.current;
      const present = new Set(current.nodes.map((n) => n.id));
      const wanted = [...toPlace.current].filter((id) => present.has(id));
      toPlace.current.clear();
      const moves = placeAdded(current, cards, wanted);
      if (moves.size) commit(movePositions(current, moves));
    }, PLACE_MS);
  }, [doc, committed, cards, commit, rf, docRef, fitPadding]);
  useEffect(() => () => {
    if (timer.current) clearTimeout(timer.current);
  }, []);
}
