import { Handle, Position } from '@xyflow/react';
import { useState } from 'react';
import type { Run } from '../api/types';
import { useTab } from '../components/hooks';
import { useStore } from '../store/store';

/**
 * The source handles of an if/switch node: one per branch, each with its
 * label, so an edge dragged from a handle carries that branch.
 */
export function BranchHandles({ nodeId, branches }: { nodeId: string; branches: string[] }) {
  const tab = useTab();
  const taken = useStore(tab, (s) => {
    const out: Record<string, boolean> = {};
    for (const e of s.edges) {
      const st = s.edgeStates[e.id];
      if (e.source === nodeId && e.sourceHandle && st) out[e.sourceHandle] = st === 'taken';
    }
    return JSON.stringify(out);
  });
  const state = JSON.parse(taken) as Record<string, boolean>;
  return (
    <div className="fw-branches" data-testid={`branches-${nodeId}`}>
      {branches.map((b) => (
        <div
          key={b}
          className={`fw-branch ${state[b] === true ? 'is-taken' : state[b] === false ? 'is-untaken' : ''}`}
          data-testid={`branch-${nodeId}-${b}`}
        >
          <span className="fw-branch-label">{b}</span>
          <Handle type="source" position={Position.Right} id={b} className="fw-handle fw-branch-handle" data-testid={`handle-${nodeId}-${b}`} />
        </div>
      ))}
    </div>
  );
}

/** A forEach node's progress: "37/120", a bar, and how many items failed. */
export function ForEachProgress({ id, progress }: { id: string; progress: { done: number; total: number; failed: number } }) {
  const pct = progress.total ? Math.round((progress.done / progress.total) * 100) : 100;
  return (
    <div className="fw-progress" data-testid={`node-progress-${id}`} title={`${progress.done} of ${progress.total} items done`}>
      <div className="fw-progress-bar">
        <div style={{ width: `${pct}%` }} />
      </div>
      <span className="mono">
        {progress.done}/{progress.total}
      </span>
      {progress.failed > 0 && <span className="fw-progress-failed">{progress.failed} failed</span>}
    </div>
  );
}

/**
 * "Child runs" on a workflow/forEach node: the runs it started, each opening
 * its workflow with that run on the canvas.
 */
export function ChildRunsLink({ nodeId }: { nodeId: string }) {
  const tab = useTab();
  const runId = useStore(tab, (s) => s.runId);
  const [open, setOpen] = useState(false);
  const [runs, setRuns] = useState<Run[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const toggle = async (e: React.MouseEvent) => {
    e.stopPropagation();
    if (open) return setOpen(false);
    setOpen(true);
    setRuns(null);
    setError(null);
    try {
      const page = await tab.api.listRuns(tab.id, { parentRunId: runId ?? '', parentNodeId: nodeId, limit: 100 });
      setRuns([...page.runs].sort((a, b) => (a.itemIndex ?? 0) - (b.itemIndex ?? 0)));
    } catch (err) {
      setError((err as Error).message);
    }
  };
  if (!runId) return null;
  return (
    <div className="fw-child-runs nodrag nowheel">
      <button className="fw-link small" data-testid={`child-runs-${nodeId}`} onClick={toggle}>
        {open ? 'Hide child runs' : 'Child runs ›'}
      </button>
      {open && (
        <div className="fw-child-list" data-testid={`child-list-${nodeId}`}>
          {error && <div className="fw-field-error">{error}</div>}
          {!runs && !error && <div className="fw-muted small">Loading…</div>}
          {runs?.length === 0 && <div className="fw-muted small">No child runs yet.</div>}
          {runs?.map((r) => (
            <button
              key={r.id}
              className={`fw-child-row st-${r.status}`}
              data-testid="child-run"
              onClick={async (e) => {
                e.stopPropagation();
                await tab.openWorkflow(r.workflowId);
                tab.showRun(r.id);
              }}
            >
              <span className="mono">{r.itemIndex !== undefined ? `#${r.itemIndex}` : r.workflowId}</span>
              <span className={`fw-status-text st-${r.status}`}>{r.status}</span>
            </button>
          ))}
        </div>
      )}
    </div>
  );
}

/**
 * Where the run on display comes from: the parent run of a child run
 * (workflow/forEach node, item) or the run a re-run started from; each
 * opens that run on its workflow.
 */
export function RunLineage({ run }: { run: Run }) {
  const tab = useTab();
  const open = async (runId: string) => {
    try {
      const r = await tab.api.getRun(runId);
      await tab.openWorkflow(r.workflowId);
      tab.showRun(r.id);
    } catch {
      /* the run is gone: nothing to open */
    }
  };
  if (run.parentRunId) {
    return (
      <button className="fw-link small" data-testid="run-parent" title={`Open the parent run ${run.parentRunId}`} onClick={() => void open(run.parentRunId!)}>
        child of {run.parentNodeId}
        {run.itemIndex !== undefined ? ` #${run.itemIndex}` : ''}
      </button>
    );
  }
  if (run.rerunOf) {
    return (
      <button className="fw-link small" data-testid="run-rerun-of" title={`Open the run ${run.rerunOf} this one re-ran`} onClick={() => void open(run.rerunOf!)}>
        re-run from {run.rerunFrom}
      </button>
    );
  }
  return null;
}
