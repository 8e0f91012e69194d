import { useState } from 'react';
import type { TrustReview } from '../api/types';
import { useStore } from '../store/store';
import { useTab } from './hooks';
import { Icon } from './icons';
import { TrustDialog } from './TrustDialog';

/** Asks the server what the folder would run and shows it; resolves once the user chose. */
export function useTrustPrompt() {
  const tab = useTab();
  const [review, setReview] = useState<TrustReview | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const open = async () => {
    setError(null);
    try {
      setReview(await tab.trust.review());
    } catch (e) {
      tab.trust.reportError('Could not read the folder', e);
    }
  };
  const dialog = review && (
    <TrustDialog
      review={review}
      name={tab.get().project.name}
      busy={busy}
      error={error}
      onBrowse={() => setReview(null)}
      onTrust={async () => {
        setBusy(true);
        try {
          await tab.trust.trust(review);
          setReview(null);
        } catch (e) {
          setError((e as Error).message);
        } finally {
          setBusy(false);
        }
      }}
    />
  );
  return { open, dialog };
}

/** Restricted mode: shown on the tab of a folder that is not trusted, with a way to trust it. */
export function TrustBanner() {
  const tab = useTab();
  const trusted = useStore(tab, (s) => s.project.trusted !== false);
  const { open, dialog } = useTrustPrompt();
  if (trusted) return null;
  return (
    <div className="fw-banner warn fw-trust-banner" data-testid="trust-banner">
      <Icon.alert size={14} />
      <span>
        <b>Restricted mode.</b> This folder is not trusted: its workflows do not run and its MCP servers stay stopped.
        You can still browse it.
      </span>
      <span className="fw-grow" />
      <button className="fw-btn sm primary" data-testid="trust-banner-trust" onClick={() => void open()}>
        Trust folder…
      </button>
      {dialog}
    </div>
  );
}
