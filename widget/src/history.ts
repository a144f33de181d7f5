// Undo / redo of canvas edits. Each entry is the document before and after one edit; undo applies the
// difference (after -> before) to the CURRENT document, by node and edge id, so changes made in Python
// in between survive. The result is committed like any edit: the kernel replays it through the Pipeline.
import type { DocEdge, DocNode, GraphDoc } from "./types";

/** How many edits are kept (older ones are dropped). */
export const HISTORY_LIMIT = 200;

interface Entry {
  before: GraphDoc;
  after: GraphDoc;
}

/** The undo and redo stacks of one model (every view of a widget shares them). */
export class History {
  private undos: Entry[] = [];
  private redos: Entry[] = [];
  private listeners = new Set<() => void>();
  private version = 0;

  constructor(private limit = HISTORY_LIMIT) {}

  /** An edit took `before` to `after` (no-ops are not recorded); a new edit clears the redo stack. */
  record(before: GraphDoc | null | undefined, after: GraphDoc): void {
    if (!before || before === after || sameGraph(before, after)) return;
    this.undos.push({ before, after });
    if (this.undos.length > this.limit) this.undos.splice(0, this.undos.length - this.limit);
    this.redos = [];
    this.changed();
  }

  /** The document `current` with the last edit undone, or null when there is nothing to undo. */
  undo(current: GraphDoc): GraphDoc | null {
    const entry = this.undos.pop();
    if (!entry) return null;
    this.redos.push(entry);
    this.changed();
    return applyDiff(current, entry.after, entry.before);
  }

  /** The document `current` with the last undone edit made again, or null. */
  redo(current: GraphDoc): GraphDoc | null {
    const entry = this.redos.pop();
    if (!entry) return null;
    this.undos.push(entry);
    this.changed();
    return applyDiff(current, entry.before, entry.after);
  }

  get canUndo(): boolean {
    return this.undos.length > 0;
  }

  get canRedo(): boolean {
    return this.redos.length > 0;
  }

  /** A number that changes with every record/undo/redo (for useSyncExternalStore). */
  getVersion = (): number => this.version;

  subscribe = (cb: () => void): (() => void) => {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  };

  private changed(): void {
    this.version += 1;
    this.listeners.forEach((l) => l());
  }
}

const byModel = new WeakMap<object, History>();

/** The history of `model` (made on first use). */
export function historyFor(model: object): History {
  let h = byModel.get(model);
  if (!h) {
    h = new History();
    byModel.set(model, h);
  }
  return h;
}

const key = (x: unknown) => JSON.stringify(x);

function sameGraph(a: GraphDoc, b: GraphDoc): boolean {
  if (a.nodes.length !== b.nodes.length || a.edges.length !== b.edges.length) return false;
  return key(a.nodes) === key(b.nodes) && key(a.edges) === key(b.edges);
}

/**
 * `current` changed the way `from` -> `to` differ: items only in `from` are removed, items only in `to`
 * are (re)added near their old place, items in both that differ take their `to` version.
 */
export function applyDiff(current: GraphDoc, from: GraphDoc, to: GraphDoc): GraphDoc {
  const nodes = diffList<DocNode>(current.nodes, from.nodes, to.nodes);
  const ids = new Set(nodes.map((n) => n.id));
  // An edge whose node is gone cannot stay (the pipeline drops it too).
  const edges = diffList<DocEdge>(current.edges, from.edges, to.edges).filter((e) => ids.has(e.source) && ids.has(e.target));
  const counter = Math.max(current.nodeCounter ?? 0, to.nodeCounter ?? 0, from.nodeCounter ?? 0);
  return { ...current, nodes, edges, nodeCounter: counter || current.nodeCounter };
}

function diffList<T extends { id: string }>(current: T[], from: T[], to: T[]): T[] {
  const fromMap = new Map(from.map((x) => [x.id, x]));
  const toMap = new Map(to.map((x) => [x.id, x]));
  const out: T[] = [];
  const have = new Set<string>();
  for (const item of current) {
    const wanted = toMap.get(item.id);
    const was = fromMap.get(item.id);
    if (was && !wanted) continue; // the edit being reverted/replayed removes it
    if (was && wanted && key(was) !== key(wanted)) out.push(wanted);
    else out.push(item);
    have.add(item.id);
  }
  // Items to bring back: after the item that preceded them in `to`, so the order (run tie-breaks) is kept.
  to.forEach((item, i) => {
    if (have.has(item.id) || fromMap.has(item.id)) return;
    let at = 0;
    for (let j = i - 1; j >= 0; j--) {
      const k = out.findIndex((x) => x.id === to[j].id);
      if (k >= 0) {
        at = k + 1;
        break;
      }
    }
    out.splice(at, 0, item);
    have.add(item.id);
  });
  return out;
}
