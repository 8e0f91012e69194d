import { Handle, Position, type NodeProps } from '@xyflow/react';
import { Icon } from '../components/icons';
import type { FlowNode } from '../store/graph';

/**
 * Stands in for a node an edge of the file names but the file does not
 * have (a workflow made invalid on disk), so the dangling edge is drawn
 * and can be selected and deleted. It is never saved.
 */
export function MissingNodeView({ id, selected }: NodeProps<FlowNode>) {
  return (
    <div
      className={`fw-node fw-node-missing ${selected ? 'is-selected' : ''}`}
      data-testid={`node-${id}`}
      data-missing="true"
      title="No node with this id is in the workflow file: delete the edges to it (or this placeholder), then save."
    >
      <Handle type="target" position={Position.Left} className="fw-handle" />
      <div className="fw-node-head">
        <span className="fw-node-icon">
          <Icon.alert size={15} />
        </span>
        <div className="fw-node-titles">
          <div className="fw-node-title">{id}</div>
          <div className="fw-node-tool">missing node</div>
        </div>
      </div>
      <Handle type="source" position={Position.Right} className="fw-handle" />
    </div>
  );
}
