// The canvas: toolbar, palette, React Flow graph, inspector and console over one anywidget model.
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import {
  Background,
  Controls,
  Panel,
  ReactFlow,
  applyEdgeChanges,
  applyNodeChanges,
  getViewportForBounds,
  useConnection,
  useReactFlow,
  useStore,
  type Edge,
  type EdgeChange,
  type FinalConnectionState,
  type NodeChange,
  type OnConnectEnd,
  type Viewport,
} from "@xyflow/react";
import { CanvasContext, sharedFor, useCanvas, type CanvasContextValue } from "./context";
import { Observable, useTrait, type Model } from "./store";
import type { CardInfo, DocNode, GraphDoc, JsonObject } from "./types";
import {
  addEdge,
  addNode,
  categoryColor,
  connectionProblem,
  movePositions,
  removeItems,
  setConfig,
  type Conn,
} from "./graph";
import { layoutPositions } from "./layout";
import type { Path } from "./floats";
import { firstLayout } from "./firstLayout";
import { usePlacement } from "./usePlacement";
import { CardNode, type CardFlowNode, type CardNodeData } from "./components/CardNode";
import { DRAG_TYPE, Palette } from "./components/Palette";
import { Inspector } from "./components/Inspector";
import { Console } from "./components/Console";
import { LabelledEdge } from "./components/LabelledEdge";
import { EdgeOverlay } from "./components/EdgeOverlay";
import { BottomPanel, GroupFrames, PanelButtons, StatusMiniMap, TracebackModal, useUiNodes, type PanelName } from "./components/PanelsBar";
import { BIG_GRAPH, LOD_ZOOM, NODE_WIDTH, nodeHeight } from "./geometry";
import { CardPanel } from "./components/CardPanel";
import { SweepTable } from "./components/SweepTable";
import type { CardFiles } from "./cardFiles";
import { useEditing } from "./useEditing";

const nodeTypes = { card: CardNode };
const edgeTypes = { labelled: LabelledEdge };
const MIN_ZOOM = 0.05;
const MAX_ZOOM = 2;
const FIT_PADDING = 0.15;
const zoomedOut = (s: { transform: [number, number, number] }) => s.transform[2] < LOD_ZOOM;
const TOAST_MS = 7000;

interface Toast {
  id: number;
  kind: "error" | "info";
  text: string;
}

function nodeData(n: DocNode, card: CardInfo | undefined): CardNodeData {
  return {
    cardType: n.data.card_type,
    title: card?.display_name || n.data.card_type,
    category: card?.category ?? "unknown",
    color: card ? categoryColor(card.category) : "#ef4444",
    inputs: Object.entries(card?.inputs ?? {}),
    outputs: Object.entries(card?.outputs ?? {}),
    unknown: !card,
    configKey: JSON.stringify(n.data.config ?? {}),
    disabled: !!n.data.disabled,
  };
}

function sameData(a: CardNodeData, b: CardNodeData): boolean {
  return (
    a.cardType === b.cardType &&
    a.title === b.title &&
    a.category === b.category &&
    a.configKey === b.configKey &&
    a.disabled === b.disabled &&
    JSON.stringify(a.inputs) === JSON.stringify(b.inputs) &&
    JSON.stringify(a.outputs) === JSON.stringify(b.outputs)
  );
}

/** Doc nodes -> React Flow nodes, keeping the objects (and measured sizes, selection) of unchanged nodes. */
function toFlowNodes(doc: GraphDoc, cards: Map<string, CardInfo>, prev: CardFlowNode[]): CardFlowNode[] {
  const old = new Map(prev.map((n) => [n.id, n]));
  return (doc?.nodes ?? []).map((n) => {
    const data = nodeData(n, cards.get(n.data.card_type));
    const was = old.get(n.id);
    const x = Number(n.position?.x ?? 0);
    const y = Number(n.position?.y ?? 0);
    if (was && was.position.x === x && was.position.y === y && sameData(was.data, data)) return was;
    // The card's size is known from its geometry: React Flow shows (culls, fits) it at once, and
    // when its measurement agrees nothing changes, so a big graph is not adopted a second time.
    const initialHeight = nodeHeight(data.inputs.length, data.outputs.length);
    const measured = was?.measured ?? { width: NODE_WIDTH, height: initialHeight };
    return {
      ...(was ?? {}),
      id: n.id,
      type: "card",
      position: { x, y },
      data,
      initialWidth: NODE_WIDTH,
      initialHeight,
      measured,
    } as CardFlowNode;
  });
}

