import { useContext, useEffect, useRef, useState } from 'react';
import { Api, ApiError } from '../api/client';
import type { Project, TrustReview } from '../api/types';
import { FolderBrowser } from './FolderBrowser';
import { ForgetProjectDialog } from './ForgetProject';
import { basename } from './format';
import { ShellContext } from './shell';
import { Icon } from './icons';
import { hasRunnable, TrustDialog } from './TrustDialog';

/** "Open folder": a path field, a folder picker (native on the desktop, FolderBrowser in a browser), plus known projects. */
export function OpenFolderDialog({
  api,
  pickFolder,
  onOpen,
  onClose,
  openIds,
}: {
  api: Api;
  pickFolder?: () => Promise<string | null>;
  onOpen: (p: Project) => void;
  onClose: () => void;
  openIds: string[];
}) {
  const [path, setPath] = useState('');
  const [name, setName] = useState('');
  const [nameTouched, setNameTouched] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [known, setKnown] = useState<Project[]>([]);
  const [create, setCreate] = useState(false);
  // The trust question for a folder just opened that brings something to run.
  const [ask, setAsk] = useState<{ project: Project; review: TrustReview } | null>(null);
  const input = useRef<HTMLInputElement>(null);
  const submitButton = useRef<HTMLButtonElement>(null);
  const [browsing, setBrowsing] = useState(false);
  const [forgetting, setForgetting] = useState<Project | null>(null);
  const shell = useContext(ShellContext);

  useEffect(() => {
    input.current?.focus();
    api.listProjects().then(setKnown, () => undefined);
  }, [api]);

  // The name follows the folder until the user types one.
  const shownName = nameTouched ? name : path.trim() ? basename(path.trim()) : '';

  const submit = async () => {
    const p = path.trim();
    if (!p) {
      setError('Enter the folder’s absolute path.');
      return;
    }
    const existing = known.find((k) => k.path === p);
    if (existing) {
      onOpen(existing);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const project = await api.createProject(shownName.trim() || basename(p), p, create ? { create: true } : {});
      if (project.trusted !== false) {
        onOpen(project);
        return;
      }
      const review = await api.trustReview(project.id);
      if (hasRunnable(review)) {
        setAsk({ project, review });
      } else {
        // A folder with no workflows and no MCP configuration brings nothing
        // that could run: open it trusted, like a folder created here. What
        // arrives later waits (MCP entries) or runs only on Run (workflows).
        onOpen(await api.setTrust(project.id, true, []));
      }
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  if (ask) {
    return (
      <TrustDialog
        review={ask.review}
        name={ask.project.name}
        busy={busy}
        error={error}
        onBrowse={() => onOpen(ask.project)}
        onTrust={async () => {
          setBusy(true);
          setError(null);
          try {
            onOpen(await api.setTrust(ask.project.id, true, ask.review.mcpServers.map((m) => m.fingerprint)));
          } catch (e) {
            setError(e instanceof ApiError ? e.message : String(e));
            setBusy(false);
          }
        }}
      />
    );
  }

  const others = known.filter((k) => !openIds.includes(k.id));
  return (
    <div className="fw-modal-back" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className="fw-modal" role="dialog" aria-label="Open project folder" data-testid="open-dialog" onKeyDown={(e) => e.key === 'Escape' && onClose()}>
        <div className="fw-modal-head">
          <Icon.folder size={18} />
          <span>Open project folder</span>
          <span className="fw-grow" />
          <button className="fw-btn ghost xs icon" onClick={onClose} title="Close">
            <Icon.x size={14} />
          </button>
        </div>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void submit();
          }}
        >
          <div className="fw-field">
            <label className="fw-label" htmlFor="open-path">
              Folder path<span className="fw-required">*</span>
            </label>
            <div className="fw-row">
              <input
                id="open-path"
                ref={input}
                data-testid="open-path"
                className="mono"
                placeholder="/home/you/projects/my-app"
                value={path}
                onChange={(e) => setPath(e.target.value)}
              />
              <button
                type="button"
                className="fw-btn sm"
                data-testid="open-browse"
                onClick={async () => {
                  if (!pickFolder) {
                    setBrowsing(true);
                    return;
                  }
                  const p = await pickFolder();
                  if (p) setPath(p);
                }}
              >
                Browse…
              </button>
            </div>
            <div className="fw-help">
              {create
                ? 'A new, empty folder is made at this path (its parent must exist). It is trusted: nothing in it came from elsewhere.'
                : 'An existing folder on the machine running Flow Weaver. Workflows are stored inside it.'}
            </div>
            <label className="fw-check">
              <input type="checkbox" data-testid="open-create" checked={create} onChange={(e) => setCreate(e.target.checked)} />
              Create a new empty folder
            </label>
          </div>
          <div className="fw-field">
            <label className="fw-label" htmlFor="open-name">
              Name
            </label>
            <input
              id="open-name"
              data-testid="open-name"
              value={shownName}
              onChange={(e) => {
                setName(e.target.value);
                setNameTouched(true);
              }}
            />
          </div>
          {error && (
            <div className="fw-banner error small" data-testid="open-error">
              {error}
            </div>
          )}
          <div className="fw-modal-actions">
            <button type="button" className="fw-btn ghost sm" onClick={onClose}>
              Cancel
            </button>
            <button ref={submitButton} type="submit" className="fw-btn primary sm" data-testid="open-submit" disabled={busy}>
              {busy ? 'Opening…' : create ? 'Create' : 'Open'}
            </button>
          </div>
        </form>
        {others.length > 0 && (
          <div className="fw-known">
            <div className="fw-section-title">Known projects</div>
            {others.map((p) => (
              <div key={p.id} className="fw-known-row">
              <button className="fw-known-item" data-testid={`known-project-${p.id}`} onClick={() => onOpen(p)}>
                <Icon.folder size={14} />
                <span className="fw-known-name">{p.name}</span>
                {p.trusted === false && (
                  <span className="fw-tab-restricted" title="Restricted mode: not trusted" data-testid={`known-restricted-${p.id}`}>
                    <Icon.shield size={12} />
                  </span>
                )}
                <span className="fw-muted mono small fw-ellipsis">{p.path}</span>
              </button>
              <button
                className="fw-btn ghost xs icon fw-known-forget"
                data-testid={`known-forget-${p.id}`}
                title={`Forget ${p.name} (the folder is not touched)`}
                aria-label={`Forget ${p.name}`}
                onClick={() => setForgetting(p)}
              >
                <Icon.trash size={13} />
              </button>
              </div>
            ))}
          </div>
        )}
      </div>
      {browsing && (
        <FolderBrowser
          api={api}
          start={path.trim()}
          onClose={() => {
            setBrowsing(false);
            input.current?.focus();
          }}
          onChoose={(p) => {
            setBrowsing(false);
            setPath(p);
            setError(null);
            // Enter now opens it.
            setTimeout(() => submitButton.current?.focus(), 0);
          }}
        />
      )}
      {forgetting && (
        <ForgetProjectDialog
          project={forgetting}
          api={api}
          ws={shell?.ws}
          toasts={shell?.toasts}
          onCancel={() => setForgetting(null)}
          onDone={() => {
            const gone = forgetting.id;
            setForgetting(null);
            setKnown((k) => k.filter((x) => x.id !== gone));
          }}
        />
      )}
    </div>
  );
}
