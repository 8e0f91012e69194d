import { useMemo } from 'react';
import { missingSecretProblems } from '../store/secrets';
import { useStore } from '../store/store';
import { useTab } from './hooks';
import { Icon } from './icons';

/**
 * Secrets that nodes on the canvas reference but the project lacks: shown
 * in Problems before Run (saving is still allowed: the secret may be added
 * later). Computed from the editor's current nodes, so an unsaved edit
 * shows at once.
 */
export function useMissingSecrets() {
  const tab = useTab();
  const nodes = useStore(tab, (s) => s.nodes);
  const loaded = useStore(tab.secrets, (s) => s.loaded);
  const names = useStore(tab.secrets, (s) => s.secrets);
  return useMemo(() => (loaded ? missingSecretProblems(nodes, new Set(names.map((s) => s.name))) : []), [nodes, names, loaded]);
}

export function MissingSecretRows() {
  const tab = useTab();
  const missing = useMissingSecrets();
  return (
    <>
      {missing.map((p) => (
        <div key={`${p.node}/${p.name}`} className="fw-problem warn" data-testid="problem-missing-secret" onClick={() => tab.selectOnly(p.node)}>
          <Icon.key size={13} />
          <span className="mono">{p.node}</span>
          <span>{p.message}</span>
        </div>
      ))}
    </>
  );
}

/** In the inspector: the secrets this node names that the project lacks. */
export function NodeMissingSecrets({ nodeId }: { nodeId: string }) {
  const mine = useMissingSecrets().filter((p) => p.node === nodeId);
  if (!mine.length) return null;
  return (
    <div className="fw-banner warn small" data-testid="inspector-missing-secret">
      Not set in this project: {mine.map((p) => p.name).join(', ')}. Add {mine.length === 1 ? 'it' : 'them'} in Secrets before running.
    </div>
  );
}
