// The card editor's seam: what CardEditor does with card files, whoever holds them. The web page's
// files are tensorrag.server's routes (restCardFiles); the notebook's are kernel messages (kernelApi.ts).
import { ApiError, type Api } from "./rest";

export interface CardIssue {
  line: number;
  message: string;
  severity: string;
}

export interface CardEntry {
  path: string;
  type: "file" | "folder";
}

/** A refused operation: the library's message, and for an invalid card file every issue with its line. */
export class CardFilesError extends Error {
  constructor(message: string, readonly issues: CardIssue[] = []) {
    super(message);
  }
}

/** One project's card files. Sources are only ever parsed (the syntax-tree validator), never run. */
export interface CardFiles {
  list(): Promise<CardEntry[]>;
  read(path: string): Promise<string>;
  validate(source: string, path?: string): Promise<CardIssue[]>;
  /** Validate and save; rejects with a CardFilesError listing the issues when the file is invalid. */
  save(path: string, source: string): Promise<{ card_type: string; errors: CardIssue[] }>;
  createFolder(path: string): Promise<void>;
  remove(path: string): Promise<void>;
  removeFolder(path: string): Promise<void>;
}

/** The web page's card files: the original's workspace routes of tensorrag.server. */
export function restCardFiles(api: Api, project: string): CardFiles {
  const base = `api/workspace/projects/${encodeURIComponent(project)}`;
  const call = async <T = any>(method: string, path: string, body?: unknown): Promise<T> => {
    try {
      return await api.json<T>(method, path, body);
    } catch (err) {
      const issues = err instanceof ApiError && Array.isArray(err.body?.detail?.errors) ? err.body.detail.errors : [];
      throw new CardFilesError(err instanceof Error ? err.message : String(err), issues);
    }
  };
  return {
    list: () => call<CardEntry[]>("GET", `${base}/cards`),
    read: async (path) => (await call<{ source_code: string }>("POST", `${base}/cards/source`, { path })).source_code,
    validate: async (source) => (await call<{ errors: CardIssue[] }>("POST", "api/cards/validate", { source_code: source })).errors,
    save: (path, source) => call("POST", `${base}/cards`, { path, source_code: source }),
    createFolder: async (path) => void (await call("POST", `${base}/cards/folder`, { path })),
    remove: async (path) => void (await call("DELETE", `${base}/cards`, { path })),
    removeFolder: async (path) => void (await call("DELETE", `${base}/cards/folder`, { path })),
  };
}
