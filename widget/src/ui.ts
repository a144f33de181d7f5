// The canvas-only part of the document (`ui`: groups and collapsed nodes) and its edits. Every edit
// returns a NEW document, committed like any other edit (the kernel keeps `ui` verbatim in _pipeline.json).
import type { GraphDoc, Group, UiState } from "./types";

export function uiOf(doc: GraphDoc | undefined): UiState {
  const ui = doc?.ui;
  return ui && typeof ui === "object" ? ui : {};
}

export function groupsOf(doc: GraphDoc | undefined): Group[] {
  const groups = uiOf(doc).groups;
  return Array.isArray(groups) ? groups.filter((g) => g && typeof g.id === "string" && Array.isArray(g.nodes)) : [];
}

function withUi(doc: GraphDoc, ui: UiState): GraphDoc {
  const clean: UiState = {};
  if (ui.groups?.length) clean.groups = ui.groups;
  if (ui.collapsed?.length) clean.collapsed = ui.collapsed;
  const { ui: _old, ...rest } = doc;
  return Object.keys(clean).length ? { ...rest, ui: clean } : (rest as GraphDoc);
}

export function isCollapsed(doc: GraphDoc | undefined, nodeId: string): boolean {
  return (uiOf(doc).collapsed ?? []).includes(nodeId);
}

export function toggleCollapsed(doc: GraphDoc, nodeIds: string[]): GraphDoc {
  const now = new Set(uiOf(doc).collapsed ?? []);
  const collapse = nodeIds.some((id) => !now.has(id)); // mixed selection: collapse them all
  for (const id of nodeIds) collapse ? now.add(id) : now.delete(id);
  return withUi(doc, { ...uiOf(doc), collapsed: [...now] });
}

/** A new group around `nodeIds` (taken out of any group they were in). */
export function addGroup(doc: GraphDoc, nodeIds: string[], label?: string): [GraphDoc, string] {
  const groups = groupsOf(doc);
  const taken = new Set(groups.map((g) => g.id));
  let n = groups.length + 1;
  while (taken.has(`group-${n}`)) n += 1;
  const id = `group-${n}`;
  const members = new Set(nodeIds);
  const rest = groups.map((g) => ({ ...g, nodes: g.nodes.filter((x) => !members.has(x)) })).filter((g) => g.nodes.length);
  const group: Group = { id, label: label || `Group ${n}`, nodes: [...members], collapsed: false };
  return [withUi(doc, { ...uiOf(doc), groups: [...rest, group] }), id];
}

export function updateGroup(doc: GraphDoc, id: string, change: Partial<Group> | null): GraphDoc {
  const groups = groupsOf(doc)
    .map((g) => (g.id === id ? (change ? { ...g, ...change } : null) : g))
    .filter((g): g is Group => g !== null);
  return withUi(doc, { ...uiOf(doc), groups });
}

/** Nodes hidden because their group is collapsed. */
export function hiddenNodes(doc: GraphDoc | undefined): Set<string> {
  const out = new Set<string>();
  for (const g of groupsOf(doc)) if (g.collapsed) g.nodes.forEach((id) => out.add(id));
  return out;
}
