import { useState, type CSSProperties } from 'react';
import { MissingNodeInspector } from '../canvas/MissingNode';
import { toolShortName, nodeKind } from '../canvas/registry';
import { fieldsFromSchema, missingRequired } from '../canvas/schema';
import { useStore } from '../store/store';
import { formatDuration } from './format';
import { useTab } from './hooks';
import { OutputViewer } from './OutputViewer';
import { SchemaForm } from './SchemaForm';
import { InputsSection } from './InputsSection';
import { NodeInputRefProblems } from './InputRefProblems';
import { NodeMissingSecrets } from './SecretProblems';
import { TriggerInspector } from './TriggerInspector';

/** Right sidebar: the selected node's form, or the workflow's properties. */
export function Inspector() {
  const tab = useTab();
  const selected = useStore(tab, (s) => {
    const sel = s.nodes.filter((n) => n.selected);
    return sel.length === 1 ? sel[0] : null;
  });
  const count = useStore(tab, (s) => s.nodes.filter((n) => n.selected).length);
  const trigger = useStore(tab, (s) => s.selectedTrigger);
  return (
    <aside className="fw-inspector" data-testid="inspector">
      {/* keyed: another node gets a fresh editor state (id text, id error) */}
      {trigger ? (
        <TriggerInspector triggerId={trigger} />
      ) : selected?.data.missing ? (
        <MissingNodeInspector nodeId={selected.id} edges={tab.get().edges.filter((e) => e.source === selected.id || e.target === selected.id).length} onDelete={() => tab.deleteSelection()} />
      ) : selected ? (
        <NodeInspector key={selected.id} nodeId={selected.id} />
      ) : (
        <WorkflowInspector multi={count} />
      )}
    </aside>
  );
}

function NodeInspector({ nodeId }: { nodeId: string }) {
  const tab = useTab();
  const node = useStore(tab, (s) => s.nodes.find((n) => n.id === nodeId));
  const tool = useStore(tab, (s) => s.tools.find((t) => t.name === node?.data.tool));
  const problems = useStore(tab, (s) => s.problems.filter((p) => p.node === nodeId));
  const state = useStore(tab, (s) => s.nodeStates[nodeId]);
  const runId = useStore(tab, (s) => s.runId);
  const [idText, setIdText] = useState(nodeId);
  const [idError, setIdError] = useState<string | null>(null);
  if (!node) return null;
  const kind = nodeKind(node.data.tool);
  const errors: Record<string, string> = {};
  for (const p of problems) {
    const m = /params\.([A-Za-z0-9_-]+)/.exec(p.field ?? '');
    if (m) errors[m[1]] = p.message;
  }
  const fields = fieldsFromSchema(tool?.inputSchema);
  const missing = missingRequired(fields, node.data.params);
  const general = problems.filter((p) => !/params\./.test(p.field ?? ''));

  return (
    <div className="fw-insp">
      <div className="fw-insp-head" style={{ '--accent': kind.accent } as CSSProperties}>
        <span className="fw-node-icon">{kind.icon}</span>
        <div>
          <div className="fw-insp-title">{tool?.title || toolShortName(node.data.tool)}</div>
          <div className="fw-muted mono small">{node.data.tool}</div>
        </div>
      </div>
      {tool?.description && <p className="fw-insp-desc">{tool.description}</p>}
      {!tool && <div className="fw-banner warn small">Tool “{node.data.tool}” is not available in this project.</div>}
      <NodeMissingSecrets nodeId={nodeId} />
      <NodeInputRefProblems nodeId={nodeId} />
      {general.map((p, i) => (
        <div key={i} className="fw-banner error small" data-testid="inspector-problem">
          {p.message}
        </div>
      ))}

      <section className="fw-insp-section">
        <div className="fw-field">
          <label className="fw-label" htmlFor="node-id">
            Node id
          </label>
          <input
            id="node-id"
            data-testid="inspector-node-id"
            className="mono"
            value={idText}
            onChange={(e) => setIdText(e.target.value)}
            onBlur={() => setIdError(tab.renameNode(nodeId, idText.trim()))}
            onKeyDown={(e) => e.key === 'Enter' && (e.target as HTMLInputElement).blur()}
          />
          {idError && <div className="fw-field-error">{idError}</div>}
        </div>
        <div className="fw-field">
          <label className="fw-label" htmlFor="node-label">
            Label
          </label>
          <input
            id="node-label"
            data-testid="inspector-label"
            value={node.data.label ?? ''}
            placeholder={nodeId}
            onChange={(e) => tab.updateNodeData(nodeId, { label: e.target.value || undefined }, 'label')}
          />
        </div>
      </section>

      <section className="fw-insp-section">
        <div className="fw-section-title">Parameters</div>
        <SchemaForm schema={tool?.inputSchema} values={node.data.params ?? {}} onChange={(k, v) => tab.setParam(nodeId, k, v)} errors={errors} idPrefix={`p-${nodeId}`} tool={node.data.tool} />
        {missing.length > 0 && <div className="fw-help warn">Required: {missing.join(', ')}</div>}
      </section>

      <section className="fw-insp-section">
        <div className="fw-section-title">Execution</div>
        <div className="fw-row2">
          <div className="fw-field">
            <label className="fw-label" htmlFor="node-retry">
              Retries
            </label>
            <input
              id="node-retry"
              data-testid="inspector-retry"
              type="number"
              min={0}
              value={node.data.retry?.max ?? ''}
              placeholder="0"
              onChange={(e) => {
                const n = parseInt(e.target.value, 10);
                tab.updateNodeData(nodeId, { retry: Number.isFinite(n) && n > 0 ? { ...node.data.retry, max: n } : undefined }, 'retry');
              }}
            />
          </div>
          <div className="fw-field">
            <label className="fw-label" htmlFor="node-timeout">
              Timeout (ms)
            </label>
            <input
              id="node-timeout"
              data-testid="inspector-timeout"
              type="number"
              min={0}
              value={node.data.timeoutMs ?? ''}
              placeholder="none"
              onChange={(e) => {
                const n = parseInt(e.target.value, 10);
                tab.updateNodeData(nodeId, { timeoutMs: Number.isFinite(n) && n > 0 ? n : undefined }, 'timeout');
              }}
            />
          </div>
        </div>
      </section>

      {state && (
        <section className="fw-insp-section" data-testid="inspector-run">
          <div className="fw-section-title">Last run</div>
          <div className="fw-kv">
            <span>Status</span>
            <span className={`fw-status-text st-${state.status}`}>{state.status}</span>
            {state.durationMs !== undefined && (
              <>
                <span>Duration</span>
                <span>{formatDuration(state.durationMs)}</span>
              </>
            )}
          </div>
          {state.error && <pre className="fw-pre error">{state.error}</pre>}
          {state.output !== undefined && state.output !== null && (
            <>
              <div className="fw-label">Output</div>
              <OutputViewer nodeId={nodeId} runId={runId} preview={state.output} />
            </>
          )}
        </section>
      )}
    </div>
  );
}

