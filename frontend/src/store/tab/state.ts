import type { Api } from '../../api/client';
import type { JSONSchema, McpServerStatus, NodeStatus, Problem, Project, Run, RunStatus, Tool, Trigger, Workflow } from '../../api/types';
import type { RunForm } from '../../inputs/run';
import type { SocketState, WebSocketFactory } from '../../realtime';
import type { FlowEdge, FlowNode } from '../graph';
import type { Identity } from '../identity';
import type { MergeConflict } from '../merge';
import type { Toasts } from '../toasts';

export interface NodeState {
  status: NodeStatus;
  startedAt?: number;
  durationMs?: number;
  error?: string;
  output?: unknown;
  attempt?: number;
  /** Why the engine skipped the node. */
  reason?: string;
  /** Why this attempt runs, when an earlier one was interrupted ("server restarted"). */
  attemptReason?: string;
  /** A forEach node: items done of total. */
  progress?: { done: number; total: number; failed: number };
}

export interface ActiveRun {
  runId: string;
  workflowId: string;
  status: RunStatus;
  /** When the run was queued (ISO time); orders "newest". */
  createdAt?: string;
}

/**
 * The open workflow was saved elsewhere too. With `items` the versions were
 * merged and only these items (changed on both sides) wait for a choice;
 * without, there was nothing to merge against (whole-workflow choice).
 */
export interface Conflict {
  version: number;
  /** Their saved version. */
  workflow: Workflow | null;
  /** Who saved it, readable ("Firefox, window 2"). */
  by?: string;
  items?: MergeConflict[];
}

/** Another window (or this one) with the project open: an entry of the `presence:` channel. */
export interface PresenceEditor {
  connectionId: string;
  /** The workflow on its canvas; "" for none or a never-saved one. */
  workflowId?: string;
  /** Readable: "Ana · window 2", "Firefox · window 1". */
  name: string;
  client?: string;
  /** On this machine. */
  local?: boolean;
  since?: string;
}

/** The connection of an open tab is down (it was connected before). */
export interface Outage {
  /** When the connection was lost (epoch ms): running timers stop here. */
  since: number;
  /** When the next reconnect attempt is due (epoch ms), null while one is under way. */
  retryAt: number | null;
}

/** What was brought up to date after an outage (shown once the tab is back online). */
export interface Resync {
  at: number;
  offlineMs: number;
  items: string[];
}

export interface HistoryState {
  runs: Run[];
  next?: string;
  status: '' | RunStatus;
  loading: boolean;
  error?: string;
}

/**
 * The state of one project tab, read by React through useStore. Each field
 * is written by one slice: connection (conn, fatal), editor (the workflow
 * and its graph), runs (active runs, the run on display, history); the tab
 * itself writes the project, tools and workflow list.
 */
export interface TabState {
  project: Project;
  conn: SocketState;
  fatal: string | null;
  outage: Outage | null;
  resync: Resync | null;
  tools: Tool[];
  toolsLoading: boolean;
  /** The project's MCP servers and their state (written by the trust slice). */
  servers: McpServerStatus[];
  workflows: Workflow[];
  workflowId: string;
  name: string;
  /** 0: never saved. */
  version: number;
  nodes: FlowNode[];
  edges: FlowEdge[];
  triggers: Trigger[];
  /** The declared run inputs (a JSON Schema object schema), undefined when none. */
  inputs?: JSONSchema;
  /** The run form is open (Run on a workflow that declares inputs). */
  runForm: RunForm | null;
  /** The trigger shown in the inspector (its id), null when none is. */
  selectedTrigger: string | null;
  dirty: boolean;
  canUndo: boolean;
  canRedo: boolean;
  saving: boolean;
  problems: Problem[];
  /** A problem without node: shown above the canvas. */
  banner: string | null;
  conflict: Conflict | null;
  /** When the unsaved edits on the canvas were restored from a draft, the draft's time (epoch ms). */
  draftRestored: number | null;
  activeRuns: Record<string, ActiveRun>;
  /** The run shown on the canvas and in the log viewer. */
  runId: string | null;
  run: Run | null;
  nodeStates: Record<string, NodeState>;
  /** What the engine decided about each edge of the run on display, by canvas edge id. */
  edgeStates: Record<string, 'taken' | 'untaken' | 'pending'>;
  starting: boolean;
  history: HistoryState;
  loading: boolean;
  loadError: string | null;
  /** Who has the project open (this window included), from the presence slice. */
  editors: PresenceEditor[];
}

export interface TabDeps {
  api: Api;
  toasts: Toasts;
  wsBase: () => string;
  token: () => Promise<string>;
  refreshToken: () => Promise<string>;
  /** Number of active runs changed (the lazy policy listens). */
  onActiveRuns: (projectId: string, n: number) => void;
  /** Whether this tab is the foreground one (for "finished in background" toasts). */
  isForeground: (projectId: string) => boolean;
  createSocket?: WebSocketFactory;
  /** How this window names itself to others (presence); default: the window's one identity. */
  identity?: Identity;
}

export const newWorkflowId = () => `wf-${Math.random().toString(36).slice(2, 8)}`;

export function initialTabState(project: Project): TabState {
  return {
    project,
    conn: 'idle',
    fatal: null,
    outage: null,
    resync: null,
    tools: [],
    toolsLoading: true,
    servers: [],
    workflows: [],
    workflowId: newWorkflowId(),
    name: 'Untitled workflow',
    version: 0,
    nodes: [],
    edges: [],
    triggers: [],
    inputs: undefined,
    runForm: null,
    selectedTrigger: null,
    dirty: false,
    canUndo: false,
    canRedo: false,
    saving: false,
    problems: [],
    banner: null,
    conflict: null,
    draftRestored: null,
    activeRuns: {},
    runId: null,
    run: null,
    nodeStates: {},
    edgeStates: {},
    starting: false,
    history: { runs: [], status: '', loading: false },
    loading: true,
    loadError: null,
    editors: [],
  };
}
