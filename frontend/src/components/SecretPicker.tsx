import { useContext, useEffect, useRef, useState } from 'react';
import { useStore } from '../store/store';
import type { ProjectSecrets } from '../store/secrets';
import { TabContext } from './hooks';
import { Icon } from './icons';

/**
 * A key button beside a text parameter: lists the project's secrets by name
 * and inserts the chosen one as {{ secrets.NAME }}. Outside a project view
 * (no tab) it renders nothing.
 */
export function SecretPicker({ onPick, testid }: { onPick: (ref: string) => void; testid: string }) {
  const tab = useContext(TabContext);
  if (!tab) return null;
  return <Picker secrets={tab.secrets} onPick={onPick} testid={testid} />;
}

function Picker({ secrets, onPick, testid }: { secrets: ProjectSecrets; onPick: (ref: string) => void; testid: string }) {
  const [open, setOpen] = useState(false);
  const names = useStore(secrets, (s) => s.secrets);
  const box = useRef<HTMLSpanElement>(null);
  useEffect(() => {
    if (!open) return;
    const close = (e: MouseEvent) => box.current && !box.current.contains(e.target as Node) && setOpen(false);
    window.addEventListener('mousedown', close);
    return () => window.removeEventListener('mousedown', close);
  }, [open]);
  return (
    <span className="fw-secret-picker" ref={box}>
      <button
        type="button"
        className="fw-btn ghost xs icon"
        data-testid={`${testid}-secret`}
        title="Insert a secret reference"
        onClick={() => {
          if (!open) void secrets.reload();
          setOpen(!open);
        }}
      >
        <Icon.key size={12} />
      </button>
      {open && (
        <span className="fw-secret-menu" role="menu" data-testid="secret-menu">
          {names.length === 0 && <span className="fw-muted small">No secrets yet: add them with the key button in the toolbar.</span>}
          {names.map((s) => (
            <button
              key={s.name}
              type="button"
              role="menuitem"
              className="fw-secret-menu-item mono"
              data-testid={`secret-pick-${s.name}`}
              onClick={() => {
                onPick(`{{ secrets.${s.name} }}`);
                setOpen(false);
              }}
            >
              {s.name}
            </button>
          ))}
        </span>
      )}
    </span>
  );
}
