// The standalone web page (GET / of tensorrag.server): project picker, history, card editor, and the
// notebook's own canvas (App) driven by RestModel instead of an anywidget model.
import { createRoot } from "react-dom/client";
import { ReactFlowProvider } from "@xyflow/react";
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { App } from "./App";
import { Api, RestModel } from "./rest";
import { CardEditor } from "./components/CardEditor";
import { restCardFiles } from "./cardFiles";
import "./web.css";

type Tab = "canvas" | "cards";

function WebApp({ api, current }: { api: Api; current: { model: RestModel | null } }) {
  const [projects, setProjects] = useState<string[] | null>(null);
  const [project, setProject] = useState<string | null>(() => new URLSearchParams(location.search).get("project"));
  const [model, setModel] = useState<RestModel | null>(null);
  const [versions, setVersions] = useState<string[]>([]);
  const [name, setName] = useState("");
  const [tab, setTab] = useState<Tab>("canvas");
  const [error, setError] = useState<string | null>(null);
  const body = useRef<HTMLDivElement>(null);
  const report = useCallback((err: unknown) => setError(err instanceof Error ? err.message : String(err)), []);
  const files = useMemo(() => (model ? restCardFiles(api, model.project) : null), [api, model]);

  const listProjects = useCallback(async () => setProjects(await api.json<string[]>("GET", "api/workspace/projects")), [api]);
  useEffect(() => {
    listProjects().catch(report);
  }, [listProjects, report]);

  // Open the picked project: one RestModel per project, closed (WebSocket and all) when another is picked.
  useEffect(() => {
    if (!project) return;
    let live: RestModel | null = null;
    let cancelled = false;
    setError(null);
    RestModel.open(api, project)
      .then((m) => {
        if (cancelled) return m.close();
        live = current.model = m;
        setModel(m);
        m.history().then(setVersions, report);
        const url = new URL(location.href);
        url.searchParams.set("project", project);
        history.replaceState(null, "", url);
      })
      .catch(report);
    return () => {
      cancelled = true;
      live?.close();
      if (current.model === live) current.model = null;
      setModel(null);
    };
  }, [api, project, report]);

  // Saving a pipeline makes a history version: list them again.
  useEffect(() => {
    if (!model) return;
    const onMsg = (msg: any) => {
      if (msg?.type === "saved") model.history().then(setVersions, report);
    };
    model.on("msg:custom", onMsg);
    return () => model.off("msg:custom", onMsg);
  }, [model, report]);

  // The canvas fills the page under the header.
  useLayoutEffect(() => {
    const el = body.current;
    if (!el || !model) return;
    const fit = () => model.set("height", Math.max(320, Math.floor(el.getBoundingClientRect().height)));
    fit();
    const ro = new ResizeObserver(fit);
    ro.observe(el);
    return () => ro.disconnect();
  }, [model]);

  const create = async () => {
    const n = name.trim();
    await api.json("POST", "api/workspace/projects", { name: n });
    setName("");
    await listProjects();
    setProject(n);
  };

  return (
    <div className="trw-page" data-testid="web-page">
      <header className="trw-header">
        <span className="trw-brand">tensorrag</span>
        <select value={project ?? ""} onChange={(e) => setProject(e.target.value || null)} aria-label="Project" data-testid="project-select">
          <option value="">{projects === null ? "loading…" : projects.length ? "Pick a project…" : "No projects yet"}</option>
          {(projects ?? []).map((p) => (
            <option key={p} value={p}>{p}</option>
          ))}
        </select>
        <form className="trw-new" onSubmit={(e) => { e.preventDefault(); create().catch(report); }}>
          <input value={name} onChange={(e) => setName(e.target.value)} placeholder="new project" aria-label="New project name" data-testid="new-project" />
          <button type="submit" className="trc-btn" disabled={!name.trim()} data-testid="btn-create-project">Create</button>
        </form>
        {model ? (
          <>
            <select value="" onChange={(e) => e.target.value && model.send({ type: "load", version: e.target.value })} aria-label="Load a saved version" data-testid="history-select">
              <option value="">History ({versions.length})</option>
              {versions.map((v) => (
                <option key={v} value={v}>{v}</option>
              ))}
            </select>
            <nav className="trw-tabs">
              <button type="button" className={`trc-btn${tab === "canvas" ? " trc-btn-on" : ""}`} onClick={() => setTab("canvas")} data-testid="tab-canvas">Canvas</button>
              <button type="button" className={`trc-btn${tab === "cards" ? " trc-btn-on" : ""}`} onClick={() => setTab("cards")} data-testid="tab-cards">Card files</button>
            </nav>
          </>
        ) : null}
        {error ? <span className="trw-error" role="alert" data-testid="web-error">{error}</span> : null}
      </header>
      <div className="trw-body" ref={body}>
        {model ? (
          <>
            <div className="trw-pane" style={{ display: tab === "canvas" ? "block" : "none" }}>
              <ReactFlowProvider>
                <App key={model.project} model={model} />
              </ReactFlowProvider>
            </div>
            {tab === "cards" && files ? <CardEditor files={files} onSaved={() => model.refreshPalette().catch(report)} /> : null}
          </>
        ) : (
          <div className="trw-empty">{project ? `Opening ${project}…` : "Pick a project, or create one."}</div>
        )}
      </div>
    </div>
  );
}

/** Mount the web page into `el`; `base` is the server's URL (the app may be mounted under a prefix). */
export function mountWeb(el: HTMLElement, options: { base?: string } = {}) {
  const api = new Api(options.base ?? new URL(".", location.href).href);
  el.classList.add("trc-host");
  el.replaceChildren();
  const root = createRoot(el);
  const current: { model: RestModel | null } = { model: null };
  root.render(<WebApp api={api} current={current} />);
  /** `model()`: the open project's RestModel (for scripts and tests), or null. */
  return { api, model: () => current.model, unmount: () => root.unmount() };
}