function WorkflowInspector({ multi }: { multi: number }) {
  const tab = useTab();
  const name = useStore(tab, (s) => s.name);
  const workflowId = useStore(tab, (s) => s.workflowId);
  const version = useStore(tab, (s) => s.version);
  const nodes = useStore(tab, (s) => s.nodes.length);
  const edges = useStore(tab, (s) => s.edges.length);
  const project = useStore(tab, (s) => s.project);
  return (
    <div className="fw-insp">
      <div className="fw-side-title">Workflow</div>
      {multi > 1 && <div className="fw-banner info small">{multi} nodes selected. Delete removes them, Ctrl+C copies them.</div>}
      <div className="fw-field">
        <label className="fw-label" htmlFor="wf-name">
          Name
        </label>
        <input id="wf-name" data-testid="workflow-name" value={name} onChange={(e) => tab.setName(e.target.value)} />
      </div>
      <div className="fw-kv">
        <span>Id</span>
        <span className="mono">{workflowId}</span>
        <span>Version</span>
        <span data-testid="workflow-version">{version || 'not saved yet'}</span>
        <span>Nodes</span>
        <span>{nodes}</span>
        <span>Edges</span>
        <span>{edges}</span>
        <span>Project</span>
        <span className="mono small" title={project.path}>
          {project.path}
        </span>
      </div>
      <InputsSection />
      <div className="fw-section-title">Shortcuts</div>
      <div className="fw-shortcuts">
        {[
          [['Ctrl', 'S'], 'Save'],
          [['Ctrl', 'Enter'], 'Run'],
          [['Ctrl', 'Z'], 'Undo'],
          [['Ctrl', 'Shift', 'Z'], 'Redo'],
          [['Ctrl', 'C'], 'Copy'],
          [['Ctrl', 'V'], 'Paste'],
          [['Del'], 'Delete selection'],
        ].map(([keys, what]) => (
          <div key={what as string} className="fw-shortcut">
            <span>{what as string}</span>
            <span>
              {(keys as string[]).map((k) => (
                <kbd key={k}>{k}</kbd>
              ))}
            </span>
          </div>
        ))}
      </div>
    </div>
  );
}
