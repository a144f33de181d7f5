// The toolbar buttons of the panels (timeline, run history) and of the view (group, collapse, zoom to
// selection), their keys, and the bottom panel they open.
import { useCallback, useEffect, type RefObject } from "react";
import "../panels.css";
import { useReactFlow, useStore } from "@xyflow/react";
import { useCanvas } from "../context";
import { addGroup, toggleCollapsed } from "../ui";
import type { CardFlowNode } from "./CardNode";
import { RunHistory } from "./RunHistory";
import { Timeline } from "./Timeline";

// The canvas's other hook-ins, so App.tsx imports this part from one place.
export { GroupFrames, useUiNodes } from "./Groups";
export { StatusMiniMap } from "./StatusMiniMap";
export { TracebackModal } from "./TracebackModal";

export type PanelName = "timeline" | "history";

const selectedCount = (s: { nodes: { selected?: boolean }[] }) => s.nodes.reduce((k, n) => k + (n.selected ? 1 : 0), 0);

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return !!el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
}

/** Group, collapse and zoom-to-selection over the nodes selected on the canvas. */
export function useViewActions() {
  const { model, commit } = useCanvas();
  const rf = useReactFlow<CardFlowNode>();
  const selectedIds = useCallback(() => rf.getNodes().filter((n) => n.selected && !n.hidden).map((n) => n.id), [rf]);
  const zoomToSelection = useCallback(() => {
    const ids = selectedIds();
    rf.fitView({ nodes: ids.length ? ids.map((id) => ({ id })) : undefined, padding: ids.length ? 0.5 : 0.15, duration: 200, maxZoom: 1.5 });
  }, [rf, selectedIds]);
  const group = useCallback(() => {
    const ids = selectedIds();
    if (ids.length) commit(addGroup(model.get("graph"), ids)[0]);
  }, [model, commit, selectedIds]);
  const collapse = useCallback(() => {
    const ids = selectedIds();
    if (ids.length) commit(toggleCollapsed(model.get("graph"), ids));
  }, [model, commit, selectedIds]);
  return { zoomToSelection, group, collapse };
}

/** "." zooms to the selection (everything when nothing is selected); Ctrl/Cmd+G groups the selection. */
export function usePanelKeys(root: RefObject<HTMLElement | null>) {
  const { zoomToSelection, group } = useViewActions();
  useEffect(() => {
    const el = root.current;
    if (!el) return;
    const onKey = (e: KeyboardEvent) => {
      if (isTyping(e.target)) return;
      if (e.key === "." && !e.ctrlKey && !e.metaKey && !e.altKey) {
        e.preventDefault();
        zoomToSelection();
      } else if ((e.ctrlKey || e.metaKey) && !e.shiftKey && (e.key === "g" || e.key === "G")) {
        e.preventDefault(); // the browser's "find next"
        e.stopPropagation();
        group();
      }
    };
    el.addEventListener("keydown", onKey);
    return () => el.removeEventListener("keydown", onKey);
  }, [root, zoomToSelection, group]);
}

export function PanelButtons({
  panel,
  setPanel,
  keysOn,
}: {
  panel: PanelName | null;
  setPanel: (p: PanelName | null) => void;
  /** The element whose key presses are the canvas's (see usePanelKeys). */
  keysOn: RefObject<HTMLElement | null>;
}) {
  const { zoomToSelection, group, collapse } = useViewActions();
  usePanelKeys(keysOn);
  const selected = useStore(selectedCount);
  const toggle = (p: PanelName) => setPanel(panel === p ? null : p);
  return (
    <>
      <button type="button" className="trc-btn" onClick={zoomToSelection} data-testid="btn-zoom-selection" title="Zoom to the selected nodes (.), or to everything">
        Zoom to selection
      </button>
      <button type="button" className="trc-btn" disabled={!selected} onClick={group} data-testid="btn-group" title="Put the selected nodes in a named frame (Ctrl+G)">
        Group
      </button>
      <button type="button" className="trc-btn" disabled={!selected} onClick={collapse} data-testid="btn-collapse" title="Collapse or expand the selected cards">
        Collapse
      </button>
      <button type="button" className={`trc-btn${panel === "timeline" ? " trc-btn-on" : ""}`} onClick={() => toggle("timeline")} data-testid="btn-timeline">
        Timeline
      </button>
      <button type="button" className={`trc-btn${panel === "history" ? " trc-btn-on" : ""}`} onClick={() => toggle("history")} data-testid="btn-history">
        History
      </button>
    </>
  );
}

export function BottomPanel({ panel, onClose }: { panel: PanelName | null; onClose: () => void }) {
  if (panel === "timeline") return <Timeline onClose={onClose} />;
  if (panel === "history") return <RunHistory onClose={onClose} />;
  return null;
}
