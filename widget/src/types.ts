// The shapes of the synced traits (see tensorrag/widget/_canvas.py).

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface DocNode {
  id: string;
  type?: string;
  position: { x: number; y: number };
  data: { card_type: string; config: JsonObject; resources?: JsonObject; [key: string]: unknown };
  [key: string]: unknown;
}

export interface DocEdge {
  id: string;
  source: string;
  target: string;
  sourceHandle?: string;
  targetHandle?: string;
  data: { source_output: string; target_input: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** The `_pipeline.json` document (trait `graph`). */
export interface GraphDoc {
  schema_version?: number;
  name?: string;
  nodes: DocNode[];
  edges: DocEdge[];
  nodeCounter?: number;
  ui?: UiState;
  [key: string]: unknown;
}

/** One palette entry: the card's CardSchema plus json_schema / inputs / outputs. */
export interface CardInfo {
  card_type: string;
  display_name: string;
  description: string;
  category: string;
  execution_mode: string;
  config_schema: JsonObject;
  json_schema: JsonSchema;
  input_schema: Record<string, string>;
  output_schema: Record<string, string>;
  inputs: Record<string, string>;
  outputs: Record<string, string>;
  output_view_type: string;
}

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: Json[];
  const?: Json;
  default?: Json;
  title?: string;
  description?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  additionalProperties?: boolean | JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  definitions?: Record<string, JsonSchema>;
  [key: string]: unknown;
}

export interface NodeRunState {
  status: string;
  message: string;
  progress: { current: number; total: number } | null;
  /** ISO-8601 UTC times of the node's `running` and terminal events (absent before they happen). */
  started?: string | null;
  finished?: string | null;
  /** Seconds the card itself took (`timings.total`), known for a re-opened past run. */
  seconds?: number | null;
}

/** Trait `status`: the current run. */
export interface RunStatus {
  run_id: string | null;
  state: string;
  targets: string[] | null;
  error: string | null;
  execution_time: number | null;
  nodes: Record<string, NodeRunState>;
  /** A past run shown again from its manifest (the history panel's "Open"). */
  reopened?: boolean;
}

/** One past run, as `Project.runs()` / `GET /api/v2/projects/{name}/runs` list it. */
export interface RunSummary {
  run_id: string;
  status: string;
  started_at?: string | null;
  finished_at?: string | null;
  execution_time?: number | null;
  nodes?: Record<string, string>;
  failed?: string[];
  reason?: string;
  error?: string;
}

/** A named frame around nodes on the canvas (document key `ui.groups`). */
export interface Group {
  id: string;
  label: string;
  nodes: string[];
  collapsed?: boolean;
}

/** Canvas-only presentation kept in `_pipeline.json` under `ui` (runs never read it). */
export interface UiState {
  groups?: Group[];
  /** Nodes drawn as their title bar only. */
  collapsed?: string[];
}

export interface Preview {
  run_id: string;
  status: string;
  view: string;
  data: any;
  error: { type: string; message: string; traceback: string } | null;
  images: { port: string; ext: string }[];
}

export interface Problem {
  node_id: string | null;
  field?: string;
  message: string;
  source?: string;
  op?: string;
}

export interface LogLine {
  node_id: string | null;
  text: string;
  time: string | null;
  /** The run that printed it: a cancelled run's late lines are not shown under the next run. */
  run_id?: string | null;
}

export interface Traits {
  graph: GraphDoc;
  palette: CardInfo[];
  status: RunStatus;
  previews: Record<string, Preview>;
  logs: LogLine[];
  problems: Problem[];
  height: number;
  /** A sweep's canvas only (tensorrag/widget/_sweep.py). */
  sweep?: import("./sweep").SweepState;
}
