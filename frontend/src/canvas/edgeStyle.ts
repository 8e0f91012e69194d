import type { NodeState } from '../store/tab/state';
import { edgeOn, type FlowEdge } from '../store/graph';

/**
 * How an edge is drawn: its condition (failure red and dashed, always grey,
 * branch edges labelled by their handle) and, during a run, what the
 * engine decided (untaken edges greyed, edges into a running node animated).
 */
export function edgeClass(e: FlowEdge, nodes: Record<string, NodeState>, decided: Record<string, string>): FlowEdge {
  const on = edgeOn(e);
  const classes: string[] = [];
  if (on === 'failure') classes.push('edge-on-failure');
  else if (on === 'always') classes.push('edge-on-always');
  else if (on) classes.push('edge-on-branch');
  const state = decided[e.id];
  const dst = nodes[e.target]?.status;
  const src = nodes[e.source]?.status;
  if (state === 'untaken') classes.push('edge-untaken');
  else if (dst === 'running') classes.push('edge-running');
  else if (state === 'taken') classes.push(src === 'failed' ? 'edge-taken-failure' : 'edge-done');
  else if (src === 'failed' && !on) classes.push('edge-failed');
  else if (src === 'succeeded' && !on) classes.push('edge-done');
  const label = on === 'failure' || on === 'always' ? on : undefined;
  if (!classes.length && !label) return e;
  return {
    ...e,
    className: classes.join(' '),
    animated: dst === 'running' && state !== 'untaken',
    label,
    labelShowBg: true,
    labelBgPadding: [4, 2],
    labelBgBorderRadius: 4,
    labelClassName: 'fw-edge-label',
    data: { ...(e.data ?? {}), decided: state },
  } as FlowEdge;
}
