// Editing the canvas beyond single gestures: undo/redo, copy/paste/duplicate, select all, find, the
// right-click menu, disabling nodes and showing a card's source. App hooks it in with a few lines.
import { useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore, type Dispatch, type SetStateAction } from "react";
import { Panel, type Edge, type Node, type ReactFlowInstance } from "@xyflow/react";
import { useTraitSelect, type Model } from "./store";
import type { CardInfo, GraphDoc } from "./types";
import { historyFor } from "./history";
import { copyOf, getClipboard, pasteInto, setClipboard } from "./clipboard";
import { removeItems } from "./graph";
import { ContextMenu, type MenuItem, type MenuState } from "./components/ContextMenu";
import { Find } from "./components/Find";
import type { CardFlowNode } from "./components/CardNode";
import { useColorMode } from "./theme";

const JUMP_ZOOM = 1;
const mod = typeof navigator !== "undefined" && /Mac|iPhone|iPad/.test(navigator.platform) ? "⌘" : "Ctrl+";

/** `doc` with the `disabled` flag of `ids` set to `value` (saved as data.disabled only when on). */
export function setDisabled(doc: GraphDoc, ids: Set<string>, value: boolean): GraphDoc {
  return {
    ...doc,
    nodes: doc.nodes.map((n) => {
      if (!ids.has(n.id) || !!n.data.disabled === value) return n;
      const data = { ...n.data };
      if (value) data.disabled = true;
      else delete data.disabled;
      return { ...n, data };
    }),
  };
}

export interface EditingArgs {
  model: Model;
  rf: ReactFlowInstance<CardFlowNode, Edge>;
  docRef: { current: GraphDoc };
  /** Commit an edit without recording it (undo and redo use this). */
  commitRaw: (next: GraphDoc) => void;
  cards: Map<string, CardInfo>;
  setNodes: Dispatch<SetStateAction<CardFlowNode[]>>;
  setSelected: (id: string | null) => void;
  root: { current: HTMLDivElement | null };
  toast: (text: string, kind?: "error" | "info") => void;
}

