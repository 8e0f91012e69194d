import type { Api } from '../api/client';
import { Store } from './store';

/** Where a secret is referenced: a workflow node's params, or an MCP server entry. */
export interface SecretUse {
  kind: 'workflow' | 'mcp';
  workflowId?: string;
  nodeId?: string;
  server?: string;
  file?: string;
}

/** A stored secret as the server lists it: never its value. */
export interface SecretInfo {
  name: string;
  updatedAt: string;
  usedBy: SecretUse[];
}

/** A referenced name the project has no secret for. */
export interface MissingSecret {
  name: string;
  usedBy: SecretUse[];
}

export interface SecretsState {
  loaded: boolean;
  loading: boolean;
  error: string | null;
  secrets: SecretInfo[];
  missing: MissingSecret[];
}

export const SECRET_NAME = /^[A-Z_][A-Z0-9_]{0,63}$/;

/**
 * The secrets of one project tab. Values go to the server and are never
 * kept here: after `set` resolves, nothing in the UI holds the value.
 */
export class ProjectSecrets extends Store<SecretsState> {
  constructor(
    private api: Api,
    private projectId: string,
  ) {
    super({ loaded: false, loading: false, error: null, secrets: [], missing: [] });
  }

  private path(name?: string): string {
    const base = `/api/projects/${encodeURIComponent(this.projectId)}/secrets`;
    return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
  }

  async reload(): Promise<void> {
    this.set({ loading: true });
    try {
      const body = await this.api.call<{ secrets?: SecretInfo[]; missing?: MissingSecret[] }>('GET', this.path());
      this.set({ loaded: true, loading: false, error: null, secrets: body?.secrets ?? [], missing: body?.missing ?? [] });
    } catch (e) {
      this.set({ loading: false, error: (e as Error).message });
    }
  }

  /** Stores (or replaces) a value; the caller clears its input afterwards. */
  async put(name: string, value: string): Promise<void> {
    await this.api.call<void>('PUT', this.path(name), { value });
    await this.reload();
  }

  async remove(name: string): Promise<void> {
    await this.api.call<void>('DELETE', this.path(name));
    await this.reload();
  }
}

// The same reference forms the server accepts: {{ secrets.NAME }} and
// {{ secrets["NAME"] }} (also with single quotes).
const BLOCK = /\{\{([\s\S]*?)\}\}/g;
const REF = /(^|[^.\w])secrets\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*(?:"([^"]*)"|'([^']*)')\s*\])/g;

/** The secret names referenced anywhere in a node's params. */
export function secretRefs(params: unknown, out = new Set<string>()): Set<string> {
  if (typeof params === 'string') {
    if (!params.includes('secrets')) return out;
    for (const b of params.matchAll(BLOCK)) {
      for (const m of b[1].matchAll(REF)) out.add(m[2] ?? m[3] ?? m[4]);
    }
  } else if (Array.isArray(params)) {
    for (const v of params) secretRefs(v, out);
  } else if (params && typeof params === 'object') {
    for (const v of Object.values(params)) secretRefs(v, out);
  }
  return out;
}

/** Referenced-but-unset secrets of the nodes on the canvas, as Problems rows. */
export function missingSecretProblems(
  nodes: { id: string; data: { params?: Record<string, unknown> } }[],
  have: Set<string>,
): { node: string; name: string; message: string }[] {
  const out: { node: string; name: string; message: string }[] = [];
  for (const n of nodes) {
    for (const name of secretRefs(n.data.params ?? {})) {
      if (!have.has(name)) out.push({ node: n.id, name, message: `secret ${name} is not set in this project: the node will fail when it runs` });
    }
  }
  return out;
}
