import { useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { Api } from '../api/client';
import type { Session } from '../platform/session';
import { useStore } from '../store/store';
import { Toasts as ToastStore } from '../store/toasts';
import { Workspace } from '../store/workspace';
import { AccountMenu } from './AccountMenu';
import { CloseQuestionDialog } from './CloseQuestionDialog';
import { Icon } from './icons';
import { MonitorPanel } from './MonitorPanel';
import { OpenFolderDialog } from './OpenFolderDialog';
import { ProjectView } from './ProjectView';
import { ShellContext } from './shell';
import { TabBar } from './TabBar';
import { Toasts } from './Toasts';
import { useTheme } from './theme';

/** Session gate: loading, the app, or the "log in again" screen — never a blank page. */
export function App({ session }: { session: Session }) {
  const status = useSyncExternalStore(
    (fn) => session.onStatus(fn),
    () => session.status,
  );
  // A login link pasted into the address bar of the sign-in screen only
  // changes the fragment (no reload): sign in with it right away.
  const expired = status.status === 'expired';
  useEffect(() => {
    if (!expired) return;
    const onHash = () => {
      if (/(^#|&)code=/.test(window.location.hash)) void session.start();
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, [expired, session]);
  if (status.status === 'loading') {
    return (
      <div className="fw-splash" data-testid="splash">
        <Logo /> <span className="fw-muted">Connecting…</span>
      </div>
    );
  }
  if (status.status === 'expired') return <SessionExpired reason={status.reason} code={status.code} desktop={session.platform.kind === 'desktop'} />;
  return <Shell session={session} />;
}

function Logo() {
  return (
    <span className="fw-logo">
      <svg width="20" height="20" viewBox="0 0 24 24" aria-hidden="true">
        <circle cx="5" cy="6" r="3" fill="var(--accent)" />
        <circle cx="19" cy="12" r="3" fill="var(--accent-2)" />
        <circle cx="5" cy="18" r="3" fill="var(--accent)" />
        <path d="M8 6c5 0 5 6 8 6M8 18c5 0 5-6 8-6" stroke="var(--fg-muted)" strokeWidth="1.6" fill="none" />
      </svg>
      <span>Flow Weaver</span>
    </span>
  );
}

export function SessionExpired({ reason, code, desktop }: { reason: string; code: string; desktop: boolean }) {
  const first = code === 'no_session';
  return (
    <div className="fw-splash" data-testid="session-expired">
      <div className="fw-expired">
        <Logo />
        <h1>{first ? 'Sign in to Flow Weaver' : code === 'unreachable' ? 'Cannot reach Flow Weaver' : code === 'signed_out' ? 'Signed out' : 'Session expired'}</h1>
        <p className="fw-muted">{reason}.</p>
        {desktop ? (
          <p>Restart the Flow Weaver window to start a new session.</p>
        ) : (
          <>
            <p>To log in again, either:</p>
            <ul>
              <li>
                open or paste here the login URL printed by <code>flowweaver serve</code> (the line starting with <code>open http://…/#code=</code>); each link works
                once, and <code>flowweaver open</code> prints a new one. Other tabs and windows of this browser are then signed in too, or
              </li>
              <li>
                run <code>flowweaver token</code> and use the token with the API.
              </li>
            </ul>
          </>
        )}
        <button className="fw-btn primary" onClick={() => location.reload()}>
          Try again
        </button>
      </div>
    </div>
  );
}

function Shell({ session }: { session: Session }) {
  // Created once per shell: a lazy state initializer runs on the first render
  // only, and reading it during render is allowed (a ref's .current is not).
  const [{ api, toasts, ws }] = useState(() => {
    const toasts = new ToastStore();
    const api = new Api({
      baseUrl: session.platform.baseUrl(),
      auth: {
        token: () => session.token(),
        refresh: () => session.refresh(),
        expired: (r) => session.expire(r),
      },
      onDiskFull: (message) => toasts.push({ level: 'error', title: 'Disk full', message }),
    });
    const ws = new Workspace({
      api,
      toasts,
      wsBase: () => session.platform.wsBase(),
      token: () => session.token(),
      refreshToken: () => session.refresh(),
      onTokenRefreshed: (fn) => session.onToken(fn),
    });
    return { api, toasts, ws };
  });
  const [shell] = useState(() => ({ api, toasts, ws }));
  const [theme, toggleTheme] = useTheme();
  const [dialog, setDialog] = useState(false);
  const [monitor, setMonitor] = useState(false);
  const tabs = useStore(ws, (s) => s.tabs);
  const active = useStore(ws, (s) => s.active);
  const restoring = useStore(ws, (s) => s.restoring);
  const started = useRef(false);

  useEffect(() => {
    if (started.current) return;
    started.current = true;
    void ws.restore();
    const flush = () => void ws.flush();
    window.addEventListener('beforeunload', flush);
    return () => window.removeEventListener('beforeunload', flush);
  }, [ws]);

  const activeTab = tabs.find((t) => t.id === active);
  const activeName = activeTab?.get().project.name ?? '';
  useEffect(() => session.platform.setTitle(activeName), [session, activeName]);
  useEffect(() => session.platform.onOpenProjectRequest(() => setDialog(true)), [session]);
  return (
    <ShellContext.Provider value={shell}>
    <div className="fw-app">
      <header className="fw-top">
        <Logo />
        <TabBar ws={ws} onOpen={() => setDialog(true)} />
        <span className="fw-grow" />
        <button className={`fw-btn ghost sm icon ${monitor ? 'on' : ''}`} data-testid="monitor-toggle" onClick={() => setMonitor(!monitor)} title="System monitor">
          <Icon.activity size={16} />
        </button>
        <AccountMenu session={session} api={api} />
        <button className="fw-btn ghost sm icon" data-testid="theme-toggle" onClick={toggleTheme} title={theme === 'dark' ? 'Light theme' : 'Dark theme'}>
          {theme === 'dark' ? <Icon.sun size={16} /> : <Icon.moon size={16} />}
        </button>
      </header>
      <main className="fw-main">
        {tabs.map((t) => (
          <div key={t.id} className="fw-tabpane" hidden={t.id !== active}>
            {t.id === active && <ProjectView tab={t} theme={theme} />}
          </div>
        ))}
        {!restoring && !tabs.length && (
          <div className="fw-empty" data-testid="empty-state">
            <div className="fw-empty-card">
              <Icon.folder size={40} />
              <h2>Open a project folder to begin</h2>
              <p className="fw-muted">A project is a folder on this machine. Its workflows are saved inside it, and each project gets its own tab.</p>
              <button className="fw-btn primary" data-testid="empty-open" onClick={() => setDialog(true)}>
                <Icon.folder size={15} /> Open folder…
              </button>
            </div>
          </div>
        )}
        {restoring && (
          <div className="fw-empty">
            <span className="fw-muted">Restoring your tabs…</span>
          </div>
        )}
      </main>
      {monitor && <MonitorPanel tab={activeTab} onClose={() => setMonitor(false)} />}
      {dialog && (
        <OpenFolderDialog
          api={api}
          pickFolder={session.platform.pickFolder}
          openIds={tabs.map((t) => t.id)}
          onClose={() => setDialog(false)}
          onOpen={(p) => {
            ws.open(p);
            setDialog(false);
          }}
        />
      )}
      <Toasts toasts={toasts} />
      <CloseQuestionDialog platform={session.platform} />
    </div>
    </ShellContext.Provider>
  );
}
