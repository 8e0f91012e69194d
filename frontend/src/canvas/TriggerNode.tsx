import { Handle, Position, type Edge, type Node, type NodeProps } from '@xyflow/react';
import { memo, type CSSProperties, type ReactNode } from 'react';
import type { Trigger } from '../api/types';
import { Icon } from '../components/icons';
import type { FlowNode } from '../store/graph';
import { isEnabled, triggerNodeId, triggerSummary, triggerTitle } from '../triggers/model';

export interface TriggerNodeData extends Record<string, unknown> {
  trigger: Trigger;
  selected: boolean;
}

export type TriggerFlowNode = Node<TriggerNodeData, 'trigger'>;

const WIDTH = 230;
const HEIGHT = 74;
const GAP = 24;

export const triggerAccent: Record<string, string> = { schedule: '#d97706', webhook: '#7c3aed', files: '#0891b2' };

const icons: Record<string, ReactNode> = {
  schedule: <Icon.clock size={15} />,
  webhook: <Icon.globe size={15} />,
  files: <Icon.file size={15} />,
};

/**
 * Trigger nodes stand at the left edge of the graph, one under the other,
 * with a dashed edge to every entry node (a node without upstream): that is
 * where a triggered run starts. Their place is computed, not saved, so a
 * trigger has no layout line in the workflow file.
 */
export function triggerElements(
  triggers: Trigger[],
  nodes: FlowNode[],
  edges: { target: string }[],
  selected: string | null,
  measured: Record<string, { width: number; height: number }> = {},
): { nodes: TriggerFlowNode[]; edges: Edge[] } {
  if (!triggers.length) return { nodes: [], edges: [] };
  const xs = nodes.map((n) => n.position.x);
  const ys = nodes.map((n) => n.position.y);
  const left = (xs.length ? Math.min(...xs) : 80) - WIDTH - 90;
  const top = ys.length ? Math.min(...ys) : 80;
  const tnodes: TriggerFlowNode[] = triggers.map((t, i) => ({
    id: triggerNodeId(t.id),
    type: 'trigger',
    position: { x: left, y: top + i * (HEIGHT + GAP) },
    width: WIDTH,
    height: HEIGHT,
    measured: measured[triggerNodeId(t.id)],
    draggable: false,
    connectable: false,
    deletable: false,
    selected: selected === t.id,
    data: { trigger: t, selected: selected === t.id },
  }));
  const hasUpstream = new Set(edges.map((e) => e.target));
  const entries = nodes.filter((n) => !hasUpstream.has(n.id));
  const tedges: Edge[] = triggers.filter(isEnabled).flatMap((t) =>
    entries.map((n) => ({
      id: `${triggerNodeId(t.id)}->${n.id}`,
      source: triggerNodeId(t.id),
      target: n.id,
      className: 'edge-trigger',
      selectable: false,
      deletable: false,
      focusable: false,
    })),
  );
  return { nodes: tnodes, edges: tedges };
}

function TriggerNodeView({ data }: NodeProps<TriggerFlowNode>) {
  const t = data.trigger;
  const on = isEnabled(t);
  return (
    <div
      className={`fw-node fw-trigger-node ${data.selected ? 'is-selected' : ''} ${on ? '' : 'is-off'}`}
      style={{ '--accent': triggerAccent[t.type] ?? '#64748b', width: WIDTH, height: HEIGHT } as CSSProperties}
      data-testid={`trigger-node-${t.id}`}
      data-enabled={on ? 'true' : 'false'}
      title={on ? undefined : 'Switched off: this trigger does not fire'}
    >
      <div className="fw-node-head">
        <span className="fw-node-icon">{icons[t.type] ?? <Icon.activity size={15} />}</span>
        <div className="fw-node-titles">
          <div className="fw-node-title">{t.label || t.id}</div>
          <div className="fw-node-tool">
            {triggerTitle[t.type] ?? t.type}
            {on ? '' : ' · off'}
          </div>
        </div>
      </div>
      <div className="fw-node-summary" data-testid={`trigger-summary-${t.id}`}>
        {triggerSummary(t)}
      </div>
      <Handle type="source" position={Position.Right} className="fw-handle" isConnectable={false} />
    </div>
  );
}

export const TriggerNode = memo(TriggerNodeView);
