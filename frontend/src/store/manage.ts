import type { Api } from '../api/client';
import type { Project } from '../api/types';
import { Drafts } from './tab/drafts';
import type { Toasts } from './toasts';
import type { Workspace } from './workspace';

/**
 * Forgets a project: the server deletes everything it holds about it (run
 * history and logs, secrets, the trust decision and MCP approvals, trigger
 * state; its active runs are canceled first), this browser drops its
 * unsaved drafts, and its tab closes. The folder and its files are not
 * touched: opening it again makes a new, untrusted project.
 */
export async function forgetProject(deps: { api: Api; ws?: Workspace; toasts?: Toasts }, p: Project): Promise<void> {
  await deps.api.deleteProject(p.id);
  // After the delete succeeded: a failed one leaves the tab as it was.
  deps.ws?.close(p.id);
  new Drafts(p.id).clear();
  deps.toasts?.push({ level: 'success', title: `Forgot “${p.name}”`, message: `The folder ${p.path} was not touched.` });
}
