import { useEffect, useState } from 'react';
import type { Api } from '../api/client';
import './sessions.css';

/** One browser session as GET /api/auth/sessions lists it. */
export interface BrowserSession {
  id: string;
  device: string;
  userAgent: string;
  createdAt: string;
  lastSeenAt: string;
  current: boolean;
}

function when(iso: string): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '—';
  const ago = Date.now() - t;
  if (ago < 90_000) return 'just now';
  if (ago < 3_600_000) return `${Math.round(ago / 60_000)} min ago`;
  return new Date(t).toLocaleString();
}

/**
 * The browser sessions of this Flow Weaver: every browser signed in with a
 * login link, with its device, when it signed in and when it was last
 * seen. Signing one out closes its tabs' connections and sends them to the
 * sign-in page; "Sign out all other sessions" keeps only this one.
 */
export function SessionsDialog({ api, onClose }: { api: Api; onClose: () => void }) {
  const [sessions, setSessions] = useState<BrowserSession[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  // Bumped after every change: the effect below lists the sessions again.
  const [version, setVersion] = useState(0);
  useEffect(() => {
    let live = true;
    api.call<{ sessions: BrowserSession[] }>('GET', '/api/auth/sessions').then(
      (res) => {
        if (!live) return;
        setSessions(res.sessions);
        setError(null);
      },
      (e: unknown) => live && setError((e as Error).message),
    );
    return () => {
      live = false;
    };
  }, [api, version]);

  const act = async (fn: () => Promise<unknown>) => {
    setBusy(true);
    try {
      await fn();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
      setVersion((v) => v + 1);
    }
  };
  const others = (sessions ?? []).filter((s) => !s.current).length;

  return (
    <div className="fw-modal-back">
      <div className="fw-modal fw-sessions" role="dialog" aria-modal="true" aria-labelledby="sessions-title" data-testid="sessions-dialog" onKeyDown={(e) => e.key === 'Escape' && onClose()}>
        <div className="fw-modal-head" id="sessions-title">
          Browser sessions
        </div>
        <p className="fw-muted">Browsers signed in with a login link. Signing one out ends it at once: its tabs show the sign-in page.</p>
        {error && <p className="fw-sessions-error" role="alert">{error}</p>}
        {sessions === null && !error && <p className="fw-muted">Loading…</p>}
        {sessions && sessions.length === 0 && <p className="fw-muted" data-testid="sessions-empty">No browser is signed in.</p>}
        {sessions && sessions.length > 0 && (
          <table className="fw-sessions-table">
            <thead>
              <tr>
                <th>Device</th>
                <th>Signed in</th>
                <th>Last seen</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {sessions.map((s) => (
                <tr key={s.id} data-testid="session-row" data-current={s.current ? 'true' : undefined}>
                  <td title={s.userAgent}>
                    {s.device}
                    {s.current && <span className="fw-sessions-badge">This browser</span>}
                  </td>
                  <td>{when(s.createdAt)}</td>
                  <td>{when(s.lastSeenAt)}</td>
                  <td>
                    {!s.current && (
                      <button className="fw-btn sm" disabled={busy} data-testid="session-revoke" onClick={() => void act(() => api.call('DELETE', `/api/auth/sessions/${encodeURIComponent(s.id)}`))}>
                        Sign out
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <div className="fw-modal-actions">
          <button className="fw-btn" disabled={busy || others === 0} data-testid="sessions-revoke-others" onClick={() => void act(() => api.call('POST', '/api/auth/sessions/revoke-others'))}>
            Sign out all other sessions
          </button>
          <button className="fw-btn primary" onClick={onClose}>
            Close
          </button>
        </div>
      </div>
    </div>
  );
}
