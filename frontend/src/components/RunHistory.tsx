import type { RunStatus } from '../api/types';
import { useStore } from '../store/store';
import { formatDuration, formatTime, runDuration } from './format';
import { useNow, useTab } from './hooks';
import { describeRunTrigger } from '../triggers/model';
import { RunInputs } from './InputRefProblems';

const filters: ('' | RunStatus)[] = ['', 'queued', 'running', 'succeeded', 'failed', 'canceled'];

/** Runs of the open workflow, newest first, with a status filter; click shows one on the canvas. */
export function RunHistory() {
  const tab = useTab();
  const h = useStore(tab, (s) => s.history);
  const runId = useStore(tab, (s) => s.runId);
  const version = useStore(tab, (s) => s.version);
  const live = h.runs.some((r) => r.status === 'running');
  const now = useNow(live);
  return (
    <div className="fw-history" data-testid="run-history">
      <div className="fw-logs-bar">
        <div className="fw-seg" role="tablist">
          {filters.map((f) => (
            <button key={f || 'all'} className={h.status === f ? 'on' : ''} data-testid={`history-filter-${f || 'all'}`} onClick={() => tab.setHistoryFilter(f)}>
              {f || 'all'}
            </button>
          ))}
        </div>
        <span className="fw-grow" />
        <button className="fw-btn ghost xs" onClick={() => void tab.loadHistory()}>
          Refresh
        </button>
      </div>
      <div className="fw-history-list">
        {!version && <div className="fw-logs-empty">Save and run this workflow to build up its history.</div>}
        {version > 0 && !h.loading && !h.runs.length && !h.error && (
          <div className="fw-logs-empty">{h.status ? `No ${h.status} runs.` : 'No runs yet. Press Run (Ctrl+Enter).'}</div>
        )}
        {h.error && <div className="fw-banner error small">{h.error}</div>}
        {h.runs.length > 0 && (
          <table className="fw-table">
            <thead>
              <tr>
                <th>Status</th>
                <th>Run</th>
                <th>Started by</th>
                <th>Inputs</th>
                <th>Started</th>
                <th>Duration</th>
                <th>Error</th>
              </tr>
            </thead>
            <tbody>
              {h.runs.map((r) => (
                <tr key={r.id} className={r.id === runId ? 'selected' : ''} onClick={() => tab.showRun(r.id)} data-testid="history-row" data-status={r.status}>
                  <td>
                    <span className={`fw-status-pill st-${r.status}`}>{r.status}</span>
                  </td>
                  <td className="mono small">{r.id}</td>
                  <td className="small" data-testid="history-trigger" data-trigger={r.trigger?.type ?? 'manual'}>
                    {describeRunTrigger(r.trigger).replace(/^started by /, '')}
                  </td>
                  <td className="small">
                    <RunInputs inputs={r.inputs} testid="history-inputs" />
                  </td>
                  <td className="small">{formatTime(r.startedAt ?? r.createdAt)}</td>
                  <td className="small">{formatDuration(runDuration(r, now))}</td>
                  <td className="small fw-ellipsis" title={r.error}>
                    {r.error}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {h.next && (
          <button className="fw-btn ghost xs fw-more" disabled={h.loading} onClick={() => void tab.loadHistory(true)}>
            {h.loading ? 'Loading…' : 'Load more'}
          </button>
        )}
      </div>
    </div>
  );
}
