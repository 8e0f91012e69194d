import { useMemo } from 'react';
import { declsFromSchema, inputsSummary } from '../inputs/model';
import { undeclaredInputRefs } from '../inputs/refs';
import { useStore } from '../store/store';
import { useTab } from './hooks';
import { Icon } from './icons';

/**
 * {{ inputs.y }} in a node while the workflow declares its inputs but not
 * y: the run would be refused an input y (undeclared inputs are refused),
 * so the reference can only be a typo or a forgotten declaration. Shown
 * in Problems and on the node's inspector; saving is still allowed.
 * Computed from the canvas, so an unsaved edit shows at once.
 */
export function useInputRefProblems() {
  const tab = useTab();
  const nodes = useStore(tab, (s) => s.nodes);
  const schema = useStore(tab, (s) => s.inputs);
  return useMemo(() => undeclaredInputRefs(nodes, declsFromSchema(schema)), [nodes, schema]);
}

export function InputRefProblemRows() {
  const tab = useTab();
  const problems = useInputRefProblems();
  return (
    <>
      {problems.map((p) => (
        <div key={`${p.node}/${p.param}/${p.name}`} className="fw-problem warn" data-testid="problem-undeclared-input" onClick={() => tab.selectOnly(p.node)}>
          <Icon.alert size={13} />
          <span className="mono">{p.node}</span>
          <span className="fw-muted mono small">params.{p.param}</span>
          <span>{p.message}</span>
        </div>
      ))}
    </>
  );
}

/** In the inspector: the undeclared inputs this node reads. */
export function NodeInputRefProblems({ nodeId }: { nodeId: string }) {
  const mine = useInputRefProblems().filter((p) => p.node === nodeId);
  if (!mine.length) return null;
  return (
    <div className="fw-banner warn small" data-testid="inspector-undeclared-input">
      {mine.map((p) => (
        <div key={`${p.param}/${p.name}`}>{p.message}</div>
      ))}
      <div className="fw-muted">Declare it in the workflow’s Inputs (click the canvas background), or fix the name.</div>
    </div>
  );
}

/** A run's inputs in one line, the full JSON on hover (history, run summary). */
export function RunInputs({ inputs, testid }: { inputs?: Record<string, unknown>; testid: string }) {
  const tab = useTab();
  const schema = useStore(tab, (s) => s.inputs);
  const text = inputsSummary(
    inputs,
    declsFromSchema(schema).map((d) => d.name),
  );
  if (!text) return null;
  const { trigger: _t, ...given } = inputs ?? {};
  return (
    <span className="fw-run-inputs-text mono small fw-ellipsis" data-testid={testid} title={JSON.stringify(given, null, 2)}>
      {text}
    </span>
  );
}
