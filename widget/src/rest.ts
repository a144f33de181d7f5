// The web page's canvas model: the `Model` seam (store.ts) over tensorrag.server's REST API + WebSocket.
// The notebook's kernel does the same work in tensorrag/widget/_canvas.py; the components cannot tell them apart.
import type { Model } from "./store";
import { attachFloats, parseJson, stringifyJson } from "./floats";
import type { CardInfo, GraphDoc, LogLine, NodeRunState, Preview, Problem, RunStatus, RunSummary, Traits } from "./types";

type Listener = (...args: any[]) => void;

const IMAGE_TYPES: Record<string, string> = {
  png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", gif: "image/gif", svg: "image/svg+xml", webp: "image/webp",
};
const TERMINAL = new Set(["completed", "cached", "failed"]);
const MAX_LOG_LINES = 500;
const VALIDATE_MS = 150; // validate an edit once typing/dragging pauses
const RECONNECT_MS = 1000;

/** A failed API call: the server's typed message (what, where, expected vs got, how to fix). */
export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly body: any) {
    super(message);
  }
}

function messageOf(status: number, body: any): string {
  const d = body?.detail ?? body;
  if (typeof d === "string") return d;
  if (Array.isArray(d)) return d.map((e) => `${(e.loc ?? []).join(".")}: ${e.msg}`).join("; ");
  if (d && typeof d.message === "string") return d.message;
  if (d && Array.isArray(d.errors)) return d.errors.join("; ");
  return `HTTP ${status}`;
}

/** JSON over fetch against the server's base URL (cookies go along: the app's `auth` reads them). */
export class Api {
  readonly base: string;
  constructor(base: string, private fetcher: typeof fetch = (...a) => fetch(...a)) {
    this.base = base.endsWith("/") ? base : `${base}/`;
  }

