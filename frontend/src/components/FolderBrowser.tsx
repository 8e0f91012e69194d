import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { ApiError, type Api } from '../api/client';
import { listDirs, type DirEntry, type DirListing } from '../api/dirs';
import { Icon } from './icons';
import './manage.css';

/** The folders from a root down to `path`, for the breadcrumb. */
function crumbs(l: DirListing): { label: string; path: string }[] {
  if (!l.path) return [];
  const root = l.roots.filter((r) => l.path === r || l.path.startsWith(r.endsWith('/') ? r : `${r}/`)).sort((a, b) => b.length - a.length)[0];
  if (!root) return [{ label: l.path, path: l.path }];
  const out = [{ label: root, path: root }];
  const rest = l.path.slice(root.length).split(/[/\\]/).filter(Boolean);
  let at = root;
  for (const seg of rest) {
    at = at.endsWith('/') ? at + seg : `${at}/${seg}`;
    out.push({ label: seg, path: at });
  }
  return out;
}

interface Fetched {
  listing: DirListing;
  /** Why the requested folder is not shown (the roots are, instead). */
  refused: string | null;
}

/** Lists `path`; a path the server refuses (outside the roots, gone) lists the roots and says why. */
async function fetchListing(api: Api, path: string, hidden: boolean): Promise<Fetched> {
  try {
    return { listing: await listDirs(api, path, hidden), refused: null };
  } catch (e) {
    if (!path) throw e;
    return { listing: await listDirs(api, '', hidden), refused: e instanceof ApiError ? e.message : String(e) };
  }
}

/**
 * A folder picker for the browser, where there is no native one: it lists
 * folders on the machine running Flow Weaver (only the home folder and the
 * known projects' folders, the server refuses anything else), marks the
 * ones with workflows or an MCP configuration, and works with the keyboard
 * alone: arrows move, Enter or → opens a folder, Backspace or ← goes up,
 * typing a letter jumps, Ctrl+Enter chooses, Escape cancels.
 */
