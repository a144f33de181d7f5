// The card editor: a project's card files and folders, CodeMirror 6 (bundled, no CDN) with the library's
// syntax-tree validator as inline diagnostics while typing. The source is only parsed, never run. Where
// the files live is the `CardFiles` seam (cardFiles.ts): the server's routes, or the notebook's kernel.
import { useCallback, useEffect, useRef, useState } from "react";
import { EditorView, basicSetup } from "codemirror";
import { python } from "@codemirror/lang-python";
import { linter, lintGutter, forceLinting, type Diagnostic } from "@codemirror/lint";
import type { CardEntry as Entry, CardFiles, CardIssue } from "../cardFiles";

export type { CardIssue } from "../cardFiles";

const LINT_DELAY_MS = 300;

/** A new card file's source: every attribute the validator requires, named after the file. */
export function cardTemplate(path: string): string {
  const stem = (path.split("/").pop() ?? "my_card").replace(/\.py$/, "").replace(/[^A-Za-z0-9_]/g, "_") || "my_card";
  const cls = stem.split("_").filter(Boolean).map((w) => w[0].toUpperCase() + w.slice(1)).join("") || "MyCard";
  return `from tensorrag import BaseCard


class ${cls}(BaseCard):
    card_type = "${stem}"
    display_name = "${stem.replace(/_/g, " ")}"
    description = "What this card does"
    category = "data"
    execution_mode = "local"
    output_view_type = "json"
    config_schema = {"n": {"type": "integer", "default": 3}}
    input_schema = {}
    output_schema = {"result": "json"}

    def execute(self, config, inputs, storage):
        result = {"values": list(range(config["n"]))}
        return {"result": storage.save_json(config["_pipeline_id"], config["_node_id"], "result", result)}

    def get_output_preview(self, outputs, storage):
        return storage.load_json(outputs["result"])
`;
}

/** The validator's issues as CodeMirror diagnostics, each on its whole line. */
export function toDiagnostics(view: EditorView, issues: CardIssue[]): Diagnostic[] {
  const doc = view.state.doc;
  return issues.map((issue) => {
    const line = doc.line(Math.min(Math.max(1, issue.line || 1), doc.lines));
    const severity = issue.severity === "warning" ? "warning" : issue.severity === "info" ? "info" : "error";
    return { from: line.from, to: Math.max(line.from, line.to), severity, message: `line ${line.number}: ${issue.message}` };
  });
}

