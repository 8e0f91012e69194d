// Types mirroring the Go JSON of backend/flow (types.go, event.go, services.go)
// and the REST API of docs/backend.md. Keep field names identical to the json tags.

export interface Project {
  id: string;
  name: string;
  path: string;
  createdAt?: string;
  /** Whether the user trusted the folder: until then it runs nothing it brings (docs/security.md). */
  trusted?: boolean;
  /** Extension: queued + running runs, for the background-tab poll. */
  activeRuns?: number;
  /** When the newest run was created: the poll notices runs that started by themselves. */
  lastRunAt?: string;
}

/** One MCP server entry as the trust review shows it: as written, nothing expanded. */
export interface McpEntryReview {
  server: string;
  file: string;
  type?: string;
  command?: string;
  args?: string[];
  cwd?: string;
  url?: string;
  env?: string[];
  envFile?: string;
  headers?: string[];
  variables?: string[];
  /** Project secrets it receives through ${secret:NAME} (names only). */
  secrets?: string[];
  inheritsEnvironment?: boolean;
  fingerprint: string;
  error?: string;
  approval: 'approved' | 'new' | 'changed';
}

export interface WorkflowReview {
  id: string;
  name: string;
  nodes: number;
  tools?: string[];
  commands?: string[];
  valid: boolean;
}

/** One configured MCP server in the tool catalog ("servers"), with its state. */
export interface McpServerStatus {
  server: string;
  file: string;
  type?: string;
  /** idle, starting, ready, failed, stopped, ignored, untrusted, pending_approval; "" server = a file problem. */
  status: string;
  error?: string;
  tools?: number;
  pid?: number;
  fingerprint?: string;
}

/** GET /api/projects/{id}/tools: the tools plus each MCP server's status. */
export interface ToolCatalog {
  tools: Tool[];
  servers?: McpServerStatus[];
  unavailable?: { source: string; message: string }[];
}

/** GET /api/projects/{id}/trust: what the project would run once trusted. */
export interface TrustReview {
  projectId: string;
  path: string;
  trusted: boolean;
  workflows: WorkflowReview[];
  mcpServers: McpEntryReview[];
  problems?: { file: string; error?: string }[];
}

export interface Position {
  x: number;
  y: number;
}

export interface RetryPolicy {
  max: number;
  backoffMs?: number;
}

export interface WorkflowNode {
  id: string;
  tool: string;
  label?: string;
  params?: Record<string, unknown>;
  retry?: RetryPolicy;
  timeoutMs?: number;
  position?: Position;
}

/** When an edge's target may run: after success (default), failure, always, or a branch of an if/switch. */
// (string & {}): any branch name, while editors still offer the three words.
export type EdgeOn = 'success' | 'failure' | 'always' | (string & {});

export interface WorkflowEdge {
  source: string;
  target: string;
  /** Omitted means "success". */
  on?: EdgeOn;
}

/** The engine's decision about one edge of a run (GET /api/runs/{id} "edges"). */
export interface EdgeState {
  source: string;
  target: string;
  on: string;
  state: 'taken' | 'untaken' | 'pending';
}

/** One outgoing edge in a node's end event. */
export interface EdgeDecision {
  target: string;
  on: string;
  taken: boolean;
}

export interface Workflow {
  id?: string;
  name: string;
  version?: number;
  nodes: WorkflowNode[];
  edges: WorkflowEdge[];
  /** What starts the workflow by itself (docs/triggers.md). */
  triggers?: Trigger[];
  /** false for a file that is invalid on disk (GET …/workflows lists it under "invalid"); its problems say why. */
  valid?: boolean;
  problems?: Problem[];
  /** The declared run inputs, a JSON Schema object schema (docs/workflows.md, Inputs). */
  inputs?: JSONSchema;
}

export type TriggerType = 'schedule' | 'webhook' | 'files';

/** One trigger of a workflow, as saved in the workflow file. */
export interface Trigger {
  id: string;
  type: TriggerType;
  /** false switches it off without deleting it. */
  enabled?: boolean;
  label?: string;
  cron?: string;
  timezone?: string;
  respond?: 'immediately' | 'onCompleted';
  glob?: string;
  debounceMs?: number;
}

/** GET .../triggers: a trigger with what the server adds (URL, next slots). */
export interface TriggerInfo extends Trigger {
  enabled: boolean;
  active: boolean;
  nextFireAt?: string;
  nextFireTimes?: string[];
  url?: string;
}

