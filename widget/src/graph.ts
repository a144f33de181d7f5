// The graph document and the edits the canvas makes to it. Every edit returns a NEW document
// (assigned to the `graph` trait); the kernel replays it through the Pipeline and answers with the truth.
import type { CardInfo, DocEdge, DocNode, GraphDoc, Json, JsonObject, JsonSchema } from "./types";
import { pyRepr, resolveSchema } from "./schema";
import { schemaFloat, withFloats, type Path } from "./floats";

export interface Conn {
  source: string;
  sourceHandle: string | null | undefined;
  target: string;
  targetHandle: string | null | undefined;
}

export function edgeId(src: string, out: string, dst: string, inp: string): string {
  return `e-${src}-${out}-${dst}-${inp}`;
}

export function portCompatible(outputType: string, inputType: string): boolean {
  return outputType === inputType || outputType === "any" || inputType === "any";
}

/** Why `conn` may not become an edge (the words of Pipeline.connect), or null when it may. */
export function connectionProblem(doc: GraphDoc, cards: Map<string, CardInfo>, conn: Conn): string | null {
  const src = doc.nodes.find((n) => n.id === conn.source);
  const dst = doc.nodes.find((n) => n.id === conn.target);
  if (!src || !dst) return `No such node: ${pyRepr(!src ? conn.source : conn.target)}.`;
  const srcCard = cards.get(src.data.card_type);
  const dstCard = cards.get(dst.data.card_type);
  if (!srcCard || !dstCard) {
    const bad = !srcCard ? src : dst;
    return `Node ${pyRepr(bad.id)} has unknown card type ${pyRepr(bad.data.card_type)}; fix it before connecting.`;
  }
  if (src.id === dst.id) return `Cannot connect node ${pyRepr(src.id)} to itself.`;
  const out = conn.sourceHandle ?? "";
  const inp = conn.targetHandle ?? "";
  if (!(out in srcCard.outputs)) return `Node ${pyRepr(src.id)} (${src.data.card_type}) has no output ${pyRepr(out)}.`;
  if (!(inp in dstCard.inputs)) return `Node ${pyRepr(dst.id)} (${dst.data.card_type}) has no input ${pyRepr(inp)}.`;
  const outT = srcCard.outputs[out];
  const inT = dstCard.inputs[inp];
  if (!portCompatible(outT, inT)) {
    const fits = Object.entries(dstCard.inputs)
      .filter(([, t]) => portCompatible(outT, t))
      .map(([p]) => p);
    const hint = fits.length ? ` Compatible inputs of ${pyRepr(dst.id)}: ${fits.join(", ")}.` : "";
    return `Type mismatch: ${src.id}.${out} gives ${pyRepr(outT)} but ${dst.id}.${inp} expects ${pyRepr(inT)}.${hint}`;
  }
  const fed = doc.edges.find((e) => e.target === dst.id && e.data.target_input === inp);
  if (fed) {
    if (fed.source === src.id && fed.data.source_output === out) return `This edge already exists.`;
    return `Input ${dst.id}.${inp} is already fed by ${fed.source}.${fed.data.source_output}; disconnect that edge first.`;
  }
  if (reaches(doc, dst.id, src.id)) return `Connecting ${src.id} -> ${dst.id} would create a cycle.`;
  return null;
}

function reaches(doc: GraphDoc, start: string, goal: string): boolean {
  const children = new Map<string, string[]>();
  for (const e of doc.edges) {
    const list = children.get(e.source) ?? [];
    list.push(e.target);
    children.set(e.source, list);
  }
  const stack = [start];
  const seen = new Set<string>();
  while (stack.length) {
    const cur = stack.pop()!;
    if (cur === goal) return true;
    if (seen.has(cur)) continue;
    seen.add(cur);
    stack.push(...(children.get(cur) ?? []));
  }
  return false;
}

export function addEdge(doc: GraphDoc, conn: Conn): GraphDoc {
  const out = conn.sourceHandle ?? "";
  const inp = conn.targetHandle ?? "";
  const edge: DocEdge = {
    id: edgeId(conn.source, out, conn.target, inp),
    source: conn.source,
    target: conn.target,
    sourceHandle: out,
    targetHandle: inp,
    data: { source_output: out, target_input: inp },
  };
  return { ...doc, edges: [...doc.edges, edge] };
}

