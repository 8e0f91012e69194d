import { useState } from 'react';
import type { McpEntryReview } from '../api/types';
import { useStore } from '../store/store';
import { useTab } from './hooks';
import { Icon } from './icons';
import { McpEntryDetails, visible } from './TrustDialog';

/**
 * The MCP servers of the project that do not run because of trust, at the
 * top of the tool palette: all of them while the folder is not trusted, and
 * entries added or changed after trust ("pending_approval"), each with a
 * review of exactly what it would run and an Approve button.
 */
export function HeldBackServers() {
  const tab = useTab();
  const servers = useStore(tab, (s) => s.servers);
  const untrusted = servers.filter((s) => s.status === 'untrusted');
  const pending = servers.filter((s) => s.status === 'pending_approval');
  if (!untrusted.length && !pending.length) return null;
  return (
    <div className="fw-palette-group fw-held" data-testid="held-back-servers">
      {untrusted.length > 0 && (
        <>
          <div className="fw-palette-group-title">MCP servers · not started</div>
          {untrusted.map((s) => (
            <div key={s.file + '\0' + s.server} className="fw-held-item" data-testid={`server-untrusted-${s.server}`} title={s.error}>
              <Icon.plug size={13} />
              <span className="fw-ellipsis">{visible(s.server)}</span>
              <span className="fw-muted small">folder not trusted</span>
            </div>
          ))}
        </>
      )}
      {pending.length > 0 && (
        <>
          <div className="fw-palette-group-title">MCP servers · waiting for approval</div>
          {pending.map((s) => (
            <PendingServer key={s.file + '\0' + s.server} server={s.server} file={s.file} fingerprint={s.fingerprint ?? ''} />
          ))}
        </>
      )}
    </div>
  );
}

function PendingServer({ server, file, fingerprint }: { server: string; file: string; fingerprint: string }) {
  const tab = useTab();
  const [entry, setEntry] = useState<McpEntryReview | null>(null);
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const toggle = async () => {
    if (open) {
      setOpen(false);
      return;
    }
    try {
      const r = await tab.trust.review();
      setEntry(r.mcpServers.find((e) => e.server === server && e.file === file) ?? null);
      setOpen(true);
    } catch (e) {
      tab.trust.reportError('Could not read the MCP configuration', e);
    }
  };
  return (
    <div className="fw-held-item pending" data-testid={`server-pending-${server}`}>
      <div className="fw-held-row">
        <Icon.alert size={13} />
        <span className="fw-ellipsis">{visible(server)}</span>
        <span className="fw-muted small mono">{file}</span>
        <span className="fw-grow" />
        <button className="fw-btn xs" data-testid={`server-review-${server}`} onClick={() => void toggle()}>
          {open ? 'Hide' : 'Review'}
        </button>
      </div>
      {open && entry && (
        <>
          <McpEntryDetails e={entry} trusted />
          <button
            className="fw-btn primary xs"
            data-testid={`server-approve-${server}`}
            disabled={busy || entry.fingerprint !== fingerprint}
            title={entry.fingerprint !== fingerprint ? 'The entry changed since it was listed; review it again' : 'Start this server'}
            onClick={async () => {
              setBusy(true);
              try {
                if (await tab.trust.approve(entry.fingerprint)) setOpen(false);
              } catch (e) {
                tab.trust.reportError('Could not approve the server', e);
              } finally {
                setBusy(false);
              }
            }}
          >
            <Icon.check size={12} /> Approve and start
          </button>
        </>
      )}
      {open && !entry && <div className="fw-muted small">This entry is no longer in the configuration.</div>}
    </div>
  );
}