export function useEditing(a: EditingArgs) {
  const { model, rf, docRef, commitRaw, cards, setNodes, setSelected, root, toast } = a;
  const history = useMemo(() => historyFor(model), [model]);
  useSyncExternalStore(history.subscribe, history.getVersion); // re-render the Undo/Redo buttons
  const [menu, setMenu] = useState<MenuState | null>(null);
  const [finding, setFinding] = useState(false);
  const [source, setSource] = useState<{ title: string; text: string } | null>(null);
  const busy = useTraitSelect(model, "status", (s) => s?.state === "running" || s?.state === "starting");
  const running = useRef(busy);
  running.current = busy;
  const loading = useRef<GraphDoc | null>(null);

  /** Record and commit one edit (what App's `commit` is). */
  const commit = useCallback(
    (next: GraphDoc) => {
      history.record(docRef.current, next);
      commitRaw(next);
    },
    [history, docRef, commitRaw],
  );

  const selectOnly = useCallback(
    (ids: Set<string>, later = false) => {
      const apply = () =>
        setNodes((ns) => ns.map((n) => (!!n.selected === ids.has(n.id) ? n : { ...n, selected: ids.has(n.id) })));
      // New nodes appear in the flow once the document's change has rendered.
      if (later) requestAnimationFrame(() => requestAnimationFrame(apply));
      else apply();
    },
    [setNodes],
  );

  const selectedIds = useCallback(() => new Set(rf.getNodes().filter((n) => n.selected).map((n) => n.id)), [rf]);

  const undo = useCallback(() => {
    const next = history.undo(docRef.current);
    if (next) commitRaw(next);
    else toast("Nothing to undo.", "info");
  }, [history, docRef, commitRaw, toast]);
  const redo = useCallback(() => {
    const next = history.redo(docRef.current);
    if (next) commitRaw(next);
    else toast("Nothing to redo.", "info");
  }, [history, docRef, commitRaw, toast]);

  const copy = useCallback((ids: Set<string>) => {
    const c = copyOf(docRef.current, ids);
    if (c) setClipboard(c);
    return c;
  }, [docRef]);

  const paste = useCallback(
    (clip = getClipboard()) => {
      if (!clip) return;
      clip.pastes += 1;
      const [next, ids] = pasteInto(docRef.current, clip, clip.pastes);
      commit(next);
      setSelected(null);
      selectOnly(new Set(ids), true);
    },
    [docRef, commit, setSelected, selectOnly],
  );

  const duplicate = useCallback(
    (ids: Set<string>) => {
      const c = copyOf(docRef.current, ids);
      if (c) paste(c);
    },
    [docRef, paste],
  );

  const remove = useCallback(
    (ids: Set<string>) => {
      if (ids.size) commit(removeItems(docRef.current, ids, new Set()));
    },
    [docRef, commit],
  );

  const toggleDisabled = useCallback(
    (ids: Set<string>) => {
      const doc = docRef.current;
      const allOff = doc.nodes.filter((n) => ids.has(n.id)).every((n) => !!n.data.disabled);
      commit(setDisabled(doc, ids, !allOff));
    },
    [docRef, commit],
  );

  const selectAll = useCallback(() => {
    setNodes((ns) => ns.map((n) => (n.selected ? n : { ...n, selected: true })));
  }, [setNodes]);

  /** Load the saved pipeline as one undoable step (the new document arrives before `loaded`). */
  const load = useCallback(() => {
    loading.current = docRef.current;
    model.send({ type: "load" });
  }, [model, docRef]);

  useEffect(() => {
    const onMessage = (msg: any) => {
      if (msg?.type === "loaded" && loading.current) {
        history.record(loading.current, model.get("graph"));
        loading.current = null;
      } else if (msg?.type === "error" && msg.op === "load") {
        loading.current = null;
      } else if (msg?.type === "card_source") {
        const where = msg.path ? ` (${msg.path})` : "";
        setSource({ title: `${msg.card_type}${where}`, text: String(msg.source ?? "") });
      }
    };
    model.on("msg:custom", onMessage);
    return () => model.off("msg:custom", onMessage);
  }, [model, history]);

  // ---------------------------------------------------------------- find

  const onMatches = useCallback(
    (ids: string[]) => {
      const hit = new Set(ids);
      setNodes((ns) =>
        ns.map((n) => {
          const cls = hit.has(n.id) ? (n.className?.includes("trc-found") ? "trc-match trc-found" : "trc-match") : undefined;
          return n.className === cls ? n : { ...n, className: cls };
        }),
      );
    },
    [setNodes],
  );
  const onJump = useCallback(
    (id: string) => {
      setNodes((ns) =>
        ns.map((n) => {
          const on = n.id === id;
          const cls = on ? "trc-match trc-found" : n.className ? "trc-match" : undefined;
          return n.className === cls && !!n.selected === on ? n : { ...n, className: cls, selected: on };
        }),
      );
      rf.fitView({ nodes: [{ id }], duration: 200, maxZoom: JUMP_ZOOM, padding: 0.3 });
    },
    [rf, setNodes],
  );
  const closeFind = useCallback(() => {
    setFinding(false);
    setNodes((ns) => ns.map((n) => (n.className ? { ...n, className: undefined } : n)));
    root.current?.focus({ preventScroll: true });
  }, [setNodes, root]);

  // ---------------------------------------------------------------- keys

  /** A key pressed in the canvas (not in a text field): true when it was one of ours. */
  const onKey = useCallback(
    (e: React.KeyboardEvent | KeyboardEvent): boolean => {
      const k = e.key.toLowerCase();
      if (e.key === "Escape" && (menu || finding)) {
        setMenu(null);
        if (finding) closeFind();
        return true;
      }
      if (!(e.ctrlKey || e.metaKey) || e.altKey) return false;
      if (k === "z" && !e.shiftKey) undo();
      else if ((k === "z" && e.shiftKey) || k === "y") redo();
      else if (k === "c") {
        if (!copy(selectedIds())) return false; // nothing selected: let the browser copy text
      } else if (k === "x") {
        const ids = selectedIds();
        if (!copy(ids)) return false;
        remove(ids);
      } else if (k === "v") paste();
      else if (k === "d") duplicate(selectedIds());
      else if (k === "a") selectAll();
      else if (k === "f") setFinding(true);
      else return false;
      e.preventDefault(); // the browser's own find, bookmark, select-all must not happen
      e.stopPropagation();
      return true;
    },
    [menu, finding, closeFind, undo, redo, copy, selectedIds, remove, paste, duplicate, selectAll],
  );

  // ---------------------------------------------------------------- context menu

  const at = useCallback(
    (e: React.MouseEvent | MouseEvent) => {
      const box = root.current?.getBoundingClientRect();
      return { x: e.clientX - (box?.left ?? 0), y: e.clientY - (box?.top ?? 0) };
    },
    [root],
  );

  const nodeMenu = useCallback(
    (e: React.MouseEvent | MouseEvent, node: CardFlowNode) => {
      e.preventDefault(); // the browser's menu
      e.stopPropagation(); // JupyterLab's cell menu
      let ids = selectedIds();
      if (!ids.has(node.id)) {
        ids = new Set([node.id]);
        selectOnly(ids);
      }
      const many = ids.size > 1;
      const doc = docRef.current;
      const off = doc.nodes.filter((n) => ids.has(n.id)).every((n) => !!n.data.disabled);
      const known = cards.has(String(doc.nodes.find((n) => n.id === node.id)?.data.card_type));
      const items: (MenuItem | "-")[] = [
        {
          id: "run-to",
          label: "Run to here",
          disabled: running.current || !known || !!doc.nodes.find((n) => n.id === node.id)?.data.disabled,
          onSelect: () => model.send({ type: "run_to", node_id: node.id }),
        },
        { id: "duplicate", label: many ? `Duplicate ${ids.size} nodes` : "Duplicate", shortcut: `${mod}D`, onSelect: () => duplicate(ids) },
        { id: "copy", label: "Copy", shortcut: `${mod}C`, onSelect: () => copy(ids) },
        { id: "disable", label: off ? "Enable" : "Disable (skip with descendants)", onSelect: () => toggleDisabled(ids) },
        { id: "source", label: "Open card source", disabled: !known, onSelect: () => model.send({ type: "card_source", node_id: node.id }) },
        "-",
        { id: "delete", label: many ? `Delete ${ids.size} nodes` : "Delete", shortcut: "Del", danger: true, onSelect: () => remove(ids) },
      ];
      setMenu({ ...at(e), title: many ? `${ids.size} nodes` : node.id, items });
    },
    [selectedIds, selectOnly, docRef, cards, model, duplicate, copy, toggleDisabled, remove, at],
  );

  const paneMenu = useCallback(
    (e: React.MouseEvent | MouseEvent) => {
      e.preventDefault();
      e.stopPropagation();
      const items: (MenuItem | "-")[] = [
        { id: "paste", label: "Paste", shortcut: `${mod}V`, disabled: !getClipboard(), onSelect: () => paste() },
        { id: "select-all", label: "Select all", shortcut: `${mod}A`, onSelect: selectAll },
        { id: "find", label: "Find…", shortcut: `${mod}F`, onSelect: () => setFinding(true) },
        "-",
        { id: "undo", label: "Undo", shortcut: `${mod}Z`, disabled: !history.canUndo, onSelect: undo },
        { id: "redo", label: "Redo", shortcut: `${mod}⇧Z`, disabled: !history.canRedo, onSelect: redo },
      ];
      setMenu({ ...at(e), items });
    },
    [paste, selectAll, history, undo, redo, at],
  );

  const closeMenu = useCallback(() => setMenu(null), []);
  const closeInspector = useCallback(() => {
    setSelected(null);
    root.current?.focus({ preventScroll: true }); // the keys (Delete, Ctrl+C) stay with the canvas
  }, [setSelected, root]);

  const colorMode = useColorMode();
  /** Spread on the canvas root: the theme class, and JupyterLab's cell menu kept off the canvas. */
  const rootProps = {
    className: `trc-root${colorMode === "dark" ? " trc-dark" : ""}`,
    "data-theme": colorMode,
    "data-jp-suppress-context-menu": "true",
  };
  /** Spread on <ReactFlow>: our menus and React Flow's own colours for the theme. */
  const flowProps = {
    onNodeContextMenu: nodeMenu,
    onPaneContextMenu: paneMenu,
    onSelectionContextMenu: (e: React.MouseEvent, ns: Node[]) => {
      if (ns[0]) nodeMenu(e, ns[0] as CardFlowNode);
    },
    colorMode,
  };

  const buttons = (
    <>
      <button type="button" className="trc-btn" disabled={!history.canUndo} onClick={undo} data-testid="btn-undo" title={`Undo (${mod}Z)`}>
        ↶
      </button>
      <button type="button" className="trc-btn" disabled={!history.canRedo} onClick={redo} data-testid="btn-redo" title={`Redo (${mod}⇧Z)`}>
        ↷
      </button>
      <button type="button" className="trc-btn" onClick={() => setFinding(true)} data-testid="btn-find" title={`Find a node (${mod}F)`}>
        Find
      </button>
    </>
  );

  const findPanel = finding ? (
    <Panel position="top-right">
      <Find nodes={docRef.current?.nodes ?? []} cards={cards} onMatches={onMatches} onJump={onJump} onClose={closeFind} />
    </Panel>
  ) : null;

  const overlay = (
    <>
      {menu ? <ContextMenu menu={menu} onClose={closeMenu} /> : null}
      {source ? (
        <div className="trc-modal" role="dialog" data-testid="card-source">
          <div className="trc-modal-box">
            <div className="trc-console-head">
              <span>Card source: {source.title}</span>
              <button type="button" className="trc-icon-btn" onClick={() => setSource(null)} aria-label="Close">
                ×
              </button>
            </div>
            <pre className="trc-code">{source.text}</pre>
          </div>
        </div>
      ) : null}
    </>
  );

  return { commit, onKey, load, closeInspector, rootProps, flowProps, buttons, findPanel, overlay };
}
