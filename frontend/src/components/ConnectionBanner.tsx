import { useEffect } from 'react';
import { useStore } from '../store/store';
import { formatDuration } from './format';
import { useNow, useTab } from './hooks';
import { Icon } from './icons';

/** How long the "back online" note stays when nobody closes it. */
const RESYNC_NOTE_MS = 30_000;

/**
 * The tab's connection, when it is not simply fine: lost (with the
 * countdown to the next attempt and "Retry now"), then back (what was
 * brought up to date). A stopped connection has its own banner.
 */
export function ConnectionBanner() {
  const tab = useTab();
  const outage = useStore(tab, (s) => s.outage);
  const resync = useStore(tab, (s) => s.resync);
  const now = useNow(!!outage, 250);
  useEffect(() => {
    if (!resync) return;
    const t = setTimeout(() => tab.dismissResync(), RESYNC_NOTE_MS);
    return () => clearTimeout(t);
  }, [resync, tab]);

  if (outage) {
    const secs = outage.retryAt ? Math.max(0, Math.ceil((outage.retryAt - now) / 1000)) : 0;
    return (
      <div className="fw-banner warn fw-conn-banner" data-testid="connection-banner" role="status">
        <Icon.alert size={14} />
        <span data-testid="connection-banner-text">
          Disconnected from the server, {secs > 0 ? `reconnecting in ${secs} s…` : 'reconnecting…'}
        </span>
        <span className="fw-muted small">offline {formatDuration(Math.max(0, now - outage.since))}; timers paused</span>
        <span className="fw-grow" />
        <button className="fw-btn sm" data-testid="connection-retry" disabled={secs === 0} onClick={() => tab.retryNow()}>
          Retry now
        </button>
      </div>
    );
  }
  if (resync) {
    return (
      <div className="fw-banner info fw-conn-banner" data-testid="connection-resynced" role="status">
        <Icon.check size={14} />
        <span>
          Back online after {formatDuration(resync.offlineMs)}. Resynchronised: {resync.items.length ? resync.items.join(', ') : 'nothing to update'}.
        </span>
        <span className="fw-grow" />
        <button className="fw-btn ghost xs" data-testid="connection-resynced-close" onClick={() => tab.dismissResync()} title="Close">
          <Icon.x size={13} />
        </button>
      </div>
    );
  }
  return null;
}
