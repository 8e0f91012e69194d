import { describeRunTrigger } from '../triggers/model';
import { RunLineage } from '../canvas/ControlParts';
import { useState } from 'react';
import { useStore } from '../store/store';
import { formatDuration, runDuration } from './format';
import { useNow, useTab } from './hooks';
import { Icon } from './icons';
import { LogViewer } from './LogViewer';
import { RunHistory } from './RunHistory';
import { InputRefProblemRows, RunInputs, useInputRefProblems } from './InputRefProblems';
import { MissingSecretRows, useMissingSecrets } from './SecretProblems';

type Panel = 'logs' | 'history' | 'problems';

/** Logs / history / problems under the canvas. */
export function BottomPanel() {
  const tab = useTab();
  const [panel, setPanel] = useState<Panel>('logs');
  const [open, setOpen] = useState(true);
  const run = useStore(tab, (s) => s.run);
  const problems = useStore(tab, (s) => s.problems);
  const missingSecrets = useMissingSecrets();
  const inputRefs = useInputRefProblems();
  const problemCount = problems.length + missingSecrets.length + inputRefs.length;
  const nodeIds = useStore(tab, (s) => s.nodes.map((n) => n.id).join('\n'));
  const selected = useStore(tab, (s) => {
    const sel = s.nodes.filter((n) => n.selected);
    return sel.length === 1 ? sel[0].id : null;
  });
  const running = run?.status === 'running' || run?.status === 'queued';
  const staleSince = useStore(tab, (s) => s.outage?.since ?? null);
  const stale = !!running && staleSince !== null;
  const now = useNow(!!running && !stale);
  const show = (p: Panel) => {
    setPanel(p);
    setOpen(true);
  };
  return (
    <section className={`fw-bottom ${open ? '' : 'collapsed'}`} data-testid="bottom-panel">
      <div className="fw-bottom-tabs">
        <button className={panel === 'logs' ? 'on' : ''} onClick={() => show('logs')} data-testid="panel-logs">
          <Icon.terminal size={13} /> Logs
        </button>
        <button className={panel === 'history' ? 'on' : ''} onClick={() => show('history')} data-testid="panel-history">
          <Icon.history size={13} /> Run history
        </button>
        <button className={panel === 'problems' ? 'on' : ''} onClick={() => show('problems')} data-testid="panel-problems">
          <Icon.alert size={13} /> Problems {problemCount > 0 && <span className="fw-count">{problemCount}</span>}
        </button>
        <span className="fw-grow" />
        {run && (
          <span className="fw-run-summary" data-testid="run-summary">
            <span className="mono small">{run.id}</span>
            <RunLineage run={run} />
            <RunInputs inputs={run.inputs} testid="run-inputs-summary" />
            {run.trigger && run.trigger.type !== 'manual' && (
              <span className="fw-muted small" data-testid="run-trigger">
                {describeRunTrigger(run.trigger)}
              </span>
            )}
            <span className={`fw-status-pill st-${run.status}`} data-testid="run-status">
              {running && <span className="fw-spinner" />}
              {run.status}
            </span>
            <span
              className={`fw-muted small ${stale ? 'is-stale' : ''}`}
              data-testid="run-elapsed"
              data-stale={stale ? 'true' : undefined}
              title={stale ? 'Not live: disconnected from the server' : undefined}
            >
              {formatDuration(runDuration(run, stale ? staleSince : now))}
              {stale ? ' (stale)' : ''}
            </span>
          </span>
        )}
        <button className="fw-btn ghost xs" onClick={() => setOpen(!open)} title={open ? 'Collapse' : 'Expand'}>
          <span style={{ display: 'inline-flex', transform: open ? 'none' : 'rotate(180deg)' }}>
            <Icon.chevronDown size={14} />
          </span>
        </button>
      </div>
      {open && (
        <div className="fw-bottom-body">
          {panel === 'logs' && <LogViewer logs={tab.logs} nodeIds={nodeIds ? nodeIds.split('\n') : []} selectedNode={selected} />}
          {panel === 'history' && <RunHistory />}
          {panel === 'problems' && (
            <div className="fw-history-list" data-testid="problems-list">
              {!problemCount && <div className="fw-logs-empty">No problems. The server validates the workflow on save.</div>}
              <MissingSecretRows />
              <InputRefProblemRows />
              {problems.map((p, i) => (
                <div key={i} className="fw-problem" onClick={() => p.node && tab.selectOnly(p.node)}>
                  <Icon.alert size={13} />
                  {p.node && <span className="mono">{p.node}</span>}
                  {p.edge !== undefined && <span className="mono">edge #{p.edge}</span>}
                  <span className="fw-muted mono small">{p.field}</span>
                  <span>{p.message}</span>
                </div>
              ))}
            </div>
          )}
        </div>
      )}
    </section>
  );
}
