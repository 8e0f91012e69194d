import { useEffect, useRef, useState } from 'react';
import { useStore } from '../store/store';
import { useTab } from './hooks';
import { Icon } from './icons';
import { useTrustPrompt } from './TrustBanner';

/** The project menu (toolbar "⋯"): review what the folder runs, trust or revoke it. */
export function ProjectMenu() {
  const tab = useTab();
  const trusted = useStore(tab, (s) => s.project.trusted !== false);
  const active = useStore(tab, (s) => Object.keys(s.activeRuns).length);
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  const prompt = useTrustPrompt();

  useEffect(() => {
    if (!open) return;
    const close = (e: MouseEvent) => root.current && !root.current.contains(e.target as Node) && setOpen(false);
    window.addEventListener('mousedown', close);
    return () => window.removeEventListener('mousedown', close);
  }, [open]);

  const revoke = async () => {
    setOpen(false);
    if (active > 0 && !window.confirm(`Revoking trust cancels ${active} active run${active === 1 ? '' : 's'} of this folder. Revoke?`)) return;
    try {
      await tab.trust.revoke();
    } catch (e) {
      tab.trust.reportError('Could not revoke trust', e);
    }
  };

  return (
    <div className="fw-pmenu-root" ref={root}>
      <button
        className={`fw-btn ghost sm icon ${open ? 'on' : ''}`}
        data-testid="project-menu"
        aria-haspopup="menu"
        aria-expanded={open}
        title="Project"
        onClick={() => setOpen(!open)}
      >
        <Icon.more size={15} />
      </button>
      {open && (
        <div className="fw-pmenu" role="menu" onKeyDown={(e) => e.key === 'Escape' && setOpen(false)}>
          <div className="fw-pmenu-note" data-testid="project-menu-trust-state">
            {trusted ? 'Trusted folder' : 'Restricted mode (not trusted)'}
          </div>
          <button
            role="menuitem"
            className="fw-pmenu-item"
            data-testid="project-menu-review"
            onClick={() => {
              setOpen(false);
              void prompt.open();
            }}
          >
            {trusted ? 'Show what this folder runs…' : 'Trust folder…'}
          </button>
          {trusted && (
            <button role="menuitem" className="fw-pmenu-item danger" data-testid="project-menu-revoke" onClick={() => void revoke()}>
              Revoke trust
            </button>
          )}
        </div>
      )}
      {prompt.dialog}
    </div>
  );
}
