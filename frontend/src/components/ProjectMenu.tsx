import { useEffect, useRef, useState } from 'react';
import { useStore } from '../store/store';
import { useTab } from './hooks';
import { Icon } from './icons';
import { useTrustPrompt } from './TrustBanner';
import { ForgetProjectDialog } from './ForgetProject';
import { useShell } from './shell';
import { confirmClose } from './UnloadGuard';

/** The project menu (toolbar "⋯"): review what the folder runs, trust or revoke it; remove the tab or forget the project. */
export function ProjectMenu() {
  const tab = useTab();
  const trusted = useStore(tab, (s) => s.project.trusted !== false);
  const active = useStore(tab, (s) => Object.keys(s.activeRuns).length);
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  const prompt = useTrustPrompt();
  const shell = useShell();
  const [forget, setForget] = useState(false);

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
          <div className="fw-pmenu-sep" />
          <button
            role="menuitem"
            className="fw-pmenu-item"
            data-testid="project-menu-remove"
            title="Close this tab; the project stays under Open folder › Known projects, the folder is not touched"
            onClick={() => {
              setOpen(false);
              // Same question as closing the tab: unsaved edits or an active run.
              if (confirmClose(tab)) shell.ws.close(tab.id);
            }}
          >
            Remove from tabs
          </button>
          <button
            role="menuitem"
            className="fw-pmenu-item danger"
            data-testid="project-menu-forget"
            onClick={() => {
              setOpen(false);
              setForget(true);
            }}
          >
            Forget project…
          </button>
        </div>
      )}
      {prompt.dialog}
      {forget && (
        <ForgetProjectDialog
          project={{ ...tab.get().project, activeRuns: active }}
          api={shell.api}
          ws={shell.ws}
          toasts={shell.toasts}
          onCancel={() => setForget(false)}
          onDone={() => setForget(false)}
        />
      )}
    </div>
  );
}
