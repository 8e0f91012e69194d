import type { Api } from './client';

/** One subfolder in the folder browser (GET /api/fs/dirs). */
export interface DirEntry {
  name: string;
  path: string;
  /** The folder has .flowweaver/workflows. */
  workflows?: boolean;
  /** The folder has an MCP configuration (.mcp.json, .cursor/mcp.json, .vscode/mcp.json). */
  mcp?: boolean;
  /** The known project opened on this folder. */
  projectId?: string;
}

/** A folder's subfolders; `path` "" is the list of roots (home, known projects). */
export interface DirListing {
  path: string;
  parent: string;
  roots: string[];
  entries: DirEntry[];
  truncated?: boolean;
}

/** Lists a folder's subfolders, confined server-side to the home folder and the known projects' folders. */
export function listDirs(api: Api, path: string, hidden = false): Promise<DirListing> {
  const q = new URLSearchParams();
  if (path) q.set('path', path);
  if (hidden) q.set('hidden', '1');
  const qs = q.toString();
  return api.call<DirListing>('GET', `/api/fs/dirs${qs ? `?${qs}` : ''}`);
}
