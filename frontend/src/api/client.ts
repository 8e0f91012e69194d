import type { InvalidWorkflow, Problem, Project, Run, RunPage, RunStatus, Tool, ToolCatalog, TriggerInfo, TrustReview, Workflow, Workspace, QueueStats } from './types';

/**
 * A failed REST call, from the JSON error body `{error, message}` of
 * docs/backend.md "Errors" (plus `problems` on validation errors and `details`).
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly problems: Problem[];
  /** The body's `details` (or the whole body): see ErrorDetails. */
  readonly details: unknown;
  constructor(status: number, code: string, message: string, problems: Problem[] = [], details: unknown = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.problems = problems;
    this.details = details;
  }
}

export interface AuthSource {
  /** A currently valid token (refreshed first if it is about to expire). */
  token(): Promise<string>;
  /** Called once after a 401: refresh and return the new token, or throw. */
  refresh(): Promise<string>;
  /** The session is over: the UI shows the login-again screen. */
  expired(reason: string): void;
}

export interface ClientOptions {
  /** '' in the browser (same origin), `http://127.0.0.1:port` on the desktop. */
  baseUrl: string;
  auth: AuthSource;
  fetch?: typeof fetch;
  /**
   * Called when the server answers 507 `disk_full`: nothing was saved and
   * the user must free space, whatever the action was, so the app shows it
   * once, globally (a toast), besides the caller's own error handling.
   */
  onDiskFull?: (message: string) => void;
}

/** Typed wrapper of the REST routes the UI uses. */
export class Api {
  private base: string;
  private auth: AuthSource;
  private doFetch: typeof fetch;
  private onDiskFull?: (message: string) => void;

  constructor(o: ClientOptions) {
    this.base = o.baseUrl.replace(/\/$/, '');
    this.auth = o.auth;
    this.doFetch = o.fetch ?? ((...a) => fetch(...a));
    this.onDiskFull = o.onDiskFull;
  }

