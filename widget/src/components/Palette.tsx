// Every registered card, grouped by category and searchable; drag one onto the canvas (or click +).
import { useMemo, useState } from "react";
import type { CardInfo } from "../types";
import { categoryColor } from "../graph";

export const DRAG_TYPE = "application/x-tensorrag-card";

export function Palette({ palette, onAdd }: { palette: CardInfo[]; onAdd: (card: CardInfo) => void }) {
  const [query, setQuery] = useState("");
  const groups = useMemo(() => {
    const q = query.trim().toLowerCase();
    const out = new Map<string, CardInfo[]>();
    for (const card of palette) {
      const text = `${card.card_type} ${card.display_name} ${card.category} ${card.description}`.toLowerCase();
      if (q && !q.split(/\s+/).every((word) => text.includes(word))) continue;
      const list = out.get(card.category) ?? [];
      list.push(card);
      out.set(card.category, list);
    }
    return [...out.entries()].sort(([a], [b]) => a.localeCompare(b));
  }, [palette, query]);
  return (
    <div className="trc-palette" data-testid="palette">
      <input
        className="trc-search"
        type="search"
        placeholder="Search cards…"
        value={query}
        onChange={(e) => setQuery(e.target.value)}
        aria-label="Search cards"
      />
      <div className="trc-palette-list">
        {groups.length === 0 ? <div className="trc-muted">No card matches.</div> : null}
        {groups.map(([category, cards]) => (
          <div key={category} className="trc-palette-group">
            <div className="trc-palette-cat" style={{ color: categoryColor(category) }}>
              {category}
            </div>
            {cards.map((card) => (
              <div
                key={card.card_type}
                className="trc-palette-item"
                draggable
                data-testid={`palette-${card.card_type}`}
                title={card.description}
                style={{ borderLeftColor: categoryColor(card.category) }}
                onDragStart={(e) => {
                  e.dataTransfer.setData(DRAG_TYPE, card.card_type);
                  e.dataTransfer.setData("text/plain", card.card_type);
                  e.dataTransfer.effectAllowed = "copy";
                }}
              >
                <span className="trc-palette-name">{card.display_name || card.card_type}</span>
                <button
                  className="trc-icon-btn"
                  title={`Add ${card.card_type}`}
                  aria-label={`Add ${card.card_type}`}
                  onClick={() => onAdd(card)}
                >
                  +
                </button>
              </div>
            ))}
          </div>
        ))}
      </div>
    </div>
  );
}
