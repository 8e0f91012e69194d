import { useEffect, useMemo, useRef, useState, type CSSProperties, type KeyboardEvent } from 'react';
import { DRAG_MIME } from '../canvas/Canvas';
import { nodeKind, toolShortName } from '../canvas/registry';
import { useStore } from '../store/store';
import { HeldBackServers } from './HeldBackServers';
import { useTab } from './hooks';
import { Icon } from './icons';
import { TriggerPaletteGroup } from './TriggerPalette';
import './manage.css';

/**
 * The tools of the project (built-in and MCP), searchable, draggable onto
 * the canvas, and usable without a mouse: `/` or Ctrl+K focuses the search,
 * ↓ enters the list, arrows move, Enter adds the tool at a free spot.
 * The list is one tab stop (roving focus).
 */
export function Palette() {
  const tab = useTab();
  const tools = useStore(tab, (s) => s.tools);
  const loading = useStore(tab, (s) => s.toolsLoading);
  const [q, setQ] = useState('');
  const [focusKey, setFocusKey] = useState<string | undefined>(undefined);
  const [said, setSaid] = useState('');
  const search = useRef<HTMLInputElement>(null);
  const list = useRef<HTMLDivElement>(null);
  const groups = useMemo(() => {
    const needle = q.trim().toLowerCase();
    const hit = tools.filter(
      (t) => !needle || [t.name, t.title, t.description, t.source].some((s) => (s ?? '').toLowerCase().includes(needle)),
    );
    const by = new Map<string, typeof hit>();
    for (const t of hit) {
      const g = t.source && t.source !== 'builtin' ? t.source : 'Built-in';
      by.set(g, [...(by.get(g) ?? []), t]);
    }
    return [...by.entries()].sort(([a], [b]) => (a === 'Built-in' ? -1 : b === 'Built-in' ? 1 : a.localeCompare(b)));
  }, [tools, q]);
  const firstTool = groups[0]?.[1][0]?.name;
  // The tab stop: the item focused last, else the first tool.
  const stop = focusKey && (focusKey.startsWith('trigger:') || groups.some(([, l]) => l.some((t) => t.name === focusKey))) ? focusKey : firstTool;

  // `/` (outside text fields) or Ctrl+K focuses the search, as in most editors.
  useEffect(() => {
    const onKey = (e: globalThis.KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      const typing = !!t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable);
      const ctrlK = (e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'k';
      if (!ctrlK && (e.key !== '/' || typing || e.ctrlKey || e.metaKey || e.altKey)) return;
      if (document.querySelector('[role="dialog"], [role="alertdialog"]')) return;
      e.preventDefault();
      search.current?.focus();
      search.current?.select();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const items = () => [...(list.current?.querySelectorAll<HTMLElement>('[data-pkey]') ?? [])];
  const focusItem = (el: HTMLElement | undefined) => {
    if (!el) return;
    setFocusKey(el.dataset.pkey);
    el.focus();
  };

  const add = (name: string, title: string) => {
    const n = tab.get().nodes.length;
    const id = tab.addNode(name, { x: 80 + (n % 4) * 260, y: 80 + Math.floor(n / 4) * 160 });
    setSaid(`Added ${title} to the canvas as ${id}.`);
  };

  const onListKey = (e: KeyboardEvent) => {
    const all = items();
    const i = all.indexOf(document.activeElement as HTMLElement);
    if (i < 0) return;
    const to = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: all.length - 1, PageDown: i + 8, PageUp: i - 8 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    if (to < 0) search.current?.focus();
    else focusItem(all[Math.min(to, all.length - 1)]);
  };

  const onSearchKey = (e: KeyboardEvent) => {
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      const all = items();
      focusItem(all.find((el) => el.dataset.pkey === firstTool) ?? all[0]);
    } else if (e.key === 'Enter' && q.trim() && firstTool) {
      // Enter in the search adds the best match, like a command palette.
      e.preventDefault();
      const t = groups[0][1][0];
      add(t.name, t.title || toolShortName(t.name));
    } else if (e.key === 'Escape' && q) {
      e.preventDefault();
      setQ('');
    }
  };

  return (
    <aside className="fw-palette" data-testid="palette">
      <div className="fw-side-title">Tools</div>
      <label className="fw-search" title="Search tools (/ or Ctrl+K)">
        <Icon.search size={14} />
        <input
          ref={search}
          data-testid="palette-search"
          placeholder="Search tools"
          aria-label="Search tools"
          aria-keyshortcuts="/ Control+K"
          value={q}
          onChange={(e) => setQ(e.target.value)}
          onKeyDown={onSearchKey}
        />
        <span className="fw-kbd" aria-hidden="true">
          /
        </span>
      </label>
      <div
        className="fw-palette-list"
        ref={list}
        role="listbox"
        aria-label="Tools: Enter adds the focused tool to the canvas"
        onKeyDown={onListKey}
        onFocus={(e) => {
          const k = (e.target as HTMLElement).dataset.pkey;
          if (k) setFocusKey(k);
        }}
      >
        <HeldBackServers />
        <TriggerPaletteGroup focusKey={stop} />
        {loading && !tools.length && <div className="fw-muted fw-pad">Loading tools…</div>}
        {!loading && !groups.length && <div className="fw-muted fw-pad">{q ? `No tool matches “${q}”.` : 'No tools available.'}</div>}
        {groups.map(([group, list]) => (
          <div key={group} className="fw-palette-group" role="group" aria-label={group}>
            <div className="fw-palette-group-title">{group}</div>
            {list.map((t) => {
              const k = nodeKind(t.name);
              const title = t.title || toolShortName(t.name);
              return (
                <div
                  key={t.name}
                  className="fw-palette-item"
                  draggable
                  role="option"
                  aria-selected={stop === t.name}
                  tabIndex={stop === t.name ? 0 : -1}
                  data-pkey={t.name}
                  data-testid={`palette-item-${t.name}`}
                  title={`${t.description || t.name}\nDrag onto the canvas, double-click, or press Enter to add.`}
                  style={{ '--accent': k.accent } as CSSProperties}
                  onKeyDown={(e) => {
                    if (e.key !== 'Enter' && e.key !== ' ') return;
                    e.preventDefault();
                    add(t.name, title);
                  }}
                  onDragStart={(e) => {
                    e.dataTransfer.setData(DRAG_MIME, t.name);
                    e.dataTransfer.effectAllowed = 'copy';
                  }}
                  onDoubleClick={() => add(t.name, title)}
                >
                  <span className="fw-palette-icon">{k.icon}</span>
                  <div className="fw-palette-text">
                    <div className="fw-palette-name">{title}</div>
                    {t.description && <div className="fw-palette-desc">{t.description}</div>}
                  </div>
                </div>
              );
            })}
          </div>
        ))}
      </div>
      <div className="fw-sr-only" aria-live="polite" data-testid="palette-announce">
        {said}
      </div>
    </aside>
  );
}