  async call<T>(method: string, path: string, body?: unknown, retried = false, extraHeaders?: Record<string, string>): Promise<T> {
    const token = await this.auth.token();
    const headers: Record<string, string> = { ...extraHeaders, Authorization: `Bearer ${token}`, Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res: Response;
    try {
      res = await this.doFetch(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new ApiError(0, 'network', `cannot reach the Flow Weaver server (${(e as Error).message})`);
    }
    if (res.status === 401 && !retried) {
      try {
        await this.auth.refresh();
      } catch {
        this.auth.expired('your session has expired');
        throw new ApiError(401, 'unauthorized', 'session expired');
      }
      return this.call<T>(method, path, body, true, extraHeaders);
    }
    if (res.status === 401) {
      this.auth.expired('the server no longer accepts this session');
    }
    try {
      return await parse<T>(res);
    } catch (e) {
      if (e instanceof ApiError && e.code === 'disk_full') this.onDiskFull?.(e.message);
      throw e;
    }
  }

  // --- projects and workspace ---
  listProjects() {
    return this.call<Project[] | { projects?: Project[] } | null>('GET', '/api/projects').then((b) => (Array.isArray(b) ? b : (b?.projects ?? [])));
  }
  getProject(id: string) {
    return this.call<Project>('GET', `/api/projects/${enc(id)}`);
  }
  createProject(name: string, path: string, opts: { trusted?: boolean; create?: boolean } = {}) {
    return this.call<Project>('POST', '/api/projects', { name, path, ...opts });
  }

  // --- trust (docs/security.md) ---
  trustReview(projectId: string) {
    return this.call<TrustReview>('GET', `/api/projects/${enc(projectId)}/trust`);
  }
  /** Trusts or revokes; approve lists the MCP fingerprints the user was shown (omitted: all current ones). */
  setTrust(projectId: string, trusted: boolean, approve?: string[]) {
    return this.call<Project>('PUT', `/api/projects/${enc(projectId)}/trust`, approve ? { trusted, approve } : { trusted });
  }
  approveMcpEntry(projectId: string, fingerprint: string) {
    return this.call<TrustReview>('POST', `/api/projects/${enc(projectId)}/trust/approvals`, { fingerprint });
  }
  deleteProject(id: string) {
    return this.call<void>('DELETE', `/api/projects/${enc(id)}`);
  }
  getWorkspace() {
    return this.call<Workspace>('GET', '/api/workspace');
  }
  putWorkspace(w: Workspace) {
    return this.call<void>('PUT', '/api/workspace', w);
  }

  // --- tools and workflows ---
  toolCatalog(projectId: string) {
    return this.call<ToolCatalog>('GET', `/api/projects/${enc(projectId)}/tools`).then((b) => ({ ...b, tools: b.tools ?? [] }));
  }
  listTools(projectId: string) {
    return this.call<{ tools: Tool[] }>('GET', `/api/projects/${enc(projectId)}/tools`).then((b) => b.tools ?? []);
  }
  /** The valid workflows, then the files that are invalid on disk (`valid: false`, with their problems and no nodes). */
  listWorkflows(projectId: string) {
    return this.call<Workflow[] | { workflows?: Workflow[]; invalid?: InvalidWorkflow[] } | null>('GET', `/api/projects/${enc(projectId)}/workflows`).then((b) =>
      Array.isArray(b) ? b : [...(b?.workflows ?? []), ...(b?.invalid ?? []).map((w): Workflow => ({ id: w.id, name: w.name ?? '', version: w.version, problems: w.problems, nodes: [], edges: [], valid: false }))],
    );
  }
  /** A workflow as it is on disk, even when invalid (then `valid: false` and its problems); a file that is not JSON is still an error. */
  getWorkflowAsWritten(projectId: string, workflowId: string) {
    return this.call<Workflow>('GET', `/api/projects/${enc(projectId)}/workflows/${enc(workflowId)}?invalid=1`);
  }
  getWorkflow(projectId: string, workflowId: string) {
    return this.call<Workflow>('GET', `/api/projects/${enc(projectId)}/workflows/${enc(workflowId)}`);
  }
  /** Saves a workflow; with baseVersion the save is conditional (If-Match: a 409 with their version when it moved on). */
  putWorkflow(projectId: string, workflowId: string, wf: Workflow, baseVersion?: number) {
    const ifMatch = baseVersion !== undefined && baseVersion >= 0 ? { 'If-Match': `"${baseVersion}"` } : undefined;
    return this.call<{ version: number }>('PUT', `/api/projects/${enc(projectId)}/workflows/${enc(workflowId)}`, wf, false, ifMatch);
  }
  deleteWorkflow(projectId: string, workflowId: string) {
    return this.call<void>('DELETE', `/api/projects/${enc(projectId)}/workflows/${enc(workflowId)}`);
  }

  // --- triggers (docs/triggers.md) ---
  listTriggers(projectId: string, workflowId: string) {
    return this.call<{ triggers: TriggerInfo[] }>('GET', `/api/projects/${enc(projectId)}/workflows/${enc(workflowId)}/triggers`).then(
      (b) => b.triggers ?? [],
    );
  }
  rotateWebhook(projectId: string, workflowId: string, triggerId: string) {
    return this.call<TriggerInfo>('POST', `/api/projects/${enc(projectId)}/workflows/${enc(workflowId)}/triggers/${enc(triggerId)}/rotate`);
  }
  previewSchedule(cron: string, timezone = '', count = 5) {
    const qs = new URLSearchParams({ cron, timezone, count: String(count) });
    return this.call<{ nextFireTimes: string[] }>('GET', `/api/triggers/schedule-preview?${qs}`).then((b) => b.nextFireTimes ?? []);
  }
  matchFiles(projectId: string, glob: string, limit = 50) {
    const qs = new URLSearchParams({ glob, limit: String(limit) });
    return this.call<{ files: string[]; truncated: boolean }>('GET', `/api/projects/${enc(projectId)}/files?${qs}`);
  }

  // --- runs ---
  startRun(projectId: string, workflowId: string, inputs: Record<string, unknown> = {}) {
    return this.call<{ runId: string; status: RunStatus }>(
      'POST',
      `/api/projects/${enc(projectId)}/workflows/${enc(workflowId)}/runs`,
      { inputs },
    );
  }
  getRun(runId: string) {
    return this.call<Run>('GET', `/api/runs/${enc(runId)}`);
  }
  cancelRun(runId: string) {
    return this.call<void>('POST', `/api/runs/${enc(runId)}/cancel`);
  }
  /** Starts a finished run again from one node; the nodes before it keep their results. */
  rerunRun(runId: string, fromNode: string) {
    return this.call<{ runId: string; status: RunStatus; rerunOf: string }>('POST', `/api/runs/${enc(runId)}/rerun`, { fromNode });
  }
  listRuns(
    projectId: string,
    q: { workflowId?: string; status?: string; limit?: number; cursor?: string; parentRunId?: string; parentNodeId?: string; topLevel?: boolean } = {},
  ) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') qs.set(k, String(v));
    const s = qs.toString();
    return this.call<RunPage>('GET', `/api/projects/${enc(projectId)}/runs${s ? `?${s}` : ''}`);
  }
  queue() {
    return this.call<QueueStats>('GET', '/api/queue');
  }
}

const enc = encodeURIComponent;

/** Parses a response: JSON on 2xx, ApiError from the JSON error body otherwise. */
export async function parse<T>(res: Response): Promise<T> {
  const text = await res.text();
  let body: unknown = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  if (res.ok) return body as T;
  return Promise.reject(errorFrom(res, text, body as ErrorBody | null));
}

/** The JSON error body of a failed call. */
interface ErrorBody {
  error?: string;
  message?: string;
  problems?: Problem[];
  details?: { problems?: Problem[] };
}

function errorFrom(res: Response, text: string, body: ErrorBody | null): ApiError {
  const code = body?.error ?? httpCode(res.status);
  const message = body?.message ?? (text && !body ? text.slice(0, 200) : `${res.status} ${res.statusText}`);
  return new ApiError(res.status, code, message, body?.problems ?? body?.details?.problems ?? [], body?.details ?? body);
}

function httpCode(status: number): string {
  if (status === 400) return 'bad_request';
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  return 'internal';
}
