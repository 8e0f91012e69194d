import {
  Background,
  BackgroundVariant,
  Controls,
  MiniMap,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  type ColorMode,
} from '@xyflow/react';
import { useCallback, type DragEvent } from 'react';
import { useTab } from '../components/hooks';
import { useStore } from '../store/store';
import { nodeTypes } from './ToolNode';
import { nodeKind } from './registry';

/** MIME type of a palette item being dragged. */
export const DRAG_MIME = 'application/x-flowweaver-tool';

function CanvasInner({ colorMode }: { colorMode: ColorMode }) {
  const tab = useTab();
  const nodes = useStore(tab, (s) => s.nodes);
  const edges = useStore(tab, (s) => s.edges);
  const nodeStates = useStore(tab, (s) => s.nodeStates);
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
      const pos = rf.screenToFlowPosition({ x: e.clientX, y: e.clientY });
      tab.addNode(tool, { x: pos.x - 110, y: pos.y - 30 });
    },
    [rf, tab],
  );

  // Edges into a running node animate; edges out of a failed one turn red.
  const styledEdges = edges.map((e) => {
    const src = nodeStates[e.source]?.status;
    const dst = nodeStates[e.target]?.status;
    const cls = dst === 'running' ? 'edge-running' : src === 'failed' ? 'edge-failed' : src === 'succeeded' ? 'edge-done' : '';
    return cls ? { ...e, className: cls, animated: dst === 'running' } : e;
  });

  return (
    <div className="fw-canvas" data-testid="canvas" onDragOver={onDragOver} onDrop={onDrop}>
      <ReactFlow
        nodes={nodes}
        edges={styledEdges}
        nodeTypes={nodeTypes}
        onNodesChange={tab.onNodesChange}
        onEdgesChange={tab.onEdgesChange}
        onConnect={tab.connect}
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
        <MiniMap pannable zoomable nodeColor={(n) => nodeKind(String(n.data?.tool ?? '')).accent} nodeStrokeWidth={2} />
      </ReactFlow>
      {nodes.length === 0 && (
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