/** What started a run (the run JSON's "trigger"). */
export interface RunTrigger {
  // (string & {}): a newer server's kinds too, while editors still offer the known ones.
  type: 'manual' | TriggerType | (string & {});
  id?: string;
  scheduledFor?: string;
  missed?: number;
  files?: number;
  method?: string;
}

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled';
export type NodeStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'canceled';

export const terminalRun = (s: RunStatus | undefined) => s === 'succeeded' || s === 'failed' || s === 'canceled';

export interface NodeRun {
  nodeId: string;
  status: NodeStatus;
  attempt?: number;
  /** Why the current attempt runs when an earlier one was interrupted ("server restarted"). */
  reason?: string;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  output?: unknown;
  error?: string;
}

export interface Run {
  id: string;
  projectId: string;
  workflowId: string;
  status: RunStatus;
  inputs?: Record<string, unknown>;
  trigger?: RunTrigger;
  error?: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  nodes?: NodeRun[];
  workflow?: Workflow;
  /** Child runs (workflow/forEach nodes): the parent run, its node, the item. */
  parentRunId?: string;
  parentNodeId?: string;
  itemIndex?: number;
  depth?: number;
  /** A re-run: the run it re-runs and the node it started from. */
  rerunOf?: string;
  rerunFrom?: string;
  /** Run reads: the engine's decision per workflow edge. */
  edges?: EdgeState[];
}

export interface RunPage {
  runs: Run[];
  next?: string;
}

export interface Tool {
  name: string;
  title: string;
  description: string;
  inputSchema: JSONSchema | null;
  source: string;
}

/** The subset of JSON Schema the inspector understands. */
export interface JSONSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, JSONSchema>;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  items?: JSONSchema;
  minimum?: number;
  maximum?: number;
  format?: string;
  additionalProperties?: boolean | JSONSchema;
}

/** One validation problem; node/edge say where on the canvas it belongs. */
/** An entry of GET …/workflows "invalid": a workflow file on disk that does not validate. */
export interface InvalidWorkflow {
  id: string;
  name?: string;
  version: number;
  nodeCount?: number;
  valid: false;
  problems?: Problem[];
}

export interface Problem {
  field: string;
  node?: string;
  edge?: number;
  message: string;
}

export interface WorkflowConflict {
  version: number;
  workflow: Workflow | null;
}

export interface QueueStats {
  queued: number;
  running: number;
  workers: number;
  busyWorkers: number;
  [k: string]: unknown;
}

export interface Workspace {
  tabs: string[];
  active: string | null;
}

/** Payloads of the durable events (docs/websocket.md, Channels). */
export interface RunEventPayload {
  runId: string;
  workflowId?: string;
  status?: RunStatus;
  error?: string;
  [k: string]: unknown;
}

export interface NodeEventPayload {
  runId: string;
  nodeId: string;
  durationMs?: number;
  output?: unknown;
  error?: string;
  attempt?: number;
  /** node.completed/failed/skipped: what became of the node's outgoing edges. */
  edges?: EdgeDecision[];
  /** node.completed of an if/switch: the branch taken. */
  branch?: string;
  /** node.skipped: why. */
  reason?: string;
  /** node.failed: a failure or always edge handles it (the run goes on). */
  handled?: boolean;
  /** node.progress (forEach): items done of total, failed among them. */
  done?: number;
  total?: number;
  failed?: number;
}

export interface NodeLogPayload {
  runId: string;
  nodeId: string;
  stream: 'stdout' | 'stderr';
  lines: string[];
}

export interface NotificationPayload {
  /** info, success, warning or error; anything else is shown as info. */
  level: string;
  message: string;
  data?: unknown;
}

/** Payload of workflow.updated (and of the project channel's workflow events). */
export interface WorkflowUpdatedPayload {
  workflowId?: string;
  /** Connection id of the editor that saved; our own saves are skipped. */
  by?: string;
  version?: number;
}

/**
 * What an error carries beyond code and message: the `error` reply's payload
 * over the socket, the `details` of a REST error. A conflict brings the
 * current version and workflow; a validation error brings problems. Some
 * servers nest it once more under `details`.
 */
export interface ErrorDetails {
  code?: string;
  message?: string;
  version?: number;
  workflow?: Workflow | null;
  problems?: Problem[];
  details?: ErrorDetails;
}
