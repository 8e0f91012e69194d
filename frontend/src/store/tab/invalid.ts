import { ApiError, type Api } from '../../api/client';
import type { Problem, Workflow } from '../../api/types';

/** A workflow to show on the canvas, with the problems of its file when it is invalid on disk. */
export interface AsWritten {
  wf: Workflow;
  /** Set when the file on disk is invalid. */
  problems?: Problem[];
  /** The file could not be read as a workflow at all (not JSON): nothing of it is drawn. */
  unreadable?: boolean;
}

/**
 * Loads a workflow as it is on disk. A file made invalid there (an edge
 * to a node that is gone, a bad field) comes back as written with its
 * problems, so the editor draws it and the user repairs it; a file that is
 * not even JSON opens as an empty canvas with its problem, so it can be
 * rebuilt (saving replaces the file) or deleted.
 */
export async function loadAsWritten(api: Api, projectId: string, workflowId: string, listed: Workflow[]): Promise<AsWritten> {
  try {
    const wf = await api.getWorkflowAsWritten(projectId, workflowId);
    return wf.valid === false ? { wf, problems: wf.problems ?? [] } : { wf };
  } catch (e) {
    const entry = listed.find((w) => w.id === workflowId);
    if (!(e instanceof ApiError) || e.status !== 400 || entry?.valid !== false) throw e;
    return {
      wf: { id: workflowId, name: entry.name || workflowId, version: entry.version, nodes: [], edges: [] },
      problems: e.problems?.length ? e.problems : (entry.problems ?? [{ field: 'file', message: e.message }]),
      unreadable: true,
    };
  }
}

/** The banner over the canvas of an invalid file: what is wrong and what to do. */
export function invalidBanner(workflowId: string, name: string, r: AsWritten): string {
  const n = r.problems?.length ?? 0;
  const what = `“${name}” is invalid on disk (.flowweaver/workflows/${workflowId}.json): ${n === 1 ? '1 problem' : `${n} problems`}, listed in the Problems tab.`;
  return r.unreadable
    ? `${what} It cannot be drawn: fix it in a text editor, delete it, or build it anew here (saving replaces the file).`
    : `${what} Fix it here (a node that is missing is drawn as a placeholder: delete its edges) and save.`;
}
