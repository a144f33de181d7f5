// React bindings for the canvas model: one subscription per trait, selectors for per-node slices.
import { useSyncExternalStore, useCallback } from "react";
import type { Traits } from "./types";

/**
 * The seam between the canvas and where its state lives: all the canvas uses of a model. anywidget's
 * model (notebook) satisfies it as is; `RestModel` (web page, rest.ts) implements it over REST + WebSocket.
 */
export interface Model {
  get<K extends keyof Traits>(key: K): Traits[K];
  set<K extends keyof Traits>(key: K, value: Traits[K]): void;
  /** `change:{trait}` (no arguments) and `msg:custom` (a message from the backend). */
  on(event: string, cb: (...args: any[]) => void): void;
  off(event: string, cb: (...args: any[]) => void): void;
  /** The assigned `graph` is the user's edit: hand it to the backend. */
  save_changes(): void;
  /** A command: run, run_to, cancel, save, load, image, to_python. */
  send(msg: any): void;
}

/** The current value of a trait; re-renders when the browser-side model changes it. */
export function useTrait<K extends keyof Traits>(model: Model, key: K): Traits[K] {
  const subscribe = useCallback(
    (cb: () => void) => {
      const event = `change:${String(key)}`;
      model.on(event, cb);
      return () => model.off(event, cb);
    },
    [model, key],
  );
  return useSyncExternalStore(subscribe, () => model.get(key));
}

/** A primitive derived from one trait (only re-renders when the derived value changes). */
export function useTraitSelect<K extends keyof Traits, T extends string | number | boolean | null | undefined>(
  model: Model,
  key: K,
  select: (value: Traits[K]) => T,
): T {
  const subscribe = useCallback(
    (cb: () => void) => {
      const event = `change:${String(key)}`;
      model.on(event, cb);
      return () => model.off(event, cb);
    },
    [model, key],
  );
  return useSyncExternalStore(subscribe, () => select(model.get(key)));
}

/** A tiny observable value, for state shared by every view of one model (image cache, toasts). */
export class Observable<T> {
  private listeners = new Set<() => void>();
  constructor(private value: T) {}
  get = (): T => this.value;
  set(value: T): void {
    this.value = value;
    this.listeners.forEach((l) => l());
  }
  subscribe = (cb: () => void): (() => void) => {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  };
}

export function useObservable<T>(obs: Observable<T>): T {
  return useSyncExternalStore(obs.subscribe, obs.get);
}
