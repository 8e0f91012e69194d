import { useEffect, useRef } from 'react';
import type { McpEntryReview, TrustReview } from '../api/types';
import { Icon } from './icons';

// Characters that can make a command read differently from what runs:
// controls (newlines and tabs stay: a <pre> shows them), bidirectional
// overrides (Trojan Source), zero-width characters.
// eslint-disable-next-line no-control-regex
const HIDDEN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

/** Shows hidden characters as ⟨U+XXXX⟩ so the user sees every character that would run. */
export function visible(s: string): string {
  return s.replace(HIDDEN, (c) => `⟨U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}⟩`);
}

export function hasHidden(s: string): boolean {
  HIDDEN.lastIndex = 0;
  const hit = HIDDEN.test(s);
  HIDDEN.lastIndex = 0;
  return hit;
}

/** Quotes one argument the way a POSIX shell would need it, for display only. */
export function shellQuote(a: string): string {
  if (a !== '' && /^[A-Za-z0-9_@%+=:,./${}-]+$/.test(a)) return a;
  // Double quotes read better around single-quoted words, where they mean the same.
  if (a.includes("'") && !/["$`\\!]/.test(a)) return `"${a}"`;
  return `'${a.replace(/'/g, `'\\''`)}'`;
}

/** The command line of a stdio entry as one readable string (arguments quoted, nothing expanded). */
export function commandLine(e: Pick<McpEntryReview, 'command' | 'args'>): string {
  return [e.command ?? '', ...(e.args ?? [])].map(shellQuote).join(' ');
}

function entryText(e: McpEntryReview): string {
  return [e.server, e.command, ...(e.args ?? []), e.url, e.cwd, e.envFile, ...(e.env ?? []), ...(e.headers ?? [])].join('\n');
}

/** One MCP server entry exactly as it would run: command line or URL, what it receives. */
export function McpEntryDetails({ e, trusted }: { e: McpEntryReview; trusted?: boolean }) {
  const hidden = hasHidden(entryText(e));
  return (
    <div className="fw-trust-entry" data-testid={`trust-mcp-${e.server}`}>
      <div className="fw-trust-entry-head">
        <Icon.plug size={14} />
        <b className="fw-ellipsis">{visible(e.server)}</b>
        <span className="fw-muted small mono">{e.file}</span>
        {e.type && <span className="fw-trust-tag">{e.type}</span>}
        {e.approval === 'changed' && <span className="fw-trust-tag warn">changed since approved</span>}
        {e.approval === 'new' && trusted && <span className="fw-trust-tag warn">new: waits for approval</span>}
      </div>
      {e.error && <div className="fw-help warn">{visible(e.error)}</div>}
      {e.type === 'stdio' && (
        <>
          <div className="fw-trust-label">Runs this command</div>
          <pre className="fw-trust-code" data-testid={`trust-command-${e.server}`}>
            {visible(commandLine(e))}
          </pre>
          {e.cwd && (
            <div className="fw-trust-kv">
              in <code>{visible(e.cwd)}</code>
            </div>
          )}
        </>
      )}
      {e.url && (
        <>
          <div className="fw-trust-label">Connects to</div>
          <pre className="fw-trust-code" data-testid={`trust-url-${e.server}`}>
            {visible(e.url)}
          </pre>
        </>
      )}
      {!!e.env?.length && (
        <div className="fw-trust-kv">
          Sets variables: <Names names={e.env} />
          {e.envFile && (
            <>
              {' '}
              (from <code>{visible(e.envFile)}</code>)
            </>
          )}
        </div>
      )}
      {!!e.headers?.length && (
        <div className="fw-trust-kv">
          Sends headers: <Names names={e.headers} />
        </div>
      )}
      {!!e.variables?.length && (
        <div className="fw-trust-kv warn" data-testid={`trust-vars-${e.server}`}>
          <Icon.alert size={12} /> Reads from your environment: <Names names={e.variables} />
        </div>
      )}
      {!!e.secrets?.length && (
        <div className="fw-trust-kv warn" data-testid={`trust-secrets-${e.server}`}>
          <Icon.key size={12} /> Receives project secrets: <Names names={e.secrets} />
        </div>
      )}
      {e.inheritsEnvironment && <div className="fw-trust-kv fw-muted">Starts with Flow Weaver’s whole environment, as any program you run.</div>}
      {hidden && (
        <div className="fw-help warn" data-testid={`trust-hidden-${e.server}`}>
          This entry contains invisible or control characters (shown as ⟨U+…⟩). Be careful.
        </div>
      )}
    </div>
  );
}

function Names({ names }: { names: string[] }) {
  return (
    <>
      {names.map((n, i) => (
        <span key={n + i}>
          {i > 0 && ', '}
          <code>{visible(n)}</code>
        </span>
      ))}
    </>
  );
}

/**
 * "Do you trust this folder?": everything the folder would run once trusted,
 * as written in its files. Trust approves exactly the MCP entries shown;
 * Browse only keeps the project restricted (nothing runs, nothing starts).
 */
export function TrustDialog({
  review,
  name,
  busy,
  error,
  onTrust,
  onBrowse,
}: {
  review: TrustReview;
  name: string;
  busy?: boolean;
  error?: string | null;
  onTrust: () => void;
  onBrowse: () => void;
}) {
  const browse = useRef<HTMLButtonElement>(null);
  // The safe choice has the focus, so Enter never trusts by accident.
  useEffect(() => browse.current?.focus(), []);
  const wfs = review.workflows;
  const servers = review.mcpServers;
  return (
    <div className="fw-modal-back">
      <div
        className="fw-modal fw-trust"
        role="dialog"
        aria-modal="true"
        aria-labelledby="trust-title"
        data-testid="trust-dialog"
        onKeyDown={(e) => e.key === 'Escape' && onBrowse()}
      >
        <div className="fw-modal-head" id="trust-title">
          <Icon.shield size={18} />
          <span>{review.trusted ? `What “${visible(name)}” runs` : `Do you trust the authors of “${visible(name)}”?`}</span>
        </div>
        <div className="fw-muted small mono fw-ellipsis" title={review.path}>
          {visible(review.path)}
        </div>
        {review.trusted ? (
          <p className="fw-trust-intro">You trust this folder. MCP entries added or changed since then wait for your approval in the tool palette.</p>
        ) : (
        <p className="fw-trust-intro">
          This folder brings things that run on your machine with your rights. Nothing has run yet. Trust it only if you
          know where it comes from; otherwise browse it: you can read workflows and files, and trust it later.
        </p>
        )}
        <div className="fw-trust-body">
          {servers.length > 0 && (
            <section>
              <div className="fw-section-title">
                {review.trusted ? 'MCP servers' : 'MCP servers — start as soon as you trust'} ({servers.length})
              </div>
              {servers.map((e) => (
                <McpEntryDetails key={e.file + '\0' + e.server} e={e} trusted={review.trusted} />
              ))}
            </section>
          )}
          {wfs.length > 0 && (
            <section>
              <div className="fw-section-title">Workflows — run when you press Run ({wfs.length})</div>
              {wfs.map((w) => (
                <div key={w.id} className="fw-trust-entry" data-testid={`trust-workflow-${w.id}`}>
                  <div className="fw-trust-entry-head">
                    <Icon.list size={14} />
                    <b className="fw-ellipsis">{visible(w.name || w.id)}</b>
                    <span className="fw-muted small">
                      {w.nodes} node{w.nodes === 1 ? '' : 's'}
                      {w.tools?.length ? ` · ${w.tools.map(visible).join(', ')}` : ''}
                    </span>
                    {!w.valid && <span className="fw-trust-tag warn">invalid</span>}
                  </div>
                  {w.commands?.map((c, i) => (
                    <pre key={i} className="fw-trust-code">
                      {visible(c)}
                    </pre>
                  ))}
                </div>
              ))}
            </section>
          )}
          {!servers.length && !wfs.length && <p className="fw-muted">Nothing in this folder runs yet.</p>}
          {!!review.problems?.length && (
            <section>
              <div className="fw-section-title">Configuration that cannot be read (will not start)</div>
              {review.problems.map((p, i) => (
                <div key={i} className="fw-help warn">
                  {visible(p.error ?? p.file)}
                </div>
              ))}
            </section>
          )}
        </div>
        {error && (
          <div className="fw-banner error small" data-testid="trust-error">
            {error}
          </div>
        )}
        {review.trusted ? (
          <div className="fw-modal-actions">
            <button ref={browse} type="button" className="fw-btn sm" data-testid="trust-close" onClick={onBrowse}>
              Close
            </button>
          </div>
        ) : (
        <div className="fw-modal-actions">
          <button ref={browse} type="button" className="fw-btn sm" data-testid="trust-browse" onClick={onBrowse} disabled={busy}>
            Browse only
          </button>
          <button type="button" className="fw-btn primary sm" data-testid="trust-accept" onClick={onTrust} disabled={busy}>
            <Icon.check size={14} /> {busy ? 'Trusting…' : servers.length ? 'Trust and start servers' : 'Trust folder'}
          </button>
        </div>
        )}
      </div>
    </div>
  );
}

/** Whether a review has anything that could run (otherwise there is nothing to ask). */
export function hasRunnable(r: TrustReview): boolean {
  return r.workflows.length > 0 || r.mcpServers.length > 0 || !!r.problems?.length;
}
