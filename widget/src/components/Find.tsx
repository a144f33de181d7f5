// Find a node (Ctrl+F) by id, card type, title or config value; Enter jumps to the next match.
import { useEffect, useMemo, useRef, useState } from "react";
import type { CardInfo, DocNode } from "../types";

/** At most this many matches are listed (all of them are highlighted and reachable with Enter). */
const LISTED = 50;

/** The text a node is found by: id, card type, title, category and every config value as `key=value`. */
export function searchText(n: DocNode, card: CardInfo | undefined): string {
  const config = Object.entries(n.data.config ?? {})
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
  return `${n.id} ${n.data.card_type} ${card?.display_name ?? ""} ${card?.category ?? ""} ${config}`.toLowerCase();
}

/** The nodes every word of `query` occurs in (document order). */
export function findNodes(nodes: DocNode[], cards: Map<string, CardInfo>, query: string): DocNode[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return [];
  return nodes.filter((n) => {
    const text = searchText(n, cards.get(n.data.card_type));
    return words.every((w) => text.includes(w));
  });
}

export function Find({
  nodes,
  cards,
  onMatches,
  onJump,
  onClose,
}: {
  nodes: DocNode[];
  cards: Map<string, CardInfo>;
  onMatches: (ids: string[]) => void;
  onJump: (id: string) => void;
  onClose: () => void;
}) {
  const [query, setQuery] = useState("");
  const [active, setActive] = useState(0);
  const input = useRef<HTMLInputElement>(null);
  const matches = useMemo(() => findNodes(nodes, cards, query), [nodes, cards, query]);
  useEffect(() => {
    input.current?.focus({ preventScroll: true });
    input.current?.select();
  }, []);
  useEffect(() => {
    onMatches(matches.map((n) => n.id));
  }, [matches, onMatches]);
  const jumped = useRef(false); // the first Enter after typing goes to the first match, the next ones further
  useEffect(() => {
    setActive(0);
    jumped.current = false;
  }, [query]);
  const go = (i: number) => {
    if (!matches.length) return;
    jumped.current = true;
    const k = ((i % matches.length) + matches.length) % matches.length;
    setActive(k);
    onJump(matches[k].id);
  };
  return (
    <div className="trc-find" data-testid="find" role="search">
      <div className="trc-find-row">
        <input
          ref={input}
          className="trc-input trc-find-input"
          placeholder="Find a node: id, type or config value"
          value={query}
          data-testid="find-input"
          onChange={(e) => setQuery(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter") {
              e.preventDefault();
              go(e.shiftKey ? active - 1 : jumped.current ? active + 1 : active);
            } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
              e.preventDefault();
              go(active + (e.key === "ArrowDown" ? 1 : -1));
            } else if (e.key === "Escape") {
              e.preventDefault();
              onClose();
            } else if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "f") {
              e.preventDefault(); // already open: keep the browser's find closed
              input.current?.select();
            }
          }}
        />
        <span className="trc-find-count" data-testid="find-count">
          {query ? `${matches.length ? active + 1 : 0}/${matches.length}` : ""}
        </span>
        <button type="button" className="trc-icon-btn" aria-label="Close find" onClick={onClose}>
          ×
        </button>
      </div>
      {query && matches.length ? (
        <ul className="trc-find-list">
          {matches.slice(0, LISTED).map((n, i) => (
            <li key={n.id}>
              <button
                type="button"
                className={`trc-find-item${i === active ? " trc-find-on" : ""}`}
                data-testid={`find-${n.id}`}
                onClick={() => go(i)}
              >
                <span className="trc-node-id">{n.id}</span>
                <span className="trc-muted">{cards.get(n.data.card_type)?.display_name ?? n.data.card_type}</span>
              </button>
            </li>
          ))}
          {matches.length > LISTED ? <li className="trc-muted trc-find-more">{matches.length - LISTED} more: Enter goes on</li> : null}
        </ul>
      ) : query ? (
        <div className="trc-muted trc-find-more">No node matches.</div>
      ) : null}
    </div>
  );
}
