import { Handle, Position, type NodeProps } from '@xyflow/react';
import { memo, type CSSProperties } from 'react';
import { useNow, useTab } from '../components/hooks';
import { formatDuration } from '../components/format';
import { Icon } from '../components/icons';
import { useStore } from '../store/store';
import { branchesOf, type FlowNode } from '../store/graph';
import { BranchHandles, ChildRunsLink, ForEachProgress } from './ControlParts';
import { MissingNodeView } from './MissingNode';
import { nodeKind, toolShortName } from './registry';

const statusLabel: Record<string, string> = {
  pending: 'Queued',
  running: 'Running',
  succeeded: 'Succeeded',
  failed: 'Failed',
  skipped: 'Skipped',
  canceled: 'Canceled',
};

/** One workflow node: tool, id, a params summary, its live run status and validation problems. */
function ToolNodeView({ id, data, selected }: NodeProps<FlowNode>) {
  const tab = useTab();
  const state = useStore(tab, (s) => s.nodeStates[id]);
  const problems = useStore(tab, (s) => s.problems);
  const mine = problems.filter((p) => p.node === id);
  // Changed here and in a save made elsewhere: marked until the user picks a side in the banner.
  const conflicted = useStore(tab, (s) => !!s.conflict?.items?.some((c) => c.kind === 'node' && c.id === id));
  const kind = nodeKind(data.tool);
  const running = state?.status === 'running';
  // While disconnected the node's real state is unknown: its timer stops at the outage and is marked stale.
  const staleSince = useStore(tab, (s) => s.outage?.since ?? null);
  const stale = running && staleSince !== null;
  const now = useNow(running && !stale);
  const elapsed = running && state?.startedAt ? (stale ? staleSince : now) - state.startedAt : state?.durationMs;
  const summary = kind.summary(data.params ?? {});
  const status = state?.status;
  const branches = branchesOf(data.tool, data.params);
  return (
    <div
      className={`fw-node ${selected ? 'is-selected' : ''} ${status ? `st-${status}` : ''} ${mine.length ? 'has-problem' : ''} ${conflicted ? 'has-conflict' : ''}`}
      style={{ '--accent': kind.accent } as CSSProperties}
      data-testid={`node-${id}`}
      data-status={status ?? 'idle'}
      data-conflict={conflicted ? 'true' : undefined}
      title={mine.map((p) => p.message).join('\n') || (status === 'skipped' ? state?.reason : undefined) || undefined}
    >
      <Handle type="target" position={Position.Left} className="fw-handle" />
      <div className="fw-node-head">
        <span className="fw-node-icon">{kind.icon}</span>
        <div className="fw-node-titles">
          <div className="fw-node-title">{data.label || id}</div>
          <div className="fw-node-tool">{toolShortName(data.tool)}</div>
        </div>
        {status && (
          <span className={`fw-status-pill st-${status}`} data-testid={`node-status-${id}`}>
            {running && <span className="fw-spinner" />}
            {statusLabel[status] ?? status}
          </span>
        )}
      </div>
      {summary && <div className="fw-node-summary">{summary}</div>}
      {state?.progress && <ForEachProgress id={id} progress={state.progress} />}
      {(data.tool === 'workflow' || data.tool === 'forEach') && status && status !== 'pending' && <ChildRunsLink nodeId={id} />}
      {(elapsed !== undefined || (state?.attempt ?? 0) > 1) && status !== 'pending' && (
        <div
          className={`fw-node-meta ${stale ? 'is-stale' : ''}`}
          data-testid={`node-elapsed-${id}`}
          data-stale={stale ? 'true' : undefined}
          title={stale ? 'Not live: disconnected from the server' : undefined}
        >
          <Icon.clock size={12} /> {formatDuration(elapsed)}
          {state?.attempt && state.attempt > 1 ? (
            <span data-testid={`node-attempt-${id}`} title={state.attemptReason ? `attempt ${state.attempt}: ${state.attemptReason}` : undefined}>
              {' '}
              · attempt {state.attempt}
              {state.attemptReason ? ` (${state.attemptReason})` : ''}
            </span>
          ) : null}
        </div>
      )}
      {status === 'failed' && state?.error && (
        <div className="fw-node-error" data-testid={`node-error-${id}`}>
          {state.error}
        </div>
      )}
      {mine.length > 0 && (
        <div className="fw-node-problem" data-testid={`node-problem-${id}`}>
          <Icon.alert size={12} /> {mine[0].message}
          {mine.length > 1 ? ` (+${mine.length - 1})` : ''}
        </div>
      )}
      {branches ? <BranchHandles nodeId={id} branches={branches} /> : <Handle type="source" position={Position.Right} className="fw-handle" />}
    </div>
  );
}

/** A placeholder for a node an edge names but the file lacks (graph.ts, fromWorkflow) is drawn apart. */
export const ToolNode = memo((p: NodeProps<FlowNode>) => (p.data.missing ? <MissingNodeView {...p} /> : <ToolNodeView {...p} />));

/** The node registry of React Flow: tool nodes look like nodeKind() says; trigger nodes are in TriggerNode.tsx. */
export const nodeTypes = { tool: ToolNode };
