import { createContext, useContext } from 'react';
import type { Api } from '../api/client';
import type { Toasts } from '../store/toasts';
import type { Workspace } from '../store/workspace';

/** The window's API client, workspace (open tabs) and toasts, for views that manage projects. */
export interface ShellServices {
  api: Api;
  ws: Workspace;
  toasts: Toasts;
}

export const ShellContext = createContext<ShellServices | null>(null);

export function useShell(): ShellServices {
  const s = useContext(ShellContext);
  if (!s) throw new Error('useShell outside the app shell');
  return s;
}
