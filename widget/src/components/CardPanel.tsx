// The notebook canvas's card editor panel: the web page's CardEditor over the kernel's card files
// (kernelApi.ts). Saved cards reach the palette because the kernel sends the palette trait again.
import { CardEditor } from "./CardEditor";
import type { CardFiles } from "../cardFiles";
import "./CardPanel.css";

const NOTHING = () => {};

export function CardPanel({ files, onClose }: { files: CardFiles; onClose: () => void }) {
  return (
    <div className="trc-cards-panel" role="dialog" aria-label="Card files" data-testid="cards-panel">
      <div className="trc-console-head">
        <span>Card files (validated by reading them, never run here)</span>
        <button type="button" className="trc-icon-btn" onClick={onClose} aria-label="Close card editor" data-testid="btn-close-cards">
          ×
        </button>
      </div>
      <div className="trc-cards-body">
        <CardEditor files={files} onSaved={NOTHING} />
      </div>
    </div>
  );
}
