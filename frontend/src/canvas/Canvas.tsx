import {
  Background,
  BackgroundVariant,
  Controls,
  MiniMap,
  ReactFlow,
  MarkerType,
  ReactFlowProvider,
  useReactFlow,
  type ColorMode,
  type NodeChange,
} from '@xyflow/react';
import type { FlowNode } from '../store/graph';
import { useCallback, useMemo, useState, type DragEvent } from 'react';
import { useTab } from '../components/hooks';
import { edgeClass } from './edgeStyle';
import { CanvasMenu, type MenuTarget } from './Menus';
import { NodePicker, type PickerTarget } from './NodePicker';
import { useStore } from '../store/store';
import { isTriggerNode, TRIGGER_NODE_PREFIX } from '../triggers/model';
import type { TriggerType } from '../api/types';
import { ToolNode } from './ToolNode';
import { TriggerNode, triggerElements } from './TriggerNode';
import { nodeKind } from './registry';
import './controlflow.css';

const nodeTypes = { tool: ToolNode, trigger: TriggerNode };
const ARROW = { type: MarkerType.ArrowClosed, width: 18, height: 18 } as const;

/** MIME type of a palette item being dragged. */
export const DRAG_MIME = 'application/x-flowweaver-tool';

function CanvasInner({ colorMode }: { colorMode: ColorMode }) {
  const tab = useTab();
  const nodes = useStore(tab, (s) => s.nodes);
  const edges = useStore(tab, (s) => s.edges);
  const nodeStates = useStore(tab, (s) => s.nodeStates);
  const triggers = useStore(tab, (s) => s.triggers);
  const selectedTrigger = useStore(tab, (s) => s.selectedTrigger);
  // Trigger nodes live outside the saved graph; React Flow's measurements of them are kept here.
  const [measured, setMeasured] = useState<Record<string, { width: number; height: number }>>({});
  const trig = useMemo(() => triggerElements(triggers, nodes, edges, selectedTrigger, measured), [triggers, nodes, edges, selectedTrigger, measured]);
  const onNodesChange = useCallback(
    (changes: NodeChange[]) => {
      const mine: Record<string, { width: number; height: number }> = {};
      for (const c of changes) if (c.type === 'dimensions' && isTriggerNode(c.id) && c.dimensions) mine[c.id] = c.dimensions;
      if (Object.keys(mine).length) setMeasured((m) => ({ ...m, ...mine }));
      tab.onNodesChange(changes.filter((x) => !('id' in x) || !isTriggerNode(x.id)) as NodeChange<FlowNode>[]);
    },
    [tab],
  );
  const rf = useReactFlow();

  const onDragOver = useCallback((e: DragEvent) => {
    if (e.dataTransfer.types.includes(DRAG_MIME)) {
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
    }
  }, []);

  const onDrop = useCallback(
    (e: DragEvent) => {
      const tool = e.dataTransfer.getData(DRAG_MIME);
      if (!tool) return;
      e.preventDefault();
      if (tool.startsWith(TRIGGER_NODE_PREFIX)) {
        tab.addTrigger(tool.slice(TRIGGER_NODE_PREFIX.length) as TriggerType);
        return;
      }
      const pos = rf.screenToFlowPosition({ x: e.clientX, y: e.clientY });
      tab.addNode(tool, { x: pos.x - 110, y: pos.y - 30 });
    },
    [rf, tab],
  );

  const edgeStates = useStore(tab, (s) => s.edgeStates);
  const [menu, setMenu] = useState<MenuTarget | null>(null);
  const box = useCallback((e: { clientX: number; clientY: number; currentTarget: unknown }) => {
    const r = document.querySelector<HTMLElement>('[data-testid="canvas"]')?.getBoundingClientRect();
    return { x: e.clientX - (r?.left ?? 0), y: e.clientY - (r?.top ?? 0) };
  }, []);
  // The engine decides which edges were taken; the canvas only draws it.
  // Every edge ends in an arrowhead, so the direction of the flow is visible.
  const styledEdges = edges.map((e) => ({ ...edgeClass(e, nodeStates, edgeStates), markerEnd: ARROW }));
  const [picker, setPicker] = useState<PickerTarget | null>(null);

  return (
    <div className="fw-canvas" data-testid="canvas" onDragOver={onDragOver} onDrop={onDrop}>
      <ReactFlow
        nodes={trig.nodes.length ? [...trig.nodes, ...nodes] : nodes}
        edges={trig.edges.length ? [...trig.edges, ...styledEdges] : styledEdges}
        onNodeClick={(_, n) => tab.selectTrigger(isTriggerNode(n.id) ? n.id.slice(TRIGGER_NODE_PREFIX.length) : null)}
        nodeTypes={nodeTypes}
        onNodesChange={onNodesChange}
        onEdgesChange={tab.onEdgesChange}
        onConnect={tab.connect}
        onConnectEnd={(ev, c) => {
          // An edge dropped on empty canvas: offer a node to connect to it.
          if (c.isValid || !c.fromNode || isTriggerNode(c.fromNode.id) || !(ev.target instanceof Element) || !ev.target.classList.contains('react-flow__pane')) return;
          const pt = 'changedTouches' in ev ? ev.changedTouches[0] : ev;
          setPicker({
            ...box({ clientX: pt.clientX, clientY: pt.clientY, currentTarget: null }),
            flow: rf.screenToFlowPosition({ x: pt.clientX, y: pt.clientY }),
            fromNode: c.fromNode.id,
            fromHandle: c.fromHandle?.id ?? null,
            fromTarget: c.fromHandle?.type === 'target',
          });
        }}
        onNodeContextMenu={(ev, n) => {
          ev.preventDefault();
          if (isTriggerNode(n.id)) return; // edited in its inspector
          setMenu({ kind: 'node', id: n.id, ...box(ev) });
        }}
        onEdgeContextMenu={(ev, e) => {
          ev.preventDefault();
          if (isTriggerNode(e.source)) return; // drawn, not saved
          setMenu({ kind: 'edge', id: e.id, ...box(ev) });
        }}
        onPaneClick={() => {
          setMenu(null);
          tab.selectTrigger(null);
          setPicker(null);
        }}
        onNodeDragStart={tab.beginDrag}
        colorMode={colorMode}
        deleteKeyCode={null}
        fitView
        fitViewOptions={{ maxZoom: 1.1, padding: 0.25 }}
        minZoom={0.2}
        proOptions={{ hideAttribution: true }}
        defaultEdgeOptions={{ type: 'smoothstep' }}
        snapToGrid
        snapGrid={[10, 10]}
      >
        <Background variant={BackgroundVariant.Dots} gap={20} size={1.2} />
        <Controls showInteractive={false} />
        <MiniMap pannable zoomable nodeColor={(n) => nodeKind(typeof n.data?.tool === 'string' ? n.data.tool : '').accent} nodeStrokeWidth={2} />
      </ReactFlow>
      {menu && <CanvasMenu target={menu} onClose={() => setMenu(null)} />}
      {picker && <NodePicker target={picker} onClose={() => setPicker(null)} />}
      {nodes.length === 0 && triggers.length === 0 && (
        <div className="fw-canvas-empty" data-testid="canvas-empty">
          <div className="fw-empty-title">Drag a tool here</div>
          <div className="fw-empty-sub">Pick a tool from the palette on the left and drop it on the canvas. Connect nodes by dragging from a node's right handle to another node.</div>
        </div>
      )}
    </div>
  );
}

export function Canvas({ colorMode }: { colorMode: ColorMode }) {
  return (
    <ReactFlowProvider>
      <CanvasInner colorMode={colorMode} />
    </ReactFlowProvider>
  );
}
