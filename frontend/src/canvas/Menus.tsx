import { useEffect } from 'react';
import { useTab } from '../components/hooks';
import { edgeOn } from '../store/graph';
import { useStore } from '../store/store';

export type MenuTarget = { kind: 'node'; id: string; x: number; y: number } | { kind: 'edge'; id: string; x: number; y: number };

/** The context menu of a node (Run from here) or an edge (when it is taken). */
export function CanvasMenu({ target, onClose }: { target: MenuTarget; onClose: () => void }) {
  const tab = useTab();
  const run = useStore(tab, (s) => s.run);
  const edge = useStore(tab, (s) => (target.kind === 'edge' ? s.edges.find((e) => e.id === target.id) : undefined));
  const source = useStore(tab, (s) => (edge ? s.nodes.find((n) => n.id === edge.source) : undefined));
  useEffect(() => {
    const close = (e: KeyboardEvent) => e.key === 'Escape' && onClose();
    window.addEventListener('keydown', close);
    return () => window.removeEventListener('keydown', close);
  }, [onClose]);
  const finished = !!run && (run.status === 'succeeded' || run.status === 'failed' || run.status === 'canceled');
  const style = { left: target.x, top: target.y };
  if (target.kind === 'node') {
    return (
      <div className="fw-menu" style={style} data-testid="node-menu" onMouseLeave={onClose}>
        <button
          className="fw-menu-item"
          data-testid="menu-run-from-here"
          disabled={!finished}
          title={finished ? 'Run this node and everything after it again; the nodes before it keep their results' : 'Needs a finished run on display'}
          onClick={() => {
            onClose();
            void tab.rerunFrom(target.id);
          }}
        >
          Run from here
        </button>
      </div>
    );
  }
  if (!edge) return null;
  const branching = source?.data.tool === 'if' || source?.data.tool === 'switch';
  const on = edgeOn(edge) ?? 'success';
  const choices: { on: 'success' | 'failure' | 'always'; label: string }[] = [
    { on: 'success', label: 'On success' },
    { on: 'failure', label: 'On failure (handles the error)' },
    { on: 'always', label: 'Always (after success or failure)' },
  ];
  return (
    <div className="fw-menu" style={style} data-testid="edge-menu" onMouseLeave={onClose}>
      {branching ? (
        <div className="fw-menu-note">Branch “{on}”: drag from another branch handle to change it.</div>
      ) : (
        choices.map((c) => (
          <button
            key={c.on}
            className={`fw-menu-item ${c.on === on ? 'is-current' : ''}`}
            data-testid={`menu-edge-${c.on}`}
            onClick={() => {
              onClose();
              tab.setEdgeOn(edge.id, c.on);
            }}
          >
            {c.label}
          </button>
        ))
      )}
    </div>
  );
}
