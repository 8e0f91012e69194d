import { useEffect, useRef, useState } from 'react';
import { ApiError, type Api } from '../api/client';
import type { Project } from '../api/types';
import { forgetProject } from '../store/manage';
import type { Toasts } from '../store/toasts';
import type { Workspace } from '../store/workspace';
import { Icon } from './icons';
import './manage.css';

/**
 * Asks before forgetting a project and says exactly what goes and what
 * stays: Flow Weaver's own records of it go, the folder stays.
 */
export function ForgetProjectDialog({
  project,
  api,
  ws,
  toasts,
  onDone,
  onCancel,
}: {
  project: Project;
  api: Api;
  ws?: Workspace;
  toasts?: Toasts;
  onDone: () => void;
  onCancel: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const cancel = useRef<HTMLButtonElement>(null);
  useEffect(() => cancel.current?.focus(), []);
  const active = project.activeRuns ?? 0;

  const forget = async () => {
    setBusy(true);
    setError(null);
    try {
      await forgetProject({ api, ws, toasts }, project);
      onDone();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
      setBusy(false);
    }
  };

  return (
    <div className="fw-modal-back fw-fb-back" onMouseDown={(e) => e.target === e.currentTarget && onCancel()}>
      <div
        className="fw-modal"
        role="alertdialog"
        aria-label={`Forget ${project.name}`}
        data-testid="forget-dialog"
        onKeyDown={(e) => {
          if (e.key !== 'Escape') return;
          e.stopPropagation();
          onCancel();
        }}
      >
        <div className="fw-modal-head">
          <Icon.trash size={16} />
          <span>Forget “{project.name}”?</span>
        </div>
        <p className="small">Flow Weaver deletes what it keeps about this project:</p>
        <ul className="fw-forget-list">
          <li>its run history and logs{active > 0 ? ` (${active} active run${active === 1 ? ' is' : 's are'} canceled)` : ''};</li>
          <li>its secrets;</li>
          <li>the trust decision and MCP approvals: opening the folder again asks again;</li>
          <li>its schedules, webhook URLs and file triggers, and unsaved drafts in this browser.</li>
        </ul>
        <p className="small">
          The folder <span className="mono">{project.path}</span> and its workflow files are <b>not touched</b>.
        </p>
        {error && (
          <div className="fw-banner error small" data-testid="forget-error">
            {error}
          </div>
        )}
        <div className="fw-modal-actions">
          <button ref={cancel} type="button" className="fw-btn ghost sm" onClick={onCancel}>
            Cancel
          </button>
          <button type="button" className="fw-btn danger sm" data-testid="forget-confirm" disabled={busy} onClick={() => void forget()}>
            {busy ? 'Forgetting…' : 'Forget project'}
          </button>
        </div>
      </div>
    </div>
  );
}