/** The id Pipeline.add would choose: `{card_type}-{n}`, n from the node counter. */
export function newNodeId(doc: GraphDoc, cardType: string): string {
  const taken = new Set(doc.nodes.map((n) => n.id));
  let n = (doc.nodeCounter ?? doc.nodes.length) + 1;
  while (taken.has(`${cardType}-${n}`)) n += 1;
  return `${cardType}-${n}`;
}

/** A starting config: required fields without a default get a value of their type. */
export function initialConfig(card: CardInfo): JsonObject {
  const schema = card.json_schema ?? {};
  const config: JsonObject = {};
  for (const name of schema.required ?? []) {
    const prop = resolveSchema(schema, schema.properties?.[name] ?? {});
    if ("default" in prop) continue;
    config[name] = zeroValue(prop);
  }
  return config;
}

/** Which values of `initialConfig(card)` are floats (a `number` field starts at 0.0). */
export function initialFloats(card: CardInfo): Path[] {
  const schema = card.json_schema ?? {};
  const out: Path[] = [];
  for (const name of schema.required ?? []) {
    const prop = resolveSchema(schema, schema.properties?.[name] ?? {});
    if ("default" in prop) continue;
    const t = Array.isArray(prop.type) ? prop.type.find((x) => x !== "null") : prop.type;
    if (prop.enum?.length ? schemaFloat(prop, ["enum", 0]) : t === "number") out.push([name]);
  }
  return out;
}

function zeroValue(s: JsonSchema): Json {
  if (s.enum?.length) return s.enum[0];
  const t = Array.isArray(s.type) ? s.type.find((x) => x !== "null") : s.type;
  switch (t) {
    case "integer":
    case "number":
      return s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : 0);
    case "boolean":
      return false;
    case "array":
      return [];
    case "object":
      return {};
    default:
      return "";
  }
}

export function addNode(doc: GraphDoc, card: CardInfo, position: { x: number; y: number }): [GraphDoc, string] {
  const id = newNodeId(doc, card.card_type);
  const node: DocNode = {
    id,
    type: "cardNode",
    position: { x: Math.round(position.x), y: Math.round(position.y) },
    data: withFloats({ card_type: card.card_type, config: initialConfig(card) }, ["config"], initialFloats(card)),
  };
  return [{ ...doc, nodes: [...doc.nodes, node], nodeCounter: (doc.nodeCounter ?? doc.nodes.length) + 1 }, id];
}

export function removeItems(doc: GraphDoc, nodeIds: Set<string>, edgeIds: Set<string>): GraphDoc {
  return {
    ...doc,
    nodes: doc.nodes.filter((n) => !nodeIds.has(n.id)),
    edges: doc.edges.filter((e) => !edgeIds.has(e.id) && !nodeIds.has(e.source) && !nodeIds.has(e.target)),
  };
}

/** The node's new config; `floats` (paths from the config) says which of its numbers are floats (floats.ts). */
export function setConfig(doc: GraphDoc, nodeId: string, config: JsonObject, floats?: Path[]): GraphDoc {
  const data = (n: DocNode) => (floats ? withFloats({ ...n.data, config }, ["config"], floats) : { ...n.data, config });
  return {
    ...doc,
    nodes: doc.nodes.map((n) => (n.id === nodeId ? { ...n, data: data(n) } : n)),
  };
}

export function movePositions(doc: GraphDoc, positions: Map<string, { x: number; y: number }>): GraphDoc {
  if (!positions.size) return doc;
  return {
    ...doc,
    nodes: doc.nodes.map((n) => {
      const p = positions.get(n.id);
      return p ? { ...n, position: { x: Math.round(p.x), y: Math.round(p.y) } } : n;
    }),
  };
}

/** Stable colours per category (built-ins fixed, others hashed). */
const CATEGORY_COLORS: Record<string, string> = {
  data: "#3b82f6",
  model: "#8b5cf6",
  training: "#a855f7",
  evaluation: "#f59e0b",
  inference: "#10b981",
  llm: "#ec4899",
};
const SPARE = ["#0ea5e9", "#ef4444", "#84cc16", "#6366f1", "#14b8a6", "#f97316", "#d946ef", "#64748b"];

export function categoryColor(category: string | undefined): string {
  if (!category) return "#64748b";
  if (CATEGORY_COLORS[category]) return CATEGORY_COLORS[category];
  let h = 0;
  for (const ch of category) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return SPARE[h % SPARE.length];
}

export const TYPE_COLORS: Record<string, string> = {
  dataframe: "#2563eb",
  model: "#7c3aed",
  json: "#d97706",
  bytes: "#475569",
  directory: "#db2777",
  text: "#059669",
  any: "#94a3b8",
};
