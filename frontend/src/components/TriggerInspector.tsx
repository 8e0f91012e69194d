import { useEffect, useMemo, useState, type CSSProperties } from 'react';
import type { Trigger, TriggerInfo } from '../api/types';
import { triggerAccent } from '../canvas/TriggerNode';
import { useStore } from '../store/store';
import { curlExample, describeCron, isEnabled, triggerTitle } from '../triggers/model';
import { useTab } from './hooks';
import { Icon } from './icons';

/** The inspector of a trigger node: its settings, and what the server says about it (next fire times, URL, matching files). */
export function TriggerInspector({ triggerId }: { triggerId: string }) {
  const tab = useTab();
  const t = useStore(tab, (s) => s.triggers.find((x) => x.id === triggerId));
  const index = useStore(tab, (s) => s.triggers.findIndex((x) => x.id === triggerId));
  const problems = useStore(tab, (s) => s.problems.filter((p) => p.field.startsWith(`triggers[${index}]`)));
  if (!t) return null;
  const set = (patch: Partial<Trigger>, key = '') => tab.updateTrigger(t.id, patch, key);
  const fieldError = (f: string) => problems.find((p) => p.field === `triggers[${index}].${f}`)?.message;
  return (
    <div className="fw-insp" data-testid="trigger-inspector">
      <div className="fw-insp-head" style={{ '--accent': triggerAccent[t.type] } as CSSProperties}>
        <div>
          <div className="fw-insp-title">{triggerTitle[t.type] ?? t.type} trigger</div>
          <div className="fw-muted mono small">{t.id}</div>
        </div>
      </div>
      {problems
        .filter((p) => !/\.(cron|timezone|glob|debounceMs|respond)$/.test(p.field))
        .map((p, i) => (
          <div key={i} className="fw-banner error small" data-testid="trigger-problem">
            {p.message}
          </div>
        ))}
      <section className="fw-insp-section">
        <label className="fw-check">
          <input type="checkbox" data-testid="trigger-enabled" checked={isEnabled(t)} onChange={(e) => set({ enabled: e.target.checked ? undefined : false })} />
          Enabled
        </label>
        <div className="fw-help">{isEnabled(t) ? 'Fires while the project is trusted.' : 'Switched off: kept in the workflow, never fires.'}</div>
        <div className="fw-field">
          <label className="fw-label" htmlFor="trigger-label">
            Label
          </label>
          <input id="trigger-label" data-testid="trigger-label" value={t.label ?? ''} placeholder={t.id} onChange={(e) => set({ label: e.target.value }, 'label')} />
        </div>
      </section>
      {t.type === 'schedule' && <ScheduleFields t={t} set={set} error={fieldError} />}
      {t.type === 'webhook' && <WebhookFields t={t} set={set} error={fieldError} />}
      {t.type === 'files' && <FilesFields t={t} set={set} error={fieldError} />}
      <section className="fw-insp-section">
        <button className="fw-btn danger sm" data-testid="trigger-delete" onClick={() => tab.removeTrigger(t.id)}>
          Delete trigger
        </button>
      </section>
    </div>
  );
}

interface FieldsProps {
  t: Trigger;
  set: (patch: Partial<Trigger>, key?: string) => void;
  error: (field: string) => string | undefined;
}

