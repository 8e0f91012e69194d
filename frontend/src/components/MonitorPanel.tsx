import { useEffect, useState } from 'react';
import type { Frame } from '../realtime';
import type { ProjectTab } from '../store/project';
import { Icon } from './icons';

interface Sample {
  at: number;
  data: Record<string, any>;
}

/**
 * A small monitoring panel fed by the `system` channel of the foreground
 * project's socket (about one frame a second while subscribed). The channel
 * is only subscribed while the panel is open.
 */
export function MonitorPanel({ tab, onClose }: { tab: ProjectTab | undefined; onClose: () => void }) {
  const [samples, setSamples] = useState<Sample[]>([]);
  useEffect(() => {
    if (!tab) return;
    setSamples([]);
    const ch = tab.systemChannel();
    const push = (data: any) => data && setSamples((s) => [...s.slice(-59), { at: Date.now(), data }]);
    const offs = [ch.onSnapshot((snap) => push(snap)), ch.on('*', (f: Frame) => push(f.payload))];
    ch.subscribe().catch(() => undefined);
    return () => {
      offs.forEach((o) => o());
      void ch.unsubscribe();
    };
  }, [tab]);

  const last = samples[samples.length - 1]?.data ?? {};
  const q = last.queue ?? last;
  const depth = (d: any) => Number((d.queue ?? d).queued ?? (d.queue ?? d).depth ?? 0);
  const series = samples.map((s) => depth(s.data));
  const conns = typeof last.connections === 'object' ? last.connections?.total : last.connections;
  const stats: [string, any][] = [
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