export function FolderBrowser({ api, start, onChoose, onClose }: { api: Api; start: string; onChoose: (path: string) => void; onClose: () => void }) {
  const [listing, setListing] = useState<DirListing | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [hidden, setHidden] = useState(false);
  const [sel, setSel] = useState(-1);
  const list = useRef<HTMLDivElement>(null);

  /** Shows the result of fetchListing, highlighting `highlight` (the folder we came up from). */
  const show = (r: Fetched, highlight?: string) => {
    setListing(r.listing);
    setError(r.refused);
    // Nothing is highlighted in a folder just entered, so Choose picks
    // that folder; going up highlights the folder we came from.
    setSel(highlight ? r.listing.entries.findIndex((e) => e.path === highlight) : -1);
    setLoading(false);
    list.current?.focus();
  };
  const fail = (e: unknown) => {
    setError(e instanceof ApiError ? e.message : String(e));
    setLoading(false);
  };
  const go = (path: string, highlight?: string, showHidden = hidden) => {
    setLoading(true);
    return fetchListing(api, path, showHidden).then((r) => show(r, highlight), fail);
  };

  useEffect(() => {
    fetchListing(api, start.trim(), false).then(show, fail);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the start folder, once
  }, []);

  const entries = listing?.entries ?? [];
  const current = entries[sel] as DirEntry | undefined;
  const up = () => {
    if (!listing?.path) return;
    void go(listing.parent, listing.path);
  };
  const choosePath = current?.path ?? listing?.path ?? '';

  const onKey = (e: KeyboardEvent) => {
    const k = e.key;
    if (k === 'Escape') {
      e.stopPropagation();
      onClose();
    } else if (k === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      if (choosePath) onChoose(choosePath);
    } else if (k === 'ArrowDown' || k === 'ArrowUp' || k === 'Home' || k === 'End' || k === 'PageDown' || k === 'PageUp') {
      e.preventDefault();
      if (!entries.length) return;
      const n = entries.length;
      const next = { ArrowDown: sel + 1, ArrowUp: sel - 1, Home: 0, End: n - 1, PageDown: sel + 10, PageUp: sel - 10 }[k];
      setSel(Math.max(0, Math.min(n - 1, sel < 0 && k === 'ArrowDown' ? 0 : next)));
    } else if ((k === 'Enter' || k === 'ArrowRight') && current) {
      e.preventDefault();
      void go(current.path);
    } else if (k === 'Backspace' || k === 'ArrowLeft') {
      e.preventDefault();
      up();
    } else if (k.length === 1 && !e.ctrlKey && !e.metaKey && !e.altKey && /\S/.test(k)) {
      // Type-ahead: the next folder starting with that letter.
      const c = k.toLowerCase();
      for (let i = 1; i <= entries.length; i++) {
        const j = (sel + i) % entries.length;
        if (entries[j].name.toLowerCase().startsWith(c)) {
          setSel(j);
          break;
        }
      }
    }
  };

  useEffect(() => {
    list.current?.querySelector(`[data-index="${sel}"]`)?.scrollIntoView({ block: 'nearest' });
  }, [sel]);

  return (
    <div className="fw-modal-back fw-fb-back fw-nested-back" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className="fw-modal fw-fb" role="dialog" aria-label="Choose a folder" data-testid="folder-browser" onKeyDown={onKey}>
        <div className="fw-modal-head">
          <Icon.folder size={18} />
          <span>Choose a folder</span>
          <span className="fw-grow" />
          <button className="fw-btn ghost xs icon" onClick={onClose} title="Close (Escape)">
            <Icon.x size={14} />
          </button>
        </div>
        <div className="fw-fb-path" data-testid="folder-browser-path">
          <button type="button" className="fw-btn ghost xs icon" data-testid="folder-browser-up" disabled={!listing?.path} onClick={up} title="Up (Backspace)">
            <Icon.arrowDown size={13} />
          </button>
          <button type="button" className="fw-fb-crumb" onClick={() => void go('')}>
            Folders
          </button>
          {listing &&
            crumbs(listing).map((c) => (
              <span key={c.path} className="fw-fb-crumb-wrap">
                <span className="fw-muted">›</span>
                <button type="button" className="fw-fb-crumb mono" onClick={() => void go(c.path)}>
                  {c.label}
                </button>
              </span>
            ))}
        </div>
        <div
          ref={list}
          className="fw-fb-list"
          role="listbox"
          tabIndex={0}
          aria-label={listing?.path || 'Folders you may browse'}
          aria-activedescendant={current ? `fb-${sel}` : undefined}
          data-testid="folder-browser-list"
          aria-busy={loading}
        >
          {!loading && !entries.length && (
            <div className="fw-muted fw-pad">{listing?.path ? 'No subfolders here.' : 'No folder to browse.'}</div>
          )}
          {entries.map((e, i) => (
            <div
              key={e.path}
              id={`fb-${i}`}
              data-index={i}
              role="option"
              aria-selected={i === sel}
              className={`fw-fb-item ${i === sel ? 'sel' : ''}`}
              data-testid={`folder-${e.name}`}
              onClick={() => setSel(i)}
              onDoubleClick={() => void go(e.path)}
            >
              <Icon.folder size={14} />
              <span className="fw-fb-name">{listing?.path ? e.name : e.path}</span>
              {e.workflows && (
                <span className="fw-fb-mark" title="Has Flow Weaver workflows (.flowweaver/workflows)">
                  workflows
                </span>
              )}
              {e.mcp && (
                <span className="fw-fb-mark mcp" title="Has an MCP configuration: opening it asks whether to trust it">
                  MCP
                </span>
              )}
              {e.projectId && (
                <span className="fw-fb-mark known" title="Already a known project">
                  project
                </span>
              )}
            </div>
          ))}
        </div>
        {listing?.truncated && <div className="fw-help">Only the first {entries.length} folders are shown.</div>}
        {error && (
          <div className="fw-banner error small" data-testid="folder-browser-error">
            {error}
          </div>
        )}
        <div className="fw-modal-actions">
          <label className="fw-check fw-grow">
            <input type="checkbox" data-testid="folder-browser-hidden" checked={hidden} onChange={(e) => {
                setHidden(e.target.checked);
                void go(listing?.path ?? '', current?.path, e.target.checked);
              }} />
            Show hidden folders
          </label>
          <button type="button" className="fw-btn ghost sm" onClick={onClose}>
            Cancel
          </button>
          <button type="button" className="fw-btn primary sm" data-testid="folder-browser-choose" disabled={!choosePath} onClick={() => onChoose(choosePath)} title="Ctrl+Enter">
            {current ? `Choose “${current.name}”` : 'Choose this folder'}
          </button>
        </div>
      </div>
    </div>
  );
}