function toFlowEdges(doc: GraphDoc, prev: Edge[]): Edge[] {
  const old = new Map(prev.map((e) => [e.id, e]));
  return (doc?.edges ?? []).map((e) => {
    const was = old.get(e.id);
    const out = e.data?.source_output ?? e.sourceHandle ?? "";
    const inp = e.data?.target_input ?? e.targetHandle ?? "";
    if (was && was.source === e.source && was.target === e.target && was.sourceHandle === out && was.targetHandle === inp)
      return was;
    return {
      id: e.id,
      type: "labelled",
      source: e.source,
      target: e.target,
      sourceHandle: out,
      targetHandle: inp,
      label: out,
      selected: was?.selected,
    };
  });
}

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el) return false;
  const tag = el.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
}

export function App({ model, cardFiles }: { model: Model; cardFiles?: CardFiles }) {
  const doc = useTrait(model, "graph");
  const palette = useTrait(model, "palette");
  const height = useTrait(model, "height");
  const status = useTrait(model, "status");
  const cards = useMemo(() => new Map((palette ?? []).map((c) => [c.card_type, c])), [palette]);
  const shared = useMemo(() => sharedFor(model), [model]);
  const rf = useReactFlow<CardFlowNode, Edge>();

  const [nodes, setNodes] = useState<CardFlowNode[]>(() => toFlowNodes(doc, cards, []));
  const big = nodes.length > BIG_GRAPH;
  const far = useStore(zoomedOut);
  const lod = far; // zoomed out: compact nodes, edges drawn as one path
  // React Flow mounts once the pane has a size, with a viewport that already fits the graph: big
  // graphs are then drawn once, at the right zoom (no full-size first pass).
  const flowBox = useRef<HTMLDivElement>(null);
  const [initialViewport, setInitialViewport] = useState<Viewport | null>(null);
  const [edges, setEdges] = useState<Edge[]>(() => toFlowEdges(doc, []));
  const [selected, setSelected] = useState<string | null>(null);
  const [toasts, setToasts] = useState<Toast[]>([]);
  const [showConsole, setShowConsole] = useState(false);
  const [panel, setPanel] = useState<PanelName | null>(null);
  const traceback = useMemo(() => new Observable<string | null>(null), []);
  const [code, setCode] = useState<string | null>(null);
  const [showCards, setShowCards] = useState(false);
  const committed = useRef<GraphDoc | null>(null);
  const docRef = useRef(doc);
  docRef.current = doc;
  const root = useRef<HTMLDivElement>(null);

  useLayoutEffect(() => {
    const el = flowBox.current;
    if (!el || initialViewport) return;
    const place = () => {
      const { width, height } = el.getBoundingClientRect();
      if (!width || !height) return false;
      const first = firstLayout(docRef.current, cards); // one row or overlapping: lay out before the first draw
      if (first !== docRef.current) commit(first);
      setInitialViewport(fitViewport(first, cards, width, height));
      return true;
    };
    if (place()) return;
    const ro = new ResizeObserver(() => {
      if (place()) ro.disconnect();
    });
    ro.observe(el);
    return () => ro.disconnect();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [initialViewport]);

  const toast = useCallback((text: string, kind: Toast["kind"] = "error") => {
    const id = Date.now() + Math.random();
    setToasts((ts) => [...ts.slice(-3), { id, kind, text }]);
    setTimeout(() => setToasts((ts) => ts.filter((t) => t.id !== id)), TOAST_MS);
  }, []);

  /** Assign a new document: the kernel replays it through the Pipeline and answers with the truth. */
  const commitRaw = useCallback(
    (next: GraphDoc) => {
      committed.current = next;
      model.set("graph", next);
      model.save_changes();
    },
    [model],
  );
  const edit = useEditing({ model, rf, docRef, commitRaw, cards, setNodes, setSelected, root, toast });
  const commit = edit.commit; // every edit is recorded for undo
  const ctx = useMemo<CanvasContextValue>(() => ({ model, cards, shared, big, commit, traceback }), [model, cards, shared, big, commit, traceback]);
  const shownNodes = useUiNodes(nodes, doc);

  // The document (or the palette) changed: rebuild the flow, keeping unchanged node objects.
  useEffect(() => {
    setNodes((prev) => toFlowNodes(doc, cards, prev));
    setEdges((prev) => toFlowEdges(doc, prev));
  }, [doc, cards]);
  usePlacement(doc, committed, cards, commit, rf, docRef, FIT_PADDING); // keeps the viewport; places Python's new nodes
  useEffect(() => {
    if (selected && !(doc?.nodes ?? []).some((n) => n.id === selected)) setSelected(null);
  }, [doc, selected]);

  const runLayout = useCallback(() => {
    const current = docRef.current;
    const measured = new Map(rf.getNodes().map((n) => [n.id, n.measured]));
    const positions = layoutPositions(
      current,
      (id) => {
        const m = measured.get(id);
        return m?.width && m?.height ? { width: m.width, height: m.height } : undefined;
      },
      (id) => {
        const card = cards.get(current.nodes.find((n) => n.id === id)?.data.card_type ?? "");
        return { width: NODE_WIDTH, height: nodeHeight(Object.keys(card?.inputs ?? {}).length, Object.keys(card?.outputs ?? {}).length) };
      },
    );
    commit(movePositions(current, positions));
    requestAnimationFrame(() => requestAnimationFrame(() => rf.fitView({ padding: FIT_PADDING, duration: 200 })));
  }, [rf, cards, commit]);

  // Messages from the kernel.
  useEffect(() => {
    const onMessage = (msg: any) => {
      if (!msg || typeof msg !== "object") return;
      switch (msg.type) {
        case "error":
          if (msg.op === "image" && msg.node_id) {
            const images = shared.images.get();
            for (const key of Object.keys(images))
              if (key.endsWith(`/${msg.node_id}/${msg.port}`)) shared.images.set({ ...images, [key]: { error: msg.message } });
          }
          toast(String(msg.message));
          break;
        case "image":
          {
            const runId = model.get("previews")?.[msg.node_id]?.run_id ?? "";
            shared.images.set({ ...shared.images.get(), [`${runId}/${msg.node_id}/${msg.port}`]: { mime: msg.mime, data: msg.data } });
          }
          break;
        case "saved":
          toast(`Saved to ${msg.where}`, "info");
          break;
        case "loaded":
          toast("Loaded the saved pipeline.", "info");
          break;
        case "layout":
          runLayout();
          break;
        case "python":
          setCode(String(msg.source));
          break;
      }
    };
    model.on("msg:custom", onMessage);
    return () => model.off("msg:custom", onMessage);
  }, [model, shared, toast, runLayout]);

  const onNodesChange = useCallback((changes: NodeChange<CardFlowNode>[]) => {
    setNodes((ns) => applyNodeChanges(changes, ns));
  }, []);
  const onEdgesChange = useCallback((changes: EdgeChange[]) => {
    setEdges((es) => applyEdgeChanges(changes, es));
  }, []);

  const onNodeDragStop = useCallback(
    (_e: unknown, _node: CardFlowNode, dragged: CardFlowNode[]) => {
      const moved = new Map(dragged.map((n) => [n.id, n.position]));
      commit(movePositions(docRef.current, moved));
    },
    [commit],
  );

  const isValidConnection = useCallback(
    (c: Conn | Edge) => connectionProblem(docRef.current, cards, c as Conn) === null,
    [cards],
  );

  const onConnect = useCallback(
    (c: Conn) => {
      const problem = connectionProblem(docRef.current, cards, c);
      if (problem) {
        toast(problem);
        return;
      }
      commit(addEdge(docRef.current, c));
    },
    [cards, commit, toast],
  );

  const onConnectEnd: OnConnectEnd = useCallback(
    (_e: MouseEvent | TouchEvent, state: FinalConnectionState) => {
      if (state.isValid !== false || !state.toHandle || !state.fromHandle) return;
      const conn = connFromState(state);
      if (!conn) {
        toast("Connect an output (right side) to an input (left side).");
        return;
      }
      const problem = connectionProblem(docRef.current, cards, conn);
      if (problem) toast(problem);
    },
    [cards, toast],
  );

  const addCard = useCallback(
    (card: CardInfo, where?: { x: number; y: number }) => {
      let pos = where;
      if (!pos) {
        const box = root.current?.querySelector(".react-flow")?.getBoundingClientRect();
        pos = box ? rf.screenToFlowPosition({ x: box.left + box.width / 2, y: box.top + box.height / 3 }) : { x: 0, y: 0 };
        pos = { x: pos.x - NODE_WIDTH / 2, y: pos.y };
      }
      const [next, id] = addNode(docRef.current, card, pos);
      commit(next);
      setSelected(id);
    },
    [commit, rf],
  );

  const onDrop = useCallback(
    (e: React.DragEvent) => {
      const type = e.dataTransfer.getData(DRAG_TYPE) || e.dataTransfer.getData("text/plain");
      const card = cards.get(type);
      if (!card) return;
      e.preventDefault();
      e.stopPropagation();
      const p = rf.screenToFlowPosition({ x: e.clientX, y: e.clientY });
      addCard(card, { x: p.x - 20, y: p.y - 20 });
    },
    [cards, rf, addCard],
  );

  const removeSelection = useCallback(() => {
    const nodeIds = new Set(rf.getNodes().filter((n) => n.selected).map((n) => n.id));
    const edgeIds = new Set(rf.getEdges().filter((e) => e.selected).map((e) => e.id));
    if (!nodeIds.size && !edgeIds.size) return false;
    commit(removeItems(docRef.current, nodeIds, edgeIds));
    return true;
  }, [rf, commit]);

  // Keys pressed in the canvas are ours: JupyterLab must not turn Delete/Backspace or letters into
  // notebook commands (data-lm-suppress-shortcuts + stopPropagation), and deletion is handled here.
  const onKeyDown = useCallback(
    (e: React.KeyboardEvent) => {
      if (isTyping(e.target)) {
        e.stopPropagation();
        return;
      }
      if (edit.onKey(e)) return;
      if (e.key === "Delete" || e.key === "Backspace") {
        if (removeSelection()) {
          e.preventDefault();
          root.current?.focus({ preventScroll: true }); // the focused node is gone; keep the keys ours
        }
        e.stopPropagation();
        return;
      }
      if (["Shift", "Control", "Meta", "Alt"].includes(e.key)) return; // React Flow's selection keys
      if (!e.ctrlKey && !e.metaKey && !e.altKey) e.stopPropagation();
    },
    [removeSelection, edit],
  );

  const send = useCallback((msg: object) => model.send(msg), [model]);
  const running = status?.state === "running" || status?.state === "starting";
  const counts = useMemo(() => {
    const out: Record<string, number> = {};
    for (const rec of Object.values(status?.nodes ?? {})) out[rec.status] = (out[rec.status] ?? 0) + 1;
    return out;
  }, [status]);
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const done = (counts.completed ?? 0) + (counts.cached ?? 0) + (counts.failed ?? 0) + (counts.skipped ?? 0);
  const selectedNode = selected ? (doc?.nodes ?? []).find((n) => n.id === selected) : undefined;

  return (
    <CanvasContext.Provider value={ctx}>
      <div
        {...edit.rootProps}
        ref={root}
        tabIndex={-1}
        data-lm-suppress-shortcuts="true"
        onKeyDown={onKeyDown}
        onMouseDown={(e) => {
          if (!isTyping(e.target) && !(e.target as HTMLElement).closest("button,a,[tabindex='0']")) root.current?.focus({ preventScroll: true });
        }}
        style={{ height: height || 560 }}
        data-testid="canvas"
      >
        <div className="trc-toolbar">
          <span className="trc-name" title="Pipeline name">
            {doc?.name ?? "pipeline"}
          </span>
          <button type="button" className="trc-btn trc-btn-primary" disabled={running} onClick={() => send({ type: "run" })} data-testid="btn-run">
            ▶ Run pipeline
          </button>
          <button
            type="button"
            className="trc-btn"
            disabled={running || !selected}
            onClick={() => selected && send({ type: "run_to", node_id: selected })}
            data-testid="btn-run-to"
            title={selected ? `Run ${selected} and what it needs` : "Select a node first"}
          >
            ▶ Run to here
          </button>
          <button type="button" className="trc-btn" disabled={!running} onClick={() => send({ type: "cancel" })} data-testid="btn-cancel">
            ■ Cancel
          </button>
          <span className="trc-sep" />
          {edit.buttons}
          <button type="button" className="trc-btn" onClick={runLayout} data-testid="btn-layout">
            Layout
          </button>
          <button type="button" className="trc-btn" onClick={() => rf.fitView({ padding: FIT_PADDING, duration: 200 })}>
            Fit
          </button>
          <button type="button" className="trc-btn" onClick={() => send({ type: "save" })} data-testid="btn-save">
            Save
          </button>
          <button type="button" className="trc-btn" onClick={edit.load} data-testid="btn-load">
            Load
          </button>
          <button type="button" className="trc-btn" onClick={() => send({ type: "to_python" })} data-testid="btn-code">
            Code
          </button>
          <button type="button" className={`trc-btn${showConsole ? " trc-btn-on" : ""}`} onClick={() => setShowConsole((v) => !v)} data-testid="btn-console">
            Console
          </button>
          {cardFiles ? <button type="button" className={`trc-btn${showCards ? " trc-btn-on" : ""}`} onClick={() => setShowCards((v) => !v)} data-testid="btn-cards">Cards</button> : null}
          <PanelButtons panel={panel} setPanel={setPanel} keysOn={root} />
          <span className={`trc-run-state trc-run-${status?.state ?? "idle"}`} data-testid="run-state" data-state={status?.state ?? "idle"}>
            {status?.state && status.state !== "idle" ? `${status.state}${total ? ` · ${done}/${total}` : ""}` : "ready"}
          </span>
        </div>
        <div className="trc-body">
          <Palette palette={palette ?? []} onAdd={(card) => addCard(card)} />
          <div className="trc-flow" ref={flowBox} onDragOver={(e) => {
            e.preventDefault();
            e.dataTransfer.dropEffect = "copy";
          }} onDrop={onDrop}>
            {initialViewport ? (
            <ReactFlow<CardFlowNode, Edge>
              nodes={shownNodes}
              edges={lod ? NO_EDGES : edges}
              nodeTypes={nodeTypes}
              edgeTypes={edgeTypes}
              onNodesChange={onNodesChange}
              onEdgesChange={onEdgesChange}
              onConnect={onConnect}
              onConnectEnd={onConnectEnd}
              isValidConnection={isValidConnection}
              onNodeDragStop={onNodeDragStop}
              onNodeClick={(_e, n) => setSelected(n.id)}
              onPaneClick={() => setSelected(null)}
              {...edit.flowProps}
              deleteKeyCode={null}
              defaultViewport={initialViewport}
              minZoom={MIN_ZOOM}
              maxZoom={MAX_ZOOM}
              onlyRenderVisibleElements={big}
              proOptions={{ hideAttribution: true }}
            >
              <Background gap={20} size={1} />
              <Controls showInteractive={false} />
              {lod ? <EdgeOverlay nodes={shownNodes} edges={edges} /> : null}
              <GroupFrames />
              {!big ? <StatusMiniMap /> : null}
              <ConnectionHint cards={cards} />
              {edit.findPanel}
              <Panel position="top-center">
                <div className="trc-toasts" data-testid="toasts">
                  {toasts.map((t) => (
                    <div key={t.id} className={`trc-toast trc-toast-${t.kind}`} data-testid="toast" role="alert">
                      <span>{t.text}</span>
                      <button type="button" className="trc-icon-btn" aria-label="Dismiss" onClick={() => setToasts((ts) => ts.filter((x) => x.id !== t.id))}>
                        ×
                      </button>
                    </div>
                  ))}
                </div>
              </Panel>
              {(doc?.nodes ?? []).length === 0 ? (
                <Panel position="top-left">
                  <div className="trc-empty">Drag a card from the palette to start.</div>
                </Panel>
              ) : null}
            </ReactFlow>
            ) : null}
          </div>
          {selectedNode ? (
            <Inspector
              node={selectedNode}
              running={running}
              onClose={edit.closeInspector}
              onConfig={(id: string, config: JsonObject, floats?: Path[]) => commit(setConfig(docRef.current, id, config, floats))}
              onRemove={(id: string) => commit(removeItems(docRef.current, new Set([id]), new Set()))}
              onRunTo={(id: string) => send({ type: "run_to", node_id: id })}
            />
          ) : null}
          {cardFiles && showCards ? <CardPanel files={cardFiles} onClose={() => setShowCards(false)} /> : null}
        </div>
        <SweepTable />
        {showConsole ? <Console onClose={() => setShowConsole(false)} /> : null}
        {edit.overlay}
        <BottomPanel panel={panel} onClose={() => setPanel(null)} />
        <TracebackModal />
        {code !== null ? (
          <div className="trc-modal" role="dialog" data-testid="code">
            <div className="trc-modal-box">
              <div className="trc-console-head">
                <span>Python that rebuilds this pipeline</span>
                <button type="button" className="trc-btn" onClick={() => navigator.clipboard?.writeText(code)}>
                  Copy
                </button>
                <button type="button" className="trc-icon-btn" onClick={() => setCode(null)} aria-label="Close">
                  ×
                </button>
              </div>
              <pre className="trc-code">{code}</pre>
            </div>
          </div>
        ) : null}
      </div>
    </CanvasContext.Provider>
  );
}

function connFromState(state: FinalConnectionState): Conn | null {
  if (!state.fromHandle || !state.toHandle) return null;
  const from = state.fromHandle;
  const to = state.toHandle;
  if (from.type === to.type) return null;
  return from.type === "source"
    ? { source: from.nodeId, sourceHandle: from.id, target: to.nodeId, targetHandle: to.id }
    : { source: to.nodeId, sourceHandle: to.id, target: from.nodeId, targetHandle: from.id };
}

/** While dragging a connection over a handle it may not use, say why. */
function ConnectionHint({ cards }: { cards: Map<string, CardInfo> }) {
  const connection = useConnection();
  const { model } = useCanvas();
  const doc = useTrait(model, "graph");
  if (!connection.inProgress || connection.isValid !== false || !connection.toHandle) return null;
  const conn = connFromState(connection as unknown as FinalConnectionState);
  const problem = conn ? connectionProblem(doc, cards, conn) : "Connect an output (right side) to an input (left side).";
  if (!problem) return null;
  return (
    <Panel position="bottom-center">
      <div className="trc-hint" data-testid="connection-hint">
        ⛔ {problem}
      </div>
    </Panel>
  );
}

const NO_EDGES: Edge[] = [];

/** The viewport that fits every node (sizes from the geometry) into a pane of this size. */
function fitViewport(doc: GraphDoc, cards: Map<string, CardInfo>, width: number, height: number): Viewport {
  const nodes = doc?.nodes ?? [];
  if (!nodes.length) return { x: 0, y: 0, zoom: 1 };
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const n of nodes) {
    const card = cards.get(n.data.card_type);
    const h = nodeHeight(Object.keys(card?.inputs ?? {}).length, Object.keys(card?.outputs ?? {}).length);
    const x = Number(n.position?.x ?? 0);
    const y = Number(n.position?.y ?? 0);
    x0 = Math.min(x0, x);
    y0 = Math.min(y0, y);
    x1 = Math.max(x1, x + NODE_WIDTH);
    y1 = Math.max(y1, y + h);
  }
  return getViewportForBounds({ x: x0, y: y0, width: x1 - x0, height: y1 - y0 }, width, height, MIN_ZOOM, 1, FIT_PADDING);
}
