import type { Workflow, WorkflowNode } from '../api/types';
import { toWorkflow } from '../store/graph';
import { conflictLabel, jsonEqual, type MergeConflict } from '../store/merge';
import { useStore } from '../store/store';
import { useTab } from './hooks';
import { Icon } from './icons';
import './coedit.css';

/**
 * The workflow was saved elsewhere too. After a merge only the items changed
 * on both sides are listed, each with Keep mine / Take theirs; without a
 * base to merge against (an old draft) the whole workflow is the choice.
 */
export function ConflictBanner() {
  const tab = useTab();
  const s = useStore(tab, (x) => x);
  const c = s.conflict;
  if (!c) return null;
  if (!c.items) {
    const nodes = c.workflow?.nodes?.length;
    return (
      <div className="fw-banner warn fw-conflict" data-testid="conflict">
        <Icon.alert size={14} />
        <span>
          This workflow was changed elsewhere{c.by ? ` (by ${c.by})` : ''}: the saved version is now <b>v{c.version}</b>
          {nodes !== undefined ? ` with ${nodes} node${nodes === 1 ? '' : 's'}` : ''}
          {c.workflow?.name ? ` (“${c.workflow.name}”)` : ''}.
        </span>
        <span className="fw-grow" />
        <button className="fw-btn sm" data-testid="conflict-reload" onClick={() => tab.reloadFromConflict()}>
          Reload theirs
        </button>
        <button className="fw-btn danger sm" data-testid="conflict-overwrite" onClick={() => void tab.overwriteConflict()}>
          Overwrite with mine
        </button>
      </div>
    );
  }
  const current = toWorkflow(s.workflowId, s.name, { nodes: s.nodes, edges: s.edges, triggers: s.triggers });
  const n = c.items.length;
  return (
    <div className="fw-banner warn fw-conflict fw-merge-conflicts" data-testid="conflict">
      <div className="fw-merge-head">
        <Icon.alert size={14} />
        <span>
          Merged v{c.version} from {c.by ?? 'another window'}: {n === 1 ? '1 item was' : `${n} items were`} changed here and there. Choose
          for {n === 1 ? 'it' : 'each'} before saving.
        </span>
        <span className="fw-grow" />
        {n > 1 && (
          <>
            <button className="fw-btn sm" data-testid="conflict-reload" onClick={() => tab.reloadFromConflict()}>
              Take all theirs
            </button>
            <button className="fw-btn sm" data-testid="conflict-overwrite" onClick={() => tab.editor.merging.resolveAll('mine')}>
              Keep all mine
            </button>
          </>
        )}
      </div>
      <ul className="fw-merge-items">
        {c.items.map((item) => (
          <li key={item.key} data-testid={`conflict-item-${testKey(item)}`}>
            <b>{capital(conflictLabel(item))}</b>
            <span className="fw-muted">{describe(item, current, c.workflow)}</span>
            <span className="fw-grow" />
            <button className="fw-btn sm" data-testid={`conflict-mine-${testKey(item)}`} onClick={() => tab.editor.resolveConflict(item.key, 'mine')}>
              Keep mine
            </button>
            <button className="fw-btn sm" data-testid={`conflict-theirs-${testKey(item)}`} onClick={() => tab.editor.resolveConflict(item.key, 'theirs')}>
              Take theirs
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** "node:fetch" -> "node-fetch" (test ids without colons). */
export const testKey = (c: MergeConflict) => c.key.replace(':', '-');

const capital = (t: string) => t.charAt(0).toUpperCase() + t.slice(1);

/** A short account of what differs: removed on one side, or which settings differ. */
function describe(c: MergeConflict, mine: Workflow, theirs: Workflow | null): string {
  if (c.reason === 'deletedTheirs') return 'removed there, changed here';
  if (c.reason === 'deletedMine') return 'removed here, changed there';
  if (c.kind !== 'node' || !theirs) return 'changed differently on both sides';
  const m = mine.nodes.find((x) => x.id === c.id);
  const t = theirs.nodes?.find((x) => x.id === c.id);
  if (!m || !t) return 'changed differently on both sides';
  const keys = differing(m, t);
  return keys.length ? `both changed: ${keys.slice(0, 3).join(', ')}${keys.length > 3 ? ', …' : ''}` : 'changed differently on both sides';
}

function differing(m: WorkflowNode, t: WorkflowNode): string[] {
  const out: string[] = [];
  for (const k of ['tool', 'label', 'retry', 'timeoutMs'] as const) if (!jsonEqual(m[k], t[k])) out.push(k);
  const mp = m.params ?? {};
  const tp = t.params ?? {};
  for (const k of new Set([...Object.keys(mp), ...Object.keys(tp)])) if (!jsonEqual(mp[k], tp[k])) out.push(k);
  return out;
}
