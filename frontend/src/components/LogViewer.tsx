import { useEffect, useLayoutEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import type { LogBuffer, LogLine } from '../store/logs';
import { Icon } from './icons';

const ROW = 18;
const OVERSCAN = 20;

/**
 * The run's log, virtualized: only the rows in view (plus a margin) are in
 * the DOM, so 100k+ lines scroll as smoothly as 100. It follows the tail
 * while scrolled to the bottom; scrolling up pauses following. Search jumps
 * between matches; a node filter narrows the lines.
 */
export function LogViewer({ logs, nodeIds, selectedNode }: { logs: LogBuffer; nodeIds: string[]; selectedNode?: string | null }) {
  const version = useSyncExternalStore(logs.subscribe, logs.getVersion, logs.getVersion);
  const [query, setQuery] = useState('');
  const [node, setNode] = useState(selectedNode ?? '');
  const [follow, setFollow] = useState(true);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(200);
  const [cursor, setCursor] = useState(0);
  const box = useRef<HTMLDivElement>(null);

  // A new selection from outside (clicking a node) replaces the filter;
  // adjusting state while rendering, as React recommends over an effect.
  const [seenSelected, setSeenSelected] = useState(selectedNode);
  if (selectedNode !== seenSelected) {
    setSeenSelected(selectedNode);
    if (selectedNode !== undefined) setNode(selectedNode ?? '');
  }

  // Indices of the visible lines (all, or one node's).
  const view = useMemo<number[] | null>(() => {
    if (!node) return null;
    const out: number[] = [];
    const lines = logs.lines;
    for (let i = 0; i < lines.length; i++) if (lines[i].nodeId === node) out.push(i);
    return out;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [node, version, logs]);
  const count = view ? view.length : logs.lines.length;
  const lineAt = (row: number): LogLine => logs.lines[view ? view[row] : row];

  // Rows (positions in the view) that match the search.
  const matches = useMemo(() => {
    const q = query.trim().toLowerCase();
    if (!q) return [] as number[];
    const out: number[] = [];
    for (let r = 0; r < count; r++) if (lineAt(r).text.toLowerCase().includes(q)) out.push(r);
    return out;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [query, version, view, count]);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    setHeight(el.clientHeight);
    return () => ro.disconnect();
  }, []);

  // Following: the rows of the tail are rendered from count alone (below),
  // and the box is scrolled there without reading its layout back, so a
  // flood of lines costs one render per update, not three plus a forced
  // layout.
  useLayoutEffect(() => {
    const el = box.current;
    if (el && follow) el.scrollTop = count * ROW;
  }, [version, follow, count, height]);

  const jump = (i: number) => {
    if (!matches.length) return;
    const k = ((i % matches.length) + matches.length) % matches.length;
    setCursor(k);
    setFollow(false);
    const el = box.current;
    if (el) {
      el.scrollTop = Math.max(0, matches[k] * ROW - height / 2);
      setScrollTop(el.scrollTop);
    }
  };

  const onScroll = () => {
    const el = box.current!;
    const atBottom = el.scrollTop + el.clientHeight >= el.scrollHeight - ROW;
    if (follow && atBottom) return; // our own scroll to the tail: already rendered
    setScrollTop(el.scrollTop);
    if (atBottom !== follow) setFollow(atBottom);
  };

  const top = follow ? Math.max(0, count * ROW - height) : scrollTop;
  const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
  const last = Math.min(count, Math.ceil((top + height) / ROW) + OVERSCAN);
  const q = query.trim();
  const current = matches.length ? matches[cursor] : -1;
  const rows = [];
  for (let r = first; r < last; r++) {
    const l = lineAt(r);
    if (!l) continue;
    rows.push(
      // Keyed by slot, not by line: when the window moves, each row element
      // gets its new line's text and position instead of being recreated.
      <div key={r - first} className={`fw-log-row ${l.stream === 'stderr' ? 'stderr' : l.stream === 'marker' ? 'marker' : ''} ${r === current ? 'current' : ''}`} style={{ top: r * ROW }} data-testid="log-line">
        <span className="fw-log-no">{(view ? view[r] : r) + 1}</span>
        <span className="fw-log-node" title={l.nodeId}>
          {l.nodeId}
        </span>
        <span className="fw-log-text">{q ? highlight(l.text, q) : l.text}</span>
      </div>,
    );
  }

  return (
    <div className="fw-logs" data-testid="log-viewer">
      <div className="fw-logs-bar">
        <label className="fw-search small">
          <Icon.search size={13} />
          <input
            data-testid="log-search"
            placeholder="Search logs"
            value={query}
            onChange={(e) => {
              setQuery(e.target.value);
              setCursor(0);
            }}
            onKeyDown={(e) => {
              if (e.key === 'Enter') jump(e.shiftKey ? cursor - 1 : cursor + 1);
            }}
          />
        </label>
        {q && (
          <span className="fw-muted small" data-testid="log-matches">
            {matches.length ? `${cursor + 1} / ${matches.length}` : 'no matches'}
          </span>
        )}
        {q && matches.length > 0 && (
          <>
            <button className="fw-btn ghost xs" onClick={() => jump(cursor - 1)} title="Previous match (Shift+Enter)">
              ↑
            </button>
            <button className="fw-btn ghost xs" onClick={() => jump(cursor + 1)} title="Next match (Enter)">
              ↓
            </button>
          </>
        )}
        <select className="xs" data-testid="log-node-filter" value={node} onChange={(e) => setNode(e.target.value)}>
          <option value="">All nodes</option>
          {nodeIds.map((id) => (
            <option key={id} value={id}>
              {id}
            </option>
          ))}
        </select>
        <span className="fw-grow" />
        {view && (
          <button className="fw-btn ghost xs" data-testid="log-clear-filter" onClick={() => setNode('')} title="Show the lines of every node">
            only {node} ×
          </button>
        )}
        <span className="fw-muted small" data-testid="log-count">
          {view
            ? `${count.toLocaleString()} of ${logs.lines.length.toLocaleString()} ${logs.lines.length === 1 ? 'line' : 'lines'}`
            : `${count.toLocaleString()} ${count === 1 ? 'line' : 'lines'}`}
        </span>
        <button
          className={`fw-btn xs ${follow ? 'primary' : 'ghost'}`}
          data-testid="log-follow"
          title="Follow the end of the log"
          onClick={() => setFollow(true)}
        >
          <Icon.arrowDown size={12} /> Follow
        </button>
      </div>
      <div className="fw-logs-scroll" ref={box} onScroll={onScroll}>
        {count === 0 ? (
          <div className="fw-logs-empty">No output yet. Logs of shell nodes stream here while a run is going.</div>
        ) : (
          <div style={{ height: count * ROW, position: 'relative' }}>{rows}</div>
        )}
      </div>
    </div>
  );
}

function highlight(text: string, q: string) {
  const lower = text.toLowerCase();
  const ql = q.toLowerCase();
  const parts = [];
  let i = 0;
  for (let j = lower.indexOf(ql); j >= 0; j = lower.indexOf(ql, i)) {
    if (j > i) parts.push(text.slice(i, j));
    parts.push(<mark key={j}>{text.slice(j, j + q.length)}</mark>);
    i = j + q.length;
  }
  parts.push(text.slice(i));
  return parts;
}
