// React bindings for the anywidget model: one subscription per trait, selectors for per-node slices.
import { useSyncExternalStore, useCallback } from "react";
import type { AnyModel } from "@anywidget/types";
import type { Traits } from "./types";

export type Model = AnyModel<Traits>;

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
