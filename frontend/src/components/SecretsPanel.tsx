import { useEffect, useRef, useState } from 'react';
import { ApiError } from '../api/client';
import { SECRET_NAME, type SecretUse } from '../store/secrets';
import { useStore } from '../store/store';
import { useTab } from './hooks';
import { Icon } from './icons';

/** "Secrets": the project's named secrets. Values can be entered and replaced, never shown. */
export function SecretsPanel({ onClose }: { onClose: () => void }) {
  const tab = useTab();
  const st = useStore(tab.secrets, (s) => s);
  const [replacing, setReplacing] = useState<string | null>(null);
  const [confirmDelete, setConfirmDelete] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    void tab.secrets.reload();
  }, [tab]);

  const remove = async (name: string) => {
    setError(null);
    try {
      await tab.secrets.remove(name);
      setConfirmDelete(null);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    }
  };

  return (
    <div className="fw-modal-back" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div
        className="fw-modal fw-secrets"
        role="dialog"
        aria-label="Secrets"
        data-testid="secrets-panel"
        onKeyDown={(e) => e.key === 'Escape' && onClose()}
      >
        <div className="fw-modal-head">
          <Icon.key size={18} />
          <span>Secrets of {tab.get().project.name}</span>
          <span className="fw-grow" />
          <button className="fw-btn ghost xs icon" onClick={onClose} title="Close" data-testid="secrets-close">
            <Icon.x size={14} />
          </button>
        </div>
        <p className="fw-help">
          Stored encrypted in Flow Weaver’s data folder, never in the project folder. Use them as{' '}
          <code>{'{{ secrets.NAME }}'}</code> in node parameters and <code>{'${secret:NAME}'}</code> in MCP configs. Values are
          masked as <code>***</code> in logs and outputs and cannot be shown again.
        </p>
        <AddSecret existing={st.secrets.map((s) => s.name)} />
        {(error || st.error) && (
          <div className="fw-banner error small" data-testid="secrets-error">
            {error ?? st.error}
          </div>
        )}
        <div className="fw-secret-list" data-testid="secrets-list">
          {st.loaded && st.secrets.length === 0 && <div className="fw-muted small">No secrets yet.</div>}
          {st.secrets.map((s) => (
            <div key={s.name} className="fw-secret-row" data-testid={`secret-${s.name}`}>
              <div className="fw-secret-main">
                <span className="mono fw-secret-name">{s.name}</span>
                <span className="fw-secret-mask" aria-label="value hidden">
                  ••••••••
                </span>
                <span className="fw-muted small">updated {new Date(s.updatedAt).toLocaleString()}</span>
                <span className="fw-grow" />
                <button className="fw-btn ghost xs" data-testid={`secret-replace-${s.name}`} onClick={() => setReplacing(replacing === s.name ? null : s.name)}>
                  Replace
                </button>
                {confirmDelete === s.name ? (
                  <>
                    <button className="fw-btn danger xs" data-testid={`secret-delete-confirm-${s.name}`} onClick={() => void remove(s.name)}>
                      Delete
                    </button>
                    <button className="fw-btn ghost xs" onClick={() => setConfirmDelete(null)}>
                      Keep
                    </button>
                  </>
                ) : (
                  <button className="fw-btn ghost xs icon" data-testid={`secret-delete-${s.name}`} title={`Delete ${s.name}`} onClick={() => setConfirmDelete(s.name)}>
                    <Icon.x size={13} />
                  </button>
                )}
              </div>
              <Uses uses={s.usedBy} />
              {replacing === s.name && <ValueForm name={s.name} submitLabel="Replace" onDone={() => setReplacing(null)} />}
            </div>
          ))}
          {st.missing.length > 0 && (
            <>
              <div className="fw-section-title">Referenced but not set</div>
              {st.missing.map((m) => (
                <div key={m.name} className="fw-secret-row missing" data-testid={`secret-missing-${m.name}`}>
                  <div className="fw-secret-main">
                    <Icon.alert size={13} />
                    <span className="mono fw-secret-name">{m.name}</span>
                    <span className="fw-grow" />
                    <button className="fw-btn ghost xs" onClick={() => setReplacing(replacing === m.name ? null : m.name)}>
                      Set
                    </button>
                  </div>
                  <Uses uses={m.usedBy} />
                  {replacing === m.name && <ValueForm name={m.name} submitLabel="Save" onDone={() => setReplacing(null)} />}
                </div>
              ))}
            </>
          )}
        </div>
      </div>
    </div>
  );
}

