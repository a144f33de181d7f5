// The notebook's card files: the card editor's operations as anywidget custom messages to the kernel
// (tensorrag/widget/_editor.py answers each `{type: "cards", id, op, ...}` with one `cards_reply`).
import type { Model } from "./store";
import { CardFilesError, type CardEntry, type CardFiles, type CardIssue } from "./cardFiles";

/** How long to wait for the kernel's answer (a busy or dead kernel must not leave the editor hanging). */
export const KERNEL_TIMEOUT_MS = 60_000;

interface Waiting {
  resolve: (value: any) => void;
  reject: (err: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class KernelCardFiles implements CardFiles {
  /** The project the kernel edits (known after the first list). */
  project: string | null = null;
  private waiting = new Map<string, Waiting>();
  private seq = 0;
  // Every view of a widget hears every reply: ids carry this instance's prefix, so each answers only its own.
  private readonly prefix = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;

  constructor(private model: Model, private timeoutMs = KERNEL_TIMEOUT_MS) {
    model.on("msg:custom", this.onMessage);
  }

  /** Stop listening; pending requests fail. */
  close(): void {
    this.model.off("msg:custom", this.onMessage);
    for (const w of this.waiting.values()) {
      clearTimeout(w.timer);
      w.reject(new CardFilesError("The canvas was closed before the kernel answered."));
    }
    this.waiting.clear();
  }

  private onMessage = (msg: any) => {
    if (msg?.type !== "cards_reply" || typeof msg.id !== "string") return;
    const w = this.waiting.get(msg.id);
    if (!w) return;
    this.waiting.delete(msg.id);
    clearTimeout(w.timer);
    if (msg.ok) w.resolve(msg.result);
    else w.reject(new CardFilesError(String(msg.error?.message ?? "The kernel refused the request."), Array.isArray(msg.error?.errors) ? msg.error.errors : []));
  };

  private call<T = any>(op: string, fields: Record<string, unknown> = {}): Promise<T> {
    const id = `${this.prefix}-${++this.seq}`;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new CardFilesError(`The kernel did not answer the card editor's ${op} request within ${this.timeoutMs / 1000} s: is it busy, or was it restarted? Re-run the cell that shows the canvas.`));
      }, this.timeoutMs);
      this.waiting.set(id, { resolve, reject, timer });
      this.model.send({ type: "cards", id, op, ...fields });
    });
  }

  async list(): Promise<CardEntry[]> {
    const out = await this.call<{ project: string; entries: CardEntry[] }>("list");
    this.project = out.project;
    return out.entries;
  }
  async read(path: string): Promise<string> {
    return (await this.call<{ source_code: string }>("read", { path })).source_code;
  }
  async validate(source: string, path?: string): Promise<CardIssue[]> {
    return (await this.call<{ errors: CardIssue[] }>("validate", { source_code: source, path })).errors;
  }
  save(path: string, source: string): Promise<{ card_type: string; errors: CardIssue[] }> {
    return this.call("save", { path, source_code: source });
  }
  async createFolder(path: string): Promise<void> {
    await this.call("folder", { path });
  }
  async remove(path: string): Promise<void> {
    await this.call("delete", { path });
  }
  async removeFolder(path: string): Promise<void> {
    await this.call("delete_folder", { path });
  }
}
