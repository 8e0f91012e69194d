import { useEffect } from 'react';
import type { ProjectTab } from '../store/project';
import type { Workspace } from '../store/workspace';
import { formatTime } from './format';
import { useStore } from '../store/store';
import { useTab } from './hooks';
import { Icon } from './icons';

/** What closing `tab` would leave behind, in words; null when nothing. */
export function unfinishedWork(tab: ProjectTab): string | null {
  const s = tab.get();
  const runs = Object.keys(s.activeRuns).length;
  const parts: string[] = [];
  if (s.dirty) parts.push(`unsaved changes in “${s.name}” (kept as a draft in this browser)`);
  if (runs) parts.push(`${runs} run${runs === 1 ? '' : 's'} in progress (they go on without the tab)`);
  return parts.length ? parts.join(' and ') : null;
}

/** Asks before a project tab with unsaved edits or active runs is closed. */
export function confirmClose(tab: ProjectTab): boolean {
  const what = unfinishedWork(tab);
  return !what || window.confirm(`Close ${tab.get().project.name}? It has ${what}.`);
}

/**
 * Makes the browser ask before the page is closed or reloaded while any tab
 * has unfinished work, and writes pending drafts when the page goes away.
 */
export function useUnloadGuard(ws: Workspace): void {
  useEffect(() => {
    // Drafts are written shortly after each edit; the last one must not wait for a page that is gone.
    const flush = () => {
      for (const t of ws.get().tabs) t.flushDraft();
    };
    const onHidden = () => document.visibilityState === 'hidden' && flush();
    const onBeforeUnload = (e: BeforeUnloadEvent) => {
      flush();
      if (!ws.get().tabs.some((t) => t.hasUnfinishedWork)) return;
      e.preventDefault();
      e.returnValue = ''; // older browsers need it set to show the dialog
    };
    window.addEventListener('beforeunload', onBeforeUnload);
    window.addEventListener('pagehide', flush);
    document.addEventListener('visibilitychange', onHidden);
    return () => {
      window.removeEventListener('beforeunload', onBeforeUnload);
      window.removeEventListener('pagehide', flush);
      document.removeEventListener('visibilitychange', onHidden);
    };
  }, [ws]);
}

/** Says that the canvas shows unsaved edits restored from a draft, with Discard. */
export function DraftBanner() {
  const tab = useTab();
  const at = useStore(tab, (s) => s.draftRestored);
  if (!at) return null;
  return (
    <div className="fw-banner info" data-testid="draft-restored">
      <Icon.history size={14} />
      <span>Unsaved changes from {formatTime(new Date(at).toISOString())} were restored. Save to keep them.</span>
      <span className="fw-grow" />
      <button className="fw-btn sm" data-testid="draft-discard" onClick={() => void tab.discardDraft()}>
        Discard changes
      </button>
    </div>
  );
}
