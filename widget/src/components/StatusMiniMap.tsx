// The minimap, each node coloured by its run status (its category colour before any run).
import { useCallback } from "react";
import { MiniMap, type Node } from "@xyflow/react";
import { useCanvas } from "../context";
import { useTrait } from "../store";
import { statusColor } from "../runinfo";
import type { CardNodeData } from "./CardNode";

export function StatusMiniMap() {
  const { model } = useCanvas();
  const status = useTrait(model, "status");
  const color = useCallback(
    (n: Node) => statusColor(status?.nodes?.[n.id]?.status) ?? String((n.data as CardNodeData).color),
    [status],
  );
  return <MiniMap pannable zoomable style={{ width: 150, height: 96 }} nodeColor={color} nodeClassName={(n) => `trc-mm-${status?.nodes?.[n.id]?.status ?? "idle"}`} />;
}
