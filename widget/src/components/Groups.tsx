// Groups: a named frame around nodes (document key `ui.groups`), drawn in flow coordinates behind the
// cards' labels; drag its title to move the group, collapse it to one box, rename it, or ungroup it.
import { memo, useMemo, useRef, useState } from "react";
import { ViewportPortal, useReactFlow, useStore } from "@xyflow/react";
import { useCanvas } from "../context";
import { useTrait } from "../store";
import { movePositions } from "../graph";
import { NODE_WIDTH } from "../geometry";
import { groupsOf, hiddenNodes, updateGroup } from "../ui";
import type { GraphDoc, Group } from "../types";
import type { CardFlowNode } from "./CardNode";

const PAD = 16;
const HEAD = 24;

/** The flow nodes with the members of collapsed groups hidden (React Flow then hides their edges too). */
export function useUiNodes(nodes: CardFlowNode[], doc: GraphDoc): CardFlowNode[] {
  const hidden = useMemo(() => hiddenNodes(doc), [doc]);
  return useMemo(() => {
    if (!hidden.size && !nodes.some((n) => n.hidden)) return nodes;
    return nodes.map((n) => (hidden.has(n.id) === !!n.hidden ? n : { ...n, hidden: hidden.has(n.id) }));
  }, [nodes, hidden]);
}

type Box = { x: number; y: number; w: number; h: number };

function GroupFramesView() {
  const { model } = useCanvas();
  const doc = useTrait(model, "graph");
  const groups = groupsOf(doc);
  const nodes = useStore((s) => s.nodes);
  const boxes = useMemo(() => {
    const byId = new Map(nodes.map((n) => [n.id, n]));
    const out = new Map<string, Box>();
    for (const g of groups) {
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      for (const id of g.nodes) {
        const n = byId.get(id);
        if (!n) continue;
        x0 = Math.min(x0, n.position.x);
        y0 = Math.min(y0, n.position.y);
        x1 = Math.max(x1, n.position.x + (n.measured?.width ?? NODE_WIDTH));
        y1 = Math.max(y1, n.position.y + (n.measured?.height ?? 60));
      }
      if (x0 !== Infinity) out.set(g.id, { x: x0 - PAD, y: y0 - PAD - HEAD, w: x1 - x0 + 2 * PAD, h: y1 - y0 + 2 * PAD + HEAD });
    }
    return out;
  }, [nodes, groups]);
  if (!groups.length) return null;
  return (
    <ViewportPortal>
      {groups.map((g) => {
        const box = boxes.get(g.id);
        return box ? <GroupFrame key={g.id} group={g} box={box} /> : null;
      })}
    </ViewportPortal>
  );
}

function GroupFrame({ group, box }: { group: Group; box: Box }) {
  const { model, commit } = useCanvas();
  const rf = useReactFlow<CardFlowNode>();
  const [editing, setEditing] = useState(false);
  const drag = useRef<{ x: number; y: number; start: Map<string, { x: number; y: number }>; moved: boolean } | null>(null);
  const edit = (change: Partial<Group> | null) => commit(updateGroup(model.get("graph"), group.id, change));
  const collapsed = !!group.collapsed;

  const onPointerDown = (e: React.PointerEvent) => {
    if (e.button !== 0 || (e.target as HTMLElement).closest("button,input")) return;
    e.stopPropagation();
    (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId); // the title bar is small: keep the drag
    const members = new Set(group.nodes);
    const start = new Map(rf.getNodes().filter((n) => members.has(n.id)).map((n) => [n.id, { ...n.position }]));
    drag.current = { x: e.clientX, y: e.clientY, start, moved: false };
  };
  const onPointerMove = (e: React.PointerEvent) => {
    const d = drag.current;
    if (!d) return;
    const zoom = rf.getZoom();
    const dx = (e.clientX - d.x) / zoom;
    const dy = (e.clientY - d.y) / zoom;
    if (!d.moved && Math.abs(dx) + Math.abs(dy) < 2) return;
    d.moved = true;
    rf.setNodes((ns) => ns.map((n) => {
      const p = d.start.get(n.id);
      return p ? { ...n, position: { x: p.x + dx, y: p.y + dy } } : n;
    }));
  };
  const onPointerUp = () => {
    const d = drag.current;
    drag.current = null;
    if (!d?.moved) return;
    const moved = new Map(rf.getNodes().filter((n) => d.start.has(n.id)).map((n) => [n.id, n.position]));
    commit(movePositions(model.get("graph"), moved));
  };

  const style = collapsed
    ? { transform: `translate(${box.x}px, ${box.y}px)`, width: NODE_WIDTH + 2 * PAD }
    : { transform: `translate(${box.x}px, ${box.y}px)`, width: box.w, height: box.h };
  return (
    <div className={`trc-group${collapsed ? " trc-group-collapsed" : ""}`} style={style} data-testid={`group-${group.id}`} data-collapsed={collapsed}>
      <div
        className="trc-group-head nopan nodrag"
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
        onDoubleClick={(e) => !(e.target as HTMLElement).closest("button,input") && setEditing(true)}
        title="Drag to move the group; double-click the name to rename"
      >
        <button type="button" className="trc-icon-btn" onClick={() => edit({ collapsed: !collapsed })} aria-label={collapsed ? "Expand group" : "Collapse group"} data-testid={`group-toggle-${group.id}`}>
          {collapsed ? "▸" : "▾"}
        </button>
        {editing ? (
          <input
            className="trc-group-input"
            autoFocus
            defaultValue={group.label}
            aria-label="Group name"
            onBlur={(e) => {
              setEditing(false);
              if (e.target.value.trim() && e.target.value !== group.label) edit({ label: e.target.value.trim() });
            }}
            onKeyDown={(e) => {
              if (e.key === "Enter") (e.target as HTMLInputElement).blur();
              if (e.key === "Escape") setEditing(false);
            }}
          />
        ) : (
          <span className="trc-group-label" data-testid={`group-label-${group.id}`}>
            {group.label}
          </span>
        )}
        {collapsed ? <span className="trc-muted">{group.nodes.length} nodes</span> : null}
        <button type="button" className="trc-icon-btn" onClick={() => edit(null)} aria-label="Ungroup" title="Ungroup (the nodes stay)" data-testid={`group-remove-${group.id}`}>
          ×
        </button>
      </div>
    </div>
  );
}

export const GroupFrames = memo(GroupFramesView);
