// Triggers in the editor: pure helpers (no React) shared by the store, the
// canvas and the inspector. See docs/triggers.md for what each kind does.
import cronstrue from 'cronstrue';
import type { RunTrigger, Trigger, TriggerType } from '../api/types';

export const TRIGGER_TYPES: TriggerType[] = ['schedule', 'webhook', 'files'];

export const triggerTitle: Record<TriggerType, string> = {
  schedule: 'Schedule',
  webhook: 'Webhook',
  files: 'Files changed',
};

/** Canvas node ids of triggers are prefixed so they never clash with tool nodes. */
export const TRIGGER_NODE_PREFIX = 'trigger:';
export const triggerNodeId = (id: string) => TRIGGER_NODE_PREFIX + id;
export const isTriggerNode = (nodeId: string) => nodeId.startsWith(TRIGGER_NODE_PREFIX);

/** A new trigger of the given type with an id unique among taken ("schedule", "schedule_2"...). */
export function newTrigger(type: TriggerType, taken: Iterable<string>): Trigger {
  const used = new Set(taken);
  let id: string = type;
  for (let i = 2; used.has(id); i++) id = `${type}_${i}`;
  switch (type) {
    case 'schedule':
      return { id, type, cron: '0 9 * * 1-5' };
    case 'webhook':
      return { id, type, respond: 'immediately' };
    case 'files':
      return { id, type, glob: '**/*', debounceMs: 300 };
  }
}

export const isEnabled = (t: Trigger) => t.enabled !== false;

const descriptors: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** A cron expression in words ("At 03:00 AM, Monday through Friday"); null when it cannot be explained. */
export function describeCron(cron: string | undefined): string | null {
  const c = (cron ?? '').trim();
  if (!c) return null;
  const every = /^@every\s+(\S+)$/.exec(c);
  if (every) return `Every ${every[1]}`;
  try {
    return cronstrue.toString(descriptors[c] ?? c, { use24HourTimeFormat: true, verbose: false });
  } catch {
    return null;
  }
}

/** One line for a trigger node: what it reacts to. */
export function triggerSummary(t: Trigger): string {
  switch (t.type) {
    case 'schedule':
      return describeCron(t.cron) ?? t.cron ?? '';
    case 'webhook':
      return t.respond === 'onCompleted' ? 'POST, answers when the run ends' : 'POST, answers at once';
    case 'files':
      return t.glob ?? '';
  }
  return '';
}

/** "started by schedule nightly, 03:00, 2 missed" for run history and the run summary. */
export function describeRunTrigger(tr: RunTrigger | undefined, timeZone?: string): string {
  if (!tr || tr.type === 'manual') return 'started by hand';
  const parts = [`started by ${tr.type}${tr.id ? ` ${tr.id}` : ''}`];
  if (tr.scheduledFor) {
    const d = new Date(tr.scheduledFor);
    parts.push(d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false, ...(timeZone ? { timeZone } : {}) }));
  }
  if (tr.missed) parts.push(`${tr.missed} missed`);
  if (tr.files) parts.push(`${tr.files} file${tr.files === 1 ? '' : 's'}`);
  return parts.join(', ');
}

/** A curl command that calls a webhook. */
export function curlExample(url: string): string {
  return `curl -X POST '${url}' \\\n  -H 'Content-Type: application/json' \\\n  -d '{"hello": "world"}'`;
}