function Uses({ uses }: { uses: SecretUse[] }) {
  if (!uses.length) return <div className="fw-muted small fw-secret-uses">Not used by any workflow or MCP server.</div>;
  return (
    <div className="fw-secret-uses small" data-testid="secret-uses">
      Used by{' '}
      {uses.map((u, i) => (
        <span key={i} className="fw-secret-use mono">
          {u.kind === 'mcp' ? `MCP ${u.server} (${u.file})` : `${u.workflowId} › ${u.nodeId}`}
        </span>
      ))}
    </div>
  );
}

/** New secret: name and value. The value field is a password field and is cleared on save. */
function AddSecret({ existing }: { existing: string[] }) {
  const tab = useTab();
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const n = name.trim();
  const nameError = n && !SECRET_NAME.test(n) ? 'Use A-Z, 0-9 and _, not starting with a digit (at most 64).' : null;
  const submit = async () => {
    if (!n || nameError || !value) return;
    setBusy(true);
    setError(null);
    try {
      await tab.secrets.put(n, value);
      setName('');
      setValue('');
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form
      className="fw-secret-add"
      data-testid="secret-add"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <div className="fw-row">
        <input
          data-testid="secret-name"
          className="mono"
          placeholder="NAME"
          aria-label="Secret name"
          value={name}
          autoComplete="off"
          spellCheck={false}
          onChange={(e) => setName(e.target.value.toUpperCase())}
        />
        <input
          data-testid="secret-value"
          type="password"
          placeholder="value"
          aria-label="Secret value"
          autoComplete="new-password"
          value={value}
          onChange={(e) => setValue(e.target.value)}
        />
        <button type="submit" className="fw-btn primary sm" data-testid="secret-save" disabled={busy || !n || !!nameError || !value}>
          {existing.includes(n) ? 'Replace' : 'Add'}
        </button>
      </div>
      {(nameError || error) && <div className="fw-field-error">{nameError ?? error}</div>}
    </form>
  );
}

/** Replaces (or first sets) one secret's value. */
function ValueForm({ name, submitLabel, onDone }: { name: string; submitLabel: string; onDone: () => void }) {
  const tab = useTab();
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  return (
    <form
      className="fw-row fw-secret-replace"
      onSubmit={async (e) => {
        e.preventDefault();
        if (!value) return;
        try {
          await tab.secrets.put(name, value);
          setValue('');
          onDone();
        } catch (err) {
          setError(err instanceof ApiError ? err.message : String(err));
        }
      }}
    >
      <input
        ref={input}
        data-testid={`secret-new-value-${name}`}
        type="password"
        placeholder={`new value for ${name}`}
        autoComplete="new-password"
        value={value}
        onChange={(e) => setValue(e.target.value)}
      />
      <button type="submit" className="fw-btn primary sm" data-testid={`secret-new-save-${name}`} disabled={!value}>
        {submitLabel}
      </button>
      {error && <div className="fw-field-error">{error}</div>}
    </form>
  );
}

/** The toolbar button that opens the Secrets panel (with a badge when referenced secrets are missing). */
export function SecretsButton() {
  const tab = useTab();
  const [open, setOpen] = useState(false);
  const count = useStore(tab.secrets, (s) => s.secrets.length);
  return (
    <>
      <button className="fw-btn ghost sm" data-testid="secrets-open" onClick={() => setOpen(true)} title="Secrets of this project">
        <Icon.key size={14} /> Secrets{count > 0 && <span className="fw-count neutral">{count}</span>}
      </button>
      {open && <SecretsPanel onClose={() => setOpen(false)} />}
    </>
  );
}
