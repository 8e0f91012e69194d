import { useStore } from '../store/store';
import { activeRunsOf } from '../store/tab/runs';
import { formatTime } from './format';
import { useTab } from './hooks';

/**
 * Picks the run shown on the canvas when the open workflow has more than
 * one to choose from: its active runs (newest first) and the run on display
 * if that one has ended. Hidden when there is nothing to choose.
 */
export function RunSwitcher() {
  const tab = useTab();
  const workflowId = useStore(tab, (s) => s.workflowId);
  const activeRuns = useStore(tab, (s) => s.activeRuns);
  const runId = useStore(tab, (s) => s.runId);
  const run = useStore(tab, (s) => s.run);
  const options = activeRunsOf(activeRuns, workflowId).map((r) => ({ id: r.runId, status: r.status, at: r.createdAt }));
  if (runId && !options.some((o) => o.id === runId)) {
    options.push({ id: runId, status: run?.status ?? 'queued', at: run?.createdAt });
  }
  if (options.length < 2) return null;
  const active = options.filter((o) => activeRuns[o.id]).length;
  return (
    <label className="fw-run-switcher" title="Choose the run shown on the canvas">
      <span className="fw-muted small">{active} active</span>
      <select data-testid="run-switcher" value={runId ?? ''} onChange={(e) => e.target.value && tab.showRun(e.target.value)}>
        {!runId && <option value="">choose a run…</option>}
        {options.map((o) => (
          <option key={o.id} value={o.id}>
            {`${o.id.slice(0, 8)} · ${o.status}${o.at ? ` · ${formatTime(o.at)}` : ''}`}
          </option>
        ))}
      </select>
    </label>
  );
}
