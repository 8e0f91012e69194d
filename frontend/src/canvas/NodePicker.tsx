import { useEffect, useMemo, useRef, useState } from 'react';
import { useTab } from '../components/hooks';
import { useStore } from '../store/store';
import { nodeKind } from './registry';

/** Where an edge was dropped on the empty canvas, and what it came from. */
export interface PickerTarget {
  /** Position in the canvas box (px), for the popover. */
  x: number;
  y: number;
  /** Position in flow coordinates, for the new node. */
  flow: { x: number; y: number };
  fromNode: string;
  fromHandle: string | null;
  /** The edge was dragged out of a target handle: the new node goes before. */
  fromTarget: boolean;
}

/**
 * The node picker that opens when an edge is dropped on empty canvas (as
 * in n8n): type to filter the tools, Enter or a click adds the node there
 * and connects it to the node the edge came from. Escape closes it.
 */
export function NodePicker({ target, onClose }: { target: PickerTarget; onClose: () => void }) {
  const tab = useTab();
  const tools = useStore(tab, (s) => s.tools);
  const [q, setQ] = useState('');
  const [active, setActive] = useState(0);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  const shown = useMemo(() => {
    const needle = q.trim().toLowerCase();
    return tools.filter((t) => !needle || `${t.title ?? ''} ${t.name} ${t.description ?? ''}`.toLowerCase().includes(needle)).slice(0, 12);
  }, [tools, q]);

  const pick = (name: string) => {
    onClose();
    const id = tab.addNode(name, { x: target.flow.x, y: target.flow.y - 30 });
    if (target.fromTarget) tab.connect({ source: id, target: target.fromNode, sourceHandle: null, targetHandle: target.fromHandle });
    else tab.connect({ source: target.fromNode, target: id, sourceHandle: target.fromHandle, targetHandle: null });
  };

  return (
    <div className="fw-menu fw-node-picker" style={{ left: target.x, top: target.y }} data-testid="node-picker" role="dialog" aria-label="Add a connected node">
      <input
        ref={input}
        className="fw-input"
        data-testid="node-picker-search"
        placeholder="Add a node…"
        value={q}
        onChange={(e) => {
          setQ(e.target.value);
          setActive(0);
        }}
        onKeyDown={(e) => {
          if (e.key === 'Escape') onClose();
          else if (e.key === 'ArrowDown') setActive((i) => Math.min(i + 1, shown.length - 1));
          else if (e.key === 'ArrowUp') setActive((i) => Math.max(i - 1, 0));
          else if (e.key === 'Enter' && shown[active]) pick(shown[active].name);
          else return;
          e.preventDefault();
          e.stopPropagation();
        }}
      />
      <div className="fw-node-picker-list">
        {shown.map((t, i) => (
          <button
            key={t.name}
            className={`fw-menu-item ${i === active ? 'is-current' : ''}`}
            data-testid={`node-picker-item-${t.name}`}
            onMouseEnter={() => setActive(i)}
            onClick={() => pick(t.name)}
          >
            <span className="fw-node-picker-icon">{nodeKind(t.name).icon}</span> {t.title || t.name}
          </button>
        ))}
        {!shown.length && <div className="fw-menu-note">No tool matches “{q}”.</div>}
      </div>
    </div>
  );
}
