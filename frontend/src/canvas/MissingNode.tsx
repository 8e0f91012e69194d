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

/** The inspector of a selected placeholder: what it is and how to get rid of it. */
export function MissingNodeInspector({ nodeId, edges, onDelete }: { nodeId: string; edges: number; onDelete: () => void }) {
  return (
    <div className="fw-insp" data-testid="inspector-missing">
      <div className="fw-insp-head">
        <span className="fw-node-icon">
          <Icon.alert size={15} />
        </span>
        <div>
          <div className="fw-insp-title">Missing node “{nodeId}”</div>
          <div className="fw-muted mono small">not in the workflow file</div>
        </div>
      </div>
      <p className="fw-insp-desc">
        {edges === 1 ? 'An edge' : `${edges} edges`} of the file name this node, but the file has no node with this id, so the workflow cannot run. Delete{' '}
        {edges === 1 ? 'the edge' : 'the edges'} (or this placeholder, which takes its edges with it) and save. The placeholder itself is never saved.
      </p>
      <button className="fw-btn danger sm" data-testid="missing-delete" onClick={onDelete}>
        <Icon.trash size={13} /> Delete placeholder and its edges
      </button>
    </div>
  );
}
