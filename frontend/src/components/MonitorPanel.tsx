import { useEffect, useState } from 'react';
import type { Frame } from '../realtime';
import type { ProjectTab } from '../store/project';
import { Icon } from './icons';

/** Queue counters; older servers send depth instead of queued. */
interface QueueCounts {
  queued?: number;
  depth?: number;
  running?: number;
  workers?: number;
  busyWorkers?: number;
}

/** One frame of the system channel: queue counters (nested or flat), connections, anything else. */
type SystemStats = QueueCounts & {
  queue?: QueueCounts;
  connections?: number | { total?: number };
  [k: string]: unknown;
};

interface Sample {
  at: number;
  data: SystemStats;
}

/**
 * A small monitoring panel fed by the `system` channel of the foreground
 * project's socket (about one frame a second while subscribed). The channel
 * is only subscribed while the panel is open.
 */
export function MonitorPanel({ tab, onClose }: { tab: ProjectTab | undefined; onClose: () => void }) {
  // Samples belong to the tab they came from: another tab starts empty.
  const [state, setState] = useState<{ tab?: ProjectTab; samples: Sample[] }>({ samples: [] });
  const samples = state.tab === tab ? state.samples : [];
  useEffect(() => {
    if (!tab) return;
    const ch = tab.systemChannel();
    const push = (data: unknown) => {
      if (!data || typeof data !== 'object') return;
      const sample = { at: Date.now(), data: data as SystemStats };
      setState((s) => ({ tab, samples: [...(s.tab === tab ? s.samples : []).slice(-59), sample] }));
    };
    const offs = [ch.onSnapshot((snap) => push(snap)), ch.on('*', (f: Frame) => push(f.payload))];
    ch.subscribe().catch(() => undefined);
    return () => {
      offs.forEach((o) => o());
      void ch.unsubscribe();
    };
  }, [tab]);

  const last: SystemStats = samples[samples.length - 1]?.data ?? {};
  const q: QueueCounts = last.queue ?? last;
  const depth = (d: SystemStats) => Number((d.queue ?? d).queued ?? (d.queue ?? d).depth ?? 0);
  const series = samples.map((s) => depth(s.data));
  const conns = typeof last.connections === 'object' ? last.connections.total : last.connections;
  const stats: [string, string | number | undefined][] = [
    ['Connections', conns],
    ['Queued', q.queued ?? q.depth],
    ['Running', q.running],
    ['Workers', q.workers !== undefined ? `${q.busyWorkers ?? 0} / ${q.workers} busy` : undefined],
  ];
  const extra = Object.entries(last).filter(([k, v]) => !['queue', 'connections', 'queued', 'running', 'workers', 'busyWorkers', 'depth'].includes(k) && typeof v !== 'object');
  return (
    <div className="fw-monitor" data-testid="monitor">
      <div className="fw-modal-head">
        <Icon.activity size={16} />
        <span>System</span>
        <span className="fw-grow" />
        <button className="fw-btn ghost xs icon" onClick={onClose} title="Close">
          <Icon.x size={14} />
        </button>
      </div>
      {!tab && <div className="fw-muted">Open a project to see the monitor.</div>}
      {tab && !samples.length && <div className="fw-muted small">Waiting for the system channel…</div>}
      {samples.length > 0 && (
        <>
          <div className="fw-stats">
            {stats.map(([k, v]) => (
              <div key={k} className="fw-stat" data-testid={`monitor-${k.toLowerCase()}`}>
                <div className="fw-stat-v">{v === undefined || v === null ? '—' : String(v)}</div>
                <div className="fw-stat-k">{k}</div>
              </div>
            ))}
          </div>
          <div className="fw-label">Queue depth, last minute</div>
          <Sparkline values={series} />
          {extra.length > 0 && (
            <div className="fw-kv small">
              {extra.map(([k, v]) => (
                <span key={k} style={{ display: 'contents' }}>
                  <span>{k}</span>
                  <span className="mono">{String(v)}</span>
                </span>
              ))}
            </div>
          )}
        </>
      )}
    </div>
  );
}

function Sparkline({ values }: { values: number[] }) {
  const w = 260;
  const h = 44;
  const max = Math.max(1, ...values);
  const pts = values.map((v, i) => `${(i / Math.max(1, values.length - 1)) * w},${h - (v / max) * (h - 4) - 2}`).join(' ');
  return (
    <svg className="fw-spark" width={w} height={h} viewBox={`0 0 ${w} ${h}`}>
      <polyline points={pts} fill="none" stroke="var(--accent)" strokeWidth={1.5} />
    </svg>
  );
}