  async raw(method: string, path: string, body?: unknown): Promise<Response> {
    const init: RequestInit = { method, credentials: "same-origin" };
    if (body !== undefined) {
      init.body = stringifyJson(body); // marked floats written as 1.0 (floats.ts), so the server reads floats
      init.headers = { "Content-Type": "application/json" };
    }
    const res = await this.fetcher(new URL(path.replace(/^\//, ""), this.base).href, init);
    if (!res.ok) {
      const text = await res.text();
      let parsed: any = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* not JSON: keep the text */
      }
      throw new ApiError(res.status, messageOf(res.status, parsed), parsed);
    }
    return res;
  }

  async json<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    const text = await (await this.raw(method, path, body)).text();
    const { value, floats } = parseJson(text); // 1.0 in the text: marked, as the kernel marks it (floats.ts)
    return attachFloats(value, floats) as T;
  }

  /** The WebSocket URL of a path (ws: or wss: as the page). */
  ws(path: string): string {
    const url = new URL(path.replace(/^\//, ""), this.base);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    return url.href;
  }
}

/** A node's start/end after one status event (the kernel's `note_times`). */
function nodeTimes(
  was: { started?: string | null; finished?: string | null } | undefined,
  status: string,
  ts: unknown,
): Pick<NodeRunState, "started" | "finished"> {
  const out = { started: was?.started ?? null, finished: was?.finished ?? null };
  if (typeof ts !== "string") return out;
  if (status === "running") return { started: ts, finished: null };
  if (status === "pending") return { started: null, finished: null };
  return { ...out, finished: ts };
}

const idle = (): RunStatus => ({ run_id: null, state: "idle", targets: null, error: null, execution_time: null, nodes: {} });

export class RestModel implements Model {
  readonly pipelineId: string;
  private state: Traits;
  private listeners = new Map<string, Set<Listener>>();
  private socket: WebSocket | null = null;
  private closed = false;
  private validateTimer: ReturnType<typeof setTimeout> | null = null;
  private validateSeq = 0;

  private constructor(readonly api: Api, readonly project: string, graph: GraphDoc, palette: CardInfo[]) {
    this.pipelineId = `workspace__${project}`; // the original frontend's channel for a project's runs
    this.state = { graph, palette, status: idle(), previews: {}, logs: [], problems: [], height: 0 };
  }

  /** Open `project`: its cards, palette and saved pipeline, then follow its runs. */
  static async open(api: Api, project: string): Promise<RestModel> {
    const p = encodeURIComponent(project);
    await api.json("POST", `api/workspace/projects/${p}/activate`); // re-read its card files
    const [palette, graph] = await Promise.all([
      api.json<CardInfo[]>("GET", `api/v2/projects/${p}/palette`),
      api.json<GraphDoc>("GET", `api/workspace/projects/${p}/pipeline`),
    ]);
    const model = new RestModel(api, project, { ...graph, name: graph.name ?? project }, palette);
    model.validate();
    model.connect();
    return model;
  }

  private get path(): string {
    return `api/v2/projects/${encodeURIComponent(this.project)}`;
  }

  // ------------------------------------------------------------------ the Model seam

  get<K extends keyof Traits>(key: K): Traits[K] {
    return this.state[key];
  }

  set<K extends keyof Traits>(key: K, value: Traits[K]): void {
    this.state = { ...this.state, [key]: value };
    this.emit(`change:${String(key)}`);
  }

  on(event: string, cb: Listener): void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(cb);
  }

  off(event: string, cb: Listener): void {
    this.listeners.get(event)?.delete(cb);
  }

  save_changes(): void {
    if (this.validateTimer) clearTimeout(this.validateTimer);
    this.validateTimer = setTimeout(() => this.validate(), VALIDATE_MS);
  }

  send(msg: any): void {
    this.command(msg).catch((err: unknown) => {
      const about = msg?.node_id ? { node_id: msg.node_id, port: msg.port } : {};
      this.emit("msg:custom", { type: "error", op: msg?.type, message: err instanceof Error ? err.message : String(err), ...about });
    });
  }

  /** Stop following runs (the page switched project). */
  close(): void {
    this.closed = true;
    this.socket?.close();
    if (this.validateTimer) clearTimeout(this.validateTimer);
  }

  private emit(event: string, ...args: unknown[]): void {
    this.listeners.get(event)?.forEach((cb) => cb(...args));
  }

  // ------------------------------------------------------------------ commands

  private async command(msg: any): Promise<void> {
    const graph = this.state.graph;
    switch (msg?.type) {
      case "run":
      case "run_to":
        await this.run(msg.type === "run_to" ? [String(msg.node_id)] : null);
        break;
      case "cancel":
        if (this.state.status.run_id) await this.api.json("POST", `${this.path}/runs/${this.state.status.run_id}/cancel`);
        break;
      case "save":
        await this.api.json("PUT", `api/workspace/projects/${encodeURIComponent(this.project)}/pipeline`, graph);
        this.emit("msg:custom", { type: "saved", where: `project ${this.project} (a new history version)` });
        break;
      case "load":
        await this.load(msg.version ? String(msg.version) : null);
        this.emit("msg:custom", { type: "loaded" });
        break;
      case "to_python": {
        const { source } = await this.api.json<{ source: string }>("POST", `${this.path}/python`, { pipeline: graph });
        this.emit("msg:custom", { type: "python", source });
        break;
      }
      case "image":
        await this.image(String(msg.node_id), String(msg.port));
        break;
      case "card_source":
        throw new Error("This page shows card source in the Cards panel: open the card's file there.");
      case "runs":
        this.emit("msg:custom", { type: "runs", runs: await this.api.json<RunSummary[]>("GET", `${this.path}/runs?limit=50`) });
        break;
      case "open_run":
        await this.openRun(String(msg.run_id));
        this.emit("msg:custom", { type: "opened_run", run_id: msg.run_id });
        break;
      default:
        throw new Error(`Unknown canvas command ${JSON.stringify(msg?.type)}.`);
    }
  }

  /** Replace the graph with the saved pipeline, or with one version of its history. */
  async load(version: string | null): Promise<void> {
    const graph = version
      ? await this.api.json<GraphDoc>("GET", `${this.path}/history/${encodeURIComponent(version)}`)
      : await this.api.json<GraphDoc>("GET", `api/workspace/projects/${encodeURIComponent(this.project)}/pipeline`);
    this.set("graph", { ...graph, name: graph.name ?? this.project });
    this.validate();
  }

  /** The saved pipeline's versions, newest first. */
  history(): Promise<string[]> {
    return this.api.json<string[]>("GET", `${this.path}/history`);
  }

  /** Read the palette again (a card file was saved or deleted). */
  async refreshPalette(): Promise<void> {
    this.set("palette", await this.api.json<CardInfo[]>("GET", `${this.path}/palette`));
    this.validate();
  }

  private async run(targets: string[] | null): Promise<void> {
    this.set("status", { ...idle(), state: "starting", targets });
    try {
      const started = await this.api.json("POST", `${this.path}/runs`, { pipeline: this.state.graph, targets });
      this.adopt(String(started.run_id), targets);
    } catch (err) {
      this.set("status", { ...idle(), state: "invalid", targets, error: err instanceof Error ? err.message : String(err) });
      throw err;
    }
  }

  private async validate(): Promise<void> {
    const seq = ++this.validateSeq;
    try {
      const out = await this.api.json<{ problems: Problem[] }>("POST", `${this.path}/validate`, { pipeline: this.state.graph });
      if (seq === this.validateSeq) this.set("problems", out.problems);
    } catch (err) {
      if (seq === this.validateSeq)
        this.set("problems", [{ node_id: null, message: err instanceof Error ? err.message : String(err), source: "edit" }]);
    }
  }

  private async image(nodeId: string, port: string): Promise<void> {
    const pid = encodeURIComponent(this.pipelineId);
    const res = await this.api.raw("GET", `api/artifacts/${pid}/${encodeURIComponent(nodeId)}/${encodeURIComponent(port)}`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    let bin = "";
    for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    const mime = res.headers.get("content-type")?.split(";")[0] || "application/octet-stream";
    this.emit("msg:custom", { type: "image", node_id: nodeId, port, mime, data: btoa(bin) });
  }

  /** Show a past run from its manifest: node states, start/end times and errors (as the kernel's open_run). */
  private async openRun(runId: string): Promise<void> {
    if (this.state.status.state === "running" || this.state.status.state === "starting")
      throw new Error(`Run ${this.state.status.run_id} is still going; wait for it or cancel it before opening another.`);
    const m = await this.api.json<any>("GET", `${this.path}/runs/${encodeURIComponent(runId)}`);
    const times: Record<string, { started?: string | null; finished?: string | null }> = {};
    for (const e of Array.isArray(m?.events) ? m.events : []) {
      if (e?.type !== "node_status" || !e.node_id || typeof e.timestamp !== "string") continue;
      const t = (times[e.node_id] ??= {});
      Object.assign(t, nodeTimes(t, String(e.status), e.timestamp));
    }
    const nodes: Record<string, NodeRunState> = {};
    const previews: Record<string, Preview> = {};
    for (const [nid, rec] of Object.entries<any>(m?.nodes ?? {})) {
      nodes[nid] = {
        status: String(rec?.status ?? ""), message: String(rec?.message ?? ""), progress: null,
        started: times[nid]?.started ?? null, finished: times[nid]?.finished ?? null, seconds: rec?.timings?.total ?? null,
      };
      if (rec?.status === "failed")
        previews[nid] = { run_id: runId, status: "failed", view: String(rec.output_type ?? "json"), data: null, images: [],
          error: rec.error ?? { type: "Error", message: String(rec.message ?? "the node failed"), traceback: "" } };
    }
    this.state = { ...this.state, logs: [] };
    this.set("status", { run_id: runId, state: String(m?.status ?? "completed"), targets: null, error: m?.interrupted ?? null,
      execution_time: m?.execution_time ?? null, nodes, reopened: true });
    this.set("previews", previews);
    this.emit("change:logs");
  }

  // ------------------------------------------------------------------ run events (WebSocket) -> traits

  private connect(): void {
    if (this.closed) return;
    const socket = new WebSocket(this.api.ws(`ws/pipeline/${encodeURIComponent(this.pipelineId)}`));
    this.socket = socket;
    socket.onmessage = (e) => {
      try {
        this.onEvent(JSON.parse(String(e.data)));
      } catch (err) {
        console.error("[tensorrag] bad run event", err);
      }
    };
    socket.onclose = () => {
      if (!this.closed) setTimeout(() => this.connect(), RECONNECT_MS); // reconnecting replays the run so far
    };
  }

  /** Show run `runId` from now on (its events may arrive before or after the POST that started it answers). */
  private adopt(runId: string, targets: string[] | null): void {
    const status = this.state.status;
    if (status.run_id === runId) return;
    this.state = { ...this.state, logs: [] };
    this.set("status", { ...idle(), run_id: runId, state: "running", targets });
    this.emit("change:logs");
  }

  private onEvent(event: any): void {
    if (!event || typeof event !== "object" || event.type === "heartbeat") return;
    const runId = typeof event.run_id === "string" ? event.run_id : null;
    if (runId && runId !== this.state.status.run_id) {
      if (event.type === "pipeline_completion" && this.state.status.run_id) return; // an older run's late end
      this.adopt(runId, this.state.status.targets);
    }
    const status = this.state.status;
    const nid: string | undefined = event.node_id ?? undefined;
    if (event.type === "node_status" && nid) {
      const rec: NodeRunState = { status: String(event.status), message: String(event.message ?? ""), progress: null,
        ...nodeTimes(status.nodes[nid], String(event.status), event.timestamp) };
      this.set("status", { ...status, state: status.state === "starting" ? "running" : status.state, nodes: { ...status.nodes, [nid]: rec } });
      if (rec.status === "pending" && nid in this.state.previews) {
        const { [nid]: _gone, ...rest } = this.state.previews;
        this.set("previews", rest);
      } else if (TERMINAL.has(rec.status)) {
        void this.preview(status.run_id ?? runId ?? "", nid, rec.status);
      }
    } else if (event.type === "progress" && nid && status.nodes[nid]) {
      const rec = { ...status.nodes[nid], progress: { current: Number(event.current), total: Number(event.total) } };
      this.set("status", { ...status, nodes: { ...status.nodes, [nid]: rec } });
    } else if (event.type === "log") {
      const line: LogLine = { node_id: nid ?? null, text: String(event.text ?? ""), time: event.timestamp ?? null };
      this.set("logs", [...this.state.logs.slice(-(MAX_LOG_LINES - 1)), line]);
    } else if (event.type === "pipeline_completion") {
      this.set("status", { ...status, state: String(event.status ?? "completed"), execution_time: event.execution_time ?? null });
    }
  }

  /** A node finished: its preview (or error) and its image outputs, as the notebook's `previews` entry. */
  private async preview(runId: string, nodeId: string, status: string): Promise<void> {
    const card = this.state.palette.find((c) => c.card_type === this.state.graph.nodes.find((n) => n.id === nodeId)?.data.card_type);
    const entry: Preview = { run_id: runId, status, view: card?.output_view_type ?? "json", data: null, error: null, images: [] };
    try {
      const manifest = await this.api.json("GET", `${this.path}/runs/${encodeURIComponent(runId)}`);
      const rec = manifest?.nodes?.[nodeId] ?? {};
      if (status === "failed") {
        entry.error = rec.error ?? { type: "Error", message: "the node failed", traceback: "" };
      } else {
        const pid = encodeURIComponent(this.pipelineId);
        const out = await this.api.json("GET", `api/card/${pid}/${encodeURIComponent(nodeId)}/output`);
        entry.data = out.preview ?? null;
        entry.images = Object.entries<any>(rec.outputs ?? {})
          .filter(([, ref]) => ref?.type === "bytes" && String(ref?.ext ?? "").toLowerCase() in IMAGE_TYPES)
          .map(([port, ref]) => ({ port, ext: String(ref.ext) }));
      }
    } catch (err) {
      entry.error = { type: err instanceof ApiError ? "ApiError" : "Error", message: err instanceof Error ? err.message : String(err), traceback: "" };
    }
    if (this.state.status.run_id !== runId) return; // a newer run started meanwhile
    this.set("previews", { ...this.state.previews, [nodeId]: entry });
  }
}