export function CardEditor({ files, onSaved }: { files: CardFiles; onSaved: () => void }) {
  const [entries, setEntries] = useState<Entry[]>([]);
  const [path, setPath] = useState<string | null>(null);
  const [newPath, setNewPath] = useState("");
  const [issues, setIssues] = useState<CardIssue[]>([]);
  const [note, setNote] = useState<{ kind: "error" | "info"; text: string } | null>(null);
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);

  const refresh = useCallback(async () => setEntries(await files.list()), [files]);
  const report = useCallback((err: unknown) => setNote({ kind: "error", text: err instanceof Error ? err.message : String(err) }), []);
  useEffect(() => {
    refresh().catch(report);
  }, [refresh, report]);

  // One editor for the panel's life; the linter asks the library's validator (syntax tree only).
  useEffect(() => {
    if (!host.current) return;
    const lint = linter(
      async (v) => {
        const source = v.state.doc.toString();
        try {
          const errors = await files.validate(source);
          if (v.state.doc.toString() !== source) return []; // stale: a newer check follows
          setIssues(errors);
          return toDiagnostics(v, errors);
        } catch (err) {
          report(err);
          return [];
        }
      },
      { delay: LINT_DELAY_MS },
    );
    const ed = new EditorView({ doc: "", extensions: [basicSetup, python(), lintGutter(), lint], parent: host.current });
    view.current = ed;
    (host.current as any).cmView = ed; // for tests and scripts: the page's editor
    return () => ed.destroy();
  }, [files, report]);

  const show = useCallback((p: string | null, source: string) => {
    setPath(p);
    setIssues([]);
    const ed = view.current;
    if (!ed) return;
    ed.dispatch({ changes: { from: 0, to: ed.state.doc.length, insert: source } });
    forceLinting(ed);
  }, []);

  const open = useCallback(
    async (p: string) => {
      setNote(null);
      show(p, await files.read(p));
    },
    [files, show],
  );

  const save = useCallback(async () => {
    if (!path || !view.current) return;
    try {
      const out = await files.save(path, view.current.state.doc.toString());
      setNote({ kind: "info", text: `Saved ${path}: card ${out.card_type} is in the palette.` });
      await refresh();
      onSaved();
    } catch (err: any) {
      if (Array.isArray(err?.issues) && err.issues.length) setIssues(err.issues);
      report(err);
    }
  }, [files, path, refresh, onSaved, report]);

  const target = newPath.trim();
  const newCard = () => {
    const p = target.endsWith(".py") ? target : `${target}.py`;
    show(p, cardTemplate(p));
    setNote({ kind: "info", text: `New card ${p}: edit it, then Save.` });
    setNewPath("");
  };
  const newFolder = async () => {
    await files.createFolder(target);
    setNewPath("");
    await refresh();
  };
  const remove = async (entry: Entry) => {
    await (entry.type === "folder" ? files.removeFolder(entry.path) : files.remove(entry.path));
    if (path && (path === entry.path || path.startsWith(`${entry.path}/`))) show(null, "");
    await refresh();
    onSaved();
  };

  const errors = issues.filter((i) => i.severity === "error").length;
  return (
    <div className="trw-editor" data-testid="card-editor">
      <div className="trw-files">
        <div className="trw-files-new">
          <input value={newPath} onChange={(e) => setNewPath(e.target.value)} placeholder="folder/name.py" aria-label="New card or folder path" data-testid="new-card-path" />
          <button type="button" className="trc-btn" disabled={!target} onClick={newCard} data-testid="btn-new-card">New card</button>
          <button type="button" className="trc-btn" disabled={!target} onClick={() => newFolder().catch(report)} data-testid="btn-new-folder">New folder</button>
        </div>
        <ul className="trw-file-list" data-testid="card-files">
          {entries.map((e) => (
            <li key={`${e.type}:${e.path}`} className={`trw-file trw-file-${e.type}${e.path === path ? " trw-file-on" : ""}`} style={{ paddingLeft: 8 + 12 * (e.path.split("/").length - 1) }}>
              {e.type === "file" ? (
                <button type="button" className="trw-file-open" onClick={() => open(e.path).catch(report)} data-testid={`card-file-${e.path}`}>{e.path.split("/").pop()}</button>
              ) : (
                <span className="trw-folder">📁 {e.path.split("/").pop()}</span>
              )}
              <button type="button" className="trc-icon-btn" aria-label={`Delete ${e.path}`} title={`Delete ${e.path}`} onClick={() => remove(e).catch(report)} data-testid={`delete-${e.path}`}>×</button>
            </li>
          ))}
          {entries.length === 0 ? <li className="trc-muted">No card files yet.</li> : null}
        </ul>
      </div>
      <div className="trw-code">
        <div className="trw-code-head">
          <span className="trw-path" data-testid="editor-path">{path ?? "Open a card file, or make a new one."}</span>
          <span className={`trw-check${errors ? " trw-check-bad" : ""}`} data-testid="editor-check" data-errors={errors}>
            {path ? (errors ? `${errors} error${errors > 1 ? "s" : ""}` : "valid") : ""}
          </span>
          <button type="button" className="trc-btn trc-btn-primary" disabled={!path || errors > 0} onClick={() => void save()} data-testid="btn-save-card">Save card</button>
        </div>
        <div className="trw-cm" ref={host} data-testid="code-editor" />
        <ul className="trw-issues" data-testid="editor-issues">
          {issues.map((i, k) => (
            <li key={k} className={`trw-issue trw-issue-${i.severity}`}>line {i.line}: {i.message}</li>
          ))}
        </ul>
        {note ? <div className={`trw-note trw-note-${note.kind}`} data-testid="editor-note" role={note.kind === "error" ? "alert" : "status"}>{note.text}</div> : null}
      </div>
    </div>
  );
}
