// Light or dark: JupyterLab's theme (body[data-jp-theme-light]), else VS Code's (body.vscode-dark),
// else the system's (prefers-color-scheme). Followed live: switching the theme re-colours the canvas.
import { useSyncExternalStore } from "react";

export type ColorMode = "light" | "dark";

export function currentColorMode(): ColorMode {
  const body = typeof document !== "undefined" ? document.body : null;
  const jp = body?.getAttribute("data-jp-theme-light");
  if (jp === "false") return "dark";
  if (jp === "true") return "light";
  if (body?.classList.contains("vscode-dark") || body?.classList.contains("vscode-high-contrast")) return "dark";
  if (body?.classList.contains("vscode-light")) return "light";
  return typeof matchMedia === "function" && matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

function subscribe(cb: () => void): () => void {
  const observer = new MutationObserver(cb);
  observer.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-light", "class"] });
  const media = typeof matchMedia === "function" ? matchMedia("(prefers-color-scheme: dark)") : null;
  media?.addEventListener?.("change", cb);
  return () => {
    observer.disconnect();
    media?.removeEventListener?.("change", cb);
  };
}

/** The colour mode to draw in, kept in step with the page's theme. */
export function useColorMode(): ColorMode {
  return useSyncExternalStore(subscribe, currentColorMode);
}
