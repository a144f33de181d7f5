// anywidget entry: render the canvas for one model into `el` (and `mountWeb` for the server's page). React Flow's stylesheet ships in index.css.
import "@xyflow/react/dist/style.css";
import "./styles.css";
import "./theme.css";
import "./edit.css";
import "./status.css";
import { createRoot } from "react-dom/client";
import { ReactFlowProvider } from "@xyflow/react";
import type { RenderProps } from "@anywidget/types";
import { App } from "./App";
import { KernelCardFiles } from "./kernelApi";
import type { Traits } from "./types";

export { validateConfig } from "./schema";
export { connectionProblem } from "./graph";
export { attachFloats, parseJson, stringifyJson } from "./floats";
// The standalone web page (tensorrag.server GET /) mounts the same bundle with a REST + WebSocket model.
export { mountWeb } from "./web";

function render({ model, el }: RenderProps<Traits>) {
  el.classList.add("trc-host");
  const root = createRoot(el);
  const cardFiles = new KernelCardFiles(model); // the card editor's files: custom messages to the kernel
  root.render(
    <ReactFlowProvider>
      <App model={model} cardFiles={cardFiles} />
    </ReactFlowProvider>,
  );
  return () => {
    root.unmount();
    cardFiles.close();
  };
}

export default { render };
