import { useEffect, useRef, useState } from 'react';
import type { Api } from '../api/client';
import type { Session } from '../platform/session';
import { SessionsDialog } from './SessionsDialog';

function UserIcon({ size = 16 }: { size?: number }) {
  return (
    <svg width={size} height={size} viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round" aria-hidden="true">
      <circle cx="12" cy="8" r="4" />
      <path d="M4 21a8 8 0 0 1 16 0" />
    </svg>
  );
}

/**
 * The account menu (header, right): the browser sessions of this Flow
 * Weaver (list, sign out others) and, in a browser, "Sign out" of this
 * browser. The desktop window has no browser session to sign out of.
 */
export function AccountMenu({ session, api }: { session: Session; api: Api }) {
  const [open, setOpen] = useState(false);
  const [dialog, setDialog] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const root = useRef<HTMLDivElement>(null);
  const browser = session.platform.kind === 'browser';

  useEffect(() => {
    if (!open) return;
    const close = (e: MouseEvent) => root.current && !root.current.contains(e.target as Node) && setOpen(false);
    window.addEventListener('mousedown', close);
    return () => window.removeEventListener('mousedown', close);
  }, [open]);

  const signOut = async () => {
    setOpen(false);
    try {
      await session.signOut();
    } catch (e) {
      setError(`Could not sign out: ${(e as Error).message}`);
    }
  };

  return (
    <div className="fw-pmenu-root" ref={root}>
      <button
        className={`fw-btn ghost sm icon ${open ? 'on' : ''}`}
        data-testid="account-menu"
        aria-haspopup="menu"
        aria-expanded={open}
        title={error ?? 'Account and sessions'}
        onClick={() => setOpen(!open)}
      >
        <UserIcon />
      </button>
      {open && (
        <div className="fw-pmenu" role="menu" onKeyDown={(e) => e.key === 'Escape' && setOpen(false)}>
          <div className="fw-pmenu-note">{browser ? 'Signed in in this browser' : 'Desktop window'}</div>
          <button
            role="menuitem"
            className="fw-pmenu-item"
            data-testid="account-sessions"
            onClick={() => {
              setOpen(false);
              setDialog(true);
            }}
          >
            Browser sessions…
          </button>
          {browser && (
            <button role="menuitem" className="fw-pmenu-item danger" data-testid="account-sign-out" onClick={() => void signOut()}>
              Sign out
            </button>
          )}
        </div>
      )}
      {dialog && <SessionsDialog api={api} onClose={() => setDialog(false)} />}
    </div>
  );
}
