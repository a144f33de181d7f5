// What every component of one rendered canvas shares.
import { createContext, useContext } from "react";
import type { Model } from "./store";
import { Observable } from "./store";
import type { CardInfo, GraphDoc } from "./types";

export type ImageEntry = { mime: string; data: string } | { error: string } | "loading";

/** Per-model state shared by every view of the same widget (a widget displayed twice). */
export interface Shared {
  images: Observable<Record<string, ImageEntry>>;
}

const sharedByModel = new WeakMap<object, Shared>();

export function sharedFor(model: Model): Shared {
  let shared = sharedByModel.get(model);
  if (!shared) {
    shared = { images: new Observable<Record<string, ImageEntry>>({}) };
    sharedByModel.set(model, shared);
  }
  return shared;
}

export interface CanvasContextValue {
  model: Model;
  cards: Map<string, CardInfo>;
  shared: Shared;
  /** More nodes than BIG_GRAPH: cull off-screen elements, compact nodes when zoomed out. */
  big: boolean;
  /** Assign an edited document (the same path as every canvas edit). */
  commit: (next: GraphDoc) => void;
  /** This view's open traceback (a click on a failed card's error line): the node id, or null. */
  traceback: Observable<string | null>;
}

export const CanvasContext = createContext<CanvasContextValue | null>(null);

export function useCanvas(): CanvasContextValue {
  const ctx = useContext(CanvasContext);
  if (!ctx) throw new Error("[tensorrag] canvas context missing");
  return ctx;
}