/** Runs fn(signal) once deps settle for ms; the signal aborts stale calls. */
function useDebounced(fn: (alive: () => boolean) => void, deps: unknown[], ms = 300) {
  useEffect(() => {
    let alive = true;
    const timer = setTimeout(() => fn(() => alive), ms);
    return () => {
      alive = false;
      clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
}

function ScheduleFields({ t, set, error }: FieldsProps) {
  const tab = useTab();
  // The times of the expression they were computed for: stale ones are never shown.
  const [preview, setPreview] = useState<{ key: string; times: string[] }>({ key: '', times: [] });
  const key = `${t.cron ?? ''}\u0000${t.timezone ?? ''}`;
  const times = useMemo(() => (preview.key === key ? preview.times : []), [preview, key]);
  const setTimes = (ts: string[], k = key) => setPreview({ key: k, times: ts });
  const [previewError, setPreviewError] = useState<string | null>(null);
  // Once the first listed time has passed, ask again, so the list stays the next five.
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!times.length) return;
    const wait = Math.max(Date.parse(times[0]) - Date.now() + 250, 250);
    const timer = setTimeout(() => setTick((n) => n + 1), Math.min(wait, 2 ** 31 - 1));
    return () => clearTimeout(timer);
  }, [times]);
  useDebounced(
    (alive) => {
      if (!t.cron?.trim()) {
        setTimes([]);
        return;
      }
      const k = key;
      tab.api
        .previewSchedule(t.cron, t.timezone ?? '')
        .then((ts) => alive() && (setTimes(ts, k), setPreviewError(null)))
        .catch((e) => alive() && (setTimes([]), setPreviewError((e as Error).message)));
    },
    [t.cron, t.timezone, tick],
  );
  const words = describeCron(t.cron);
  const zone = t.timezone || Intl.DateTimeFormat().resolvedOptions().timeZone;
  const fmt = (iso: string) => new Date(iso).toLocaleString([], { dateStyle: 'medium', timeStyle: 'medium', hour12: false, timeZone: safeZone(zone) });
  return (
    <section className="fw-insp-section">
      <div className="fw-section-title">Schedule</div>
      <div className="fw-field">
        <label className="fw-label" htmlFor="trigger-cron">
          Cron
        </label>
        <input
          id="trigger-cron"
          className="mono"
          data-testid="trigger-cron"
          value={t.cron ?? ''}
          placeholder="0 3 * * *"
          onChange={(e) => set({ cron: e.target.value }, 'cron')}
        />
        <div className="fw-help" data-testid="trigger-cron-words">
          {words ?? (t.cron ? 'Not a cron expression this can explain.' : '')}
        </div>
        {(error('cron') || previewError) && <div className="fw-field-error">{error('cron') ?? previewError}</div>}
        <div className="fw-help">5 fields (minute hour day month weekday), 6 with seconds first, @hourly, @daily, @weekly, @every 10m…</div>
      </div>
      <div className="fw-field">
        <label className="fw-label" htmlFor="trigger-tz">
          Time zone
        </label>
        <input
          id="trigger-tz"
          data-testid="trigger-timezone"
          value={t.timezone ?? ''}
          placeholder={`this machine's (${Intl.DateTimeFormat().resolvedOptions().timeZone})`}
          onChange={(e) => set({ timezone: e.target.value }, 'timezone')}
        />
        {error('timezone') && <div className="fw-field-error">{error('timezone')}</div>}
      </div>
      {times.length > 0 && (
        <>
          <div className="fw-label">Next fire times ({zone})</div>
          <ol className="fw-trigger-times" data-testid="trigger-next-times">
            {times.map((x) => (
              <li key={x} className="mono small" data-time={x}>
                {fmt(x)}
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}

function safeZone(z: string): string | undefined {
  try {
    new Intl.DateTimeFormat([], { timeZone: z });
    return z;
  } catch {
    return undefined;
  }
}

/** The server's view of the open workflow's saved triggers (URLs need a saved workflow). */
function useTriggerInfo(id: string): [TriggerInfo | null, (i: TriggerInfo) => void] {
  const tab = useTab();
  const workflowId = useStore(tab, (s) => s.workflowId);
  const version = useStore(tab, (s) => s.version);
  // What the server said, for the workflow version and trigger it was asked about.
  const key = `${workflowId}\u0000${version}\u0000${id}`;
  const [got, setGot] = useState<{ key: string; info: TriggerInfo | null }>({ key: '', info: null });
  useEffect(() => {
    let alive = true;
    if (!version) return;
    tab.api
      .listTriggers(tab.id, workflowId)
      .then((list) => alive && setGot({ key, info: list.find((x) => x.id === id) ?? null }))
      .catch(() => undefined);
    return () => {
      alive = false;
    };
  }, [tab, workflowId, version, id, key]);
  return [got.key === key ? got.info : null, (info: TriggerInfo) => setGot({ key, info })];
}

function WebhookFields({ t, set }: FieldsProps) {
  const tab = useTab();
  const workflowId = useStore(tab, (s) => s.workflowId);
  const [info, setInfo] = useTriggerInfo(t.id);
  const [copied, setCopied] = useState(false);
  const copy = () => {
    if (!info?.url) return;
    void navigator.clipboard?.writeText(info.url).then(() => {
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    });
  };
  const rotate = () => {
    if (!confirm('Make a new URL? The current one stops working at once.')) return;
    void tab.api.rotateWebhook(tab.id, workflowId, t.id).then(setInfo);
  };
  return (
    <section className="fw-insp-section">
      <div className="fw-section-title">Webhook</div>
      <div className="fw-field">
        <label className="fw-label" htmlFor="trigger-respond">
          Respond
        </label>
        <select id="trigger-respond" data-testid="trigger-respond" value={t.respond ?? 'immediately'} onChange={(e) => set({ respond: e.target.value as Trigger['respond'] })}>
          <option value="immediately">Immediately: 202 with the run id</option>
          <option value="onCompleted">When the run ends: its result (or a respond node's)</option>
        </select>
      </div>
      {!info?.url && <div className="fw-help">Save the workflow to get its secret URL.</div>}
      {info?.url && (
        <>
          <div className="fw-label">URL (the key in it is the only credential)</div>
          <div className="fw-trigger-url">
            <code className="mono small" data-testid="trigger-url">
              {info.url}
            </code>
          </div>
          <div className="fw-row2">
            <button className="fw-btn sm" data-testid="trigger-copy" onClick={copy}>
              {copied ? <Icon.check size={13} /> : null} {copied ? 'Copied' : 'Copy URL'}
            </button>
            <button className="fw-btn sm" data-testid="trigger-rotate" onClick={rotate}>
              New URL
            </button>
          </div>
          <div className="fw-label">Try it</div>
          <pre className="fw-pre small" data-testid="trigger-curl">
            {curlExample(info.url)}
          </pre>
        </>
      )}
    </section>
  );
}

function FilesFields({ t, set, error }: FieldsProps) {
  const tab = useTab();
  const [files, setFiles] = useState<{ files: string[]; truncated: boolean } | null>(null);
  const [globError, setGlobError] = useState<string | null>(null);
  useDebounced(
    (alive) => {
      if (!t.glob?.trim()) {
        setFiles(null);
        return;
      }
      tab.api
        .matchFiles(tab.id, t.glob)
        .then((m) => alive() && (setFiles(m), setGlobError(null)))
        .catch((e) => alive() && (setFiles(null), setGlobError((e as Error).message)));
    },
    [t.glob],
  );
  return (
    <section className="fw-insp-section">
      <div className="fw-section-title">Files</div>
      <div className="fw-field">
        <label className="fw-label" htmlFor="trigger-glob">
          Glob (relative to the project folder)
        </label>
        <input id="trigger-glob" className="mono" data-testid="trigger-glob" value={t.glob ?? ''} placeholder="src/**/*.go" onChange={(e) => set({ glob: e.target.value }, 'glob')} />
        {(error('glob') || globError) && <div className="fw-field-error">{error('glob') ?? globError}</div>}
        <div className="fw-help">** spans folders; .git/ and .flowweaver/ never match.</div>
      </div>
      <div className="fw-field">
        <label className="fw-label" htmlFor="trigger-debounce">
          Quiet time before a run (ms)
        </label>
        <input
          id="trigger-debounce"
          type="number"
          min={0}
          data-testid="trigger-debounce"
          value={t.debounceMs ?? ''}
          placeholder="300"
          onChange={(e) => {
            const n = parseInt(e.target.value, 10);
            set({ debounceMs: Number.isFinite(n) && n >= 0 ? n : undefined }, 'debounce');
          }}
        />
      </div>
      {files && (
        <>
          <div className="fw-label">
            Matching now: {files.files.length}
            {files.truncated ? '+' : ''} file{files.files.length === 1 ? '' : 's'}
          </div>
          <ul className="fw-trigger-files" data-testid="trigger-files">
            {files.files.map((f) => (
              <li key={f} className="mono small">
                {f}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
