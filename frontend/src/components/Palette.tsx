import { useMemo, useState, type CSSProperties } from 'react';
import { DRAG_MIME } from '../canvas/Canvas';
import { nodeKind, toolShortName } from '../canvas/registry';
import { useStore } from '../store/store';
import { HeldBackServers } from './HeldBackServers';
import { useTab } from './hooks';
import { Icon } from './icons';
import { TriggerPaletteGroup } from './TriggerPalette';

/** The tools of the project (built-in and MCP), searchable, draggable onto the canvas. */
export function Palette() {
  const tab = useTab();
  const tools = useStore(tab, (s) => s.tools);
  const loading = useStore(tab, (s) => s.toolsLoading);
  const [q, setQ] = useState('');
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

  return (
    <aside className="fw-palette" data-testid="palette">
      <div className="fw-side-title">Tools</div>
      <label className="fw-search">
        <Icon.search size={14} />
        <input data-testid="palette-search" placeholder="Search tools" value={q} onChange={(e) => setQ(e.target.value)} />
      </label>
      <div className="fw-palette-list">
        <HeldBackServers />
        <TriggerPaletteGroup />
        {loading && !tools.length && <div className="fw-muted fw-pad">Loading tools…</div>}
        {!loading && !groups.length && <div className="fw-muted fw-pad">{q ? `No tool matches “${q}”.` : 'No tools available.'}</div>}
        {groups.map(([group, list]) => (
          <div key={group} className="fw-palette-group">
            <div className="fw-palette-group-title">{group}</div>
            {list.map((t) => {
              const k = nodeKind(t.name);
              return (
                <div
                  key={t.name}
                  className="fw-palette-item"
                  draggable
                  data-testid={`palette-item-${t.name}`}
                  title={`${t.description || t.name}\nDrag onto the canvas, or double-click to add.`}
                  style={{ '--accent': k.accent } as CSSProperties}
                  onDragStart={(e) => {
                    e.dataTransfer.setData(DRAG_MIME, t.name);
                    e.dataTransfer.effectAllowed = 'copy';
                  }}
                  onDoubleClick={() => {
                    const n = tab.get().nodes.length;
                    tab.addNode(t.name, { x: 80 + (n % 4) * 260, y: 80 + Math.floor(n / 4) * 160 });
                  }}
                >
                  <span className="fw-palette-icon">{k.icon}</span>
                  <div className="fw-palette-text">
                    <div className="fw-palette-name">{t.title || toolShortName(t.name)}</div>
                    {t.description && <div className="fw-palette-desc">{t.description}</div>}
                  </div>
                </div>
              );
            })}
          </div>
        ))}
      </div>
    </aside>
  );
}
