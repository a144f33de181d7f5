// The canvas's own right-click menu (JupyterLab's cell menu never opens over the canvas): a list of
// actions at the pointer, closed by a click elsewhere, Escape, or choosing an item.
import { useEffect, useLayoutEffect, useRef, useState } from "react";

export interface MenuItem {
  id: string;
  label: string;
  shortcut?: string;
  disabled?: boolean;
  danger?: boolean;
  onSelect: () => void;
}

export interface MenuState {
  /** Where, relative to the canvas root. */
  x: number;
  y: number;
  title?: string;
  items: (MenuItem | "-")[];
}

export function ContextMenu({ menu, onClose }: { menu: MenuState; onClose: () => void }) {
  const box = useRef<HTMLDivElement>(null);
  const [pos, setPos] = useState({ left: menu.x, top: menu.y });
  // Keep the menu inside the canvas: open to the left / upwards near the right / bottom edge.
  useLayoutEffect(() => {
    const el = box.current;
    const parent = el?.offsetParent as HTMLElement | null;
    if (!el || !parent) return;
    const left = Math.max(0, Math.min(menu.x, parent.clientWidth - el.offsetWidth - 4));
    const top = Math.max(0, Math.min(menu.y, parent.clientHeight - el.offsetHeight - 4));
    setPos({ left, top });
  }, [menu]);
  useEffect(() => {
    const away = (e: Event) => {
      if (box.current && !box.current.contains(e.target as Node)) onClose();
    };
    const key = (e: KeyboardEvent) => {
      if (e.key === "Escape") {
        e.stopPropagation();
        onClose();
      }
    };
    document.addEventListener("pointerdown", away, true);
    document.addEventListener("wheel", away, true);
    document.addEventListener("keydown", key, true);
    box.current?.querySelector<HTMLButtonElement>("button:not(:disabled)")?.focus({ preventScroll: true });
    return () => {
      document.removeEventListener("pointerdown", away, true);
      document.removeEventListener("wheel", away, true);
      document.removeEventListener("keydown", key, true);
    };
  }, [onClose]);
  return (
    <div
      ref={box}
      className="trc-menu"
      role="menu"
      data-testid="context-menu"
      style={{ left: pos.left, top: pos.top }}
      onContextMenu={(e) => {
        e.preventDefault();
        e.stopPropagation();
      }}
    >
      {menu.title ? <div className="trc-menu-title">{menu.title}</div> : null}
      {menu.items.map((item, i) =>
        item === "-" ? (
          <div key={`sep-${i}`} className="trc-menu-sep" role="separator" />
        ) : (
          <button
            type="button"
            key={item.id}
            role="menuitem"
            className={`trc-menu-item${item.danger ? " trc-menu-danger" : ""}`}
            disabled={item.disabled}
            data-testid={`menu-${item.id}`}
            onClick={() => {
              onClose();
              item.onSelect();
            }}
          >
            <span>{item.label}</span>
            {item.shortcut ? <kbd className="trc-menu-key">{item.shortcut}</kbd> : null}
          </button>
        ),
      )}
    </div>
  );
}
