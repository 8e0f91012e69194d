import { describe, expect, it } from 'vitest';
import { describeCron, describeRunTrigger, newTrigger } from './model';

describe('trigger model', () => {
  it('explains cron in words, with seconds, descriptors and @every', () => {
    expect(describeCron('0 3 * * *')).toBe('At 03:00');
    expect(describeCron('*/15 * * * * *')).toMatch(/15 seconds/);
    expect(describeCron('@daily')).toBe('At 00:00');
    expect(describeCron('@every 5m')).toBe('Every 5m');
    expect(describeCron('not cron')).toBeNull();
  });
  it('makes unique ids', () => {
    expect(newTrigger('schedule', ['schedule', 'schedule_2']).id).toBe('schedule_3');
    expect(newTrigger('files', []).glob).toBe('**/*');
  });
  it('describes what started a run', () => {
    expect(describeRunTrigger({ type: 'manual' })).toBe('started by hand');
    expect(describeRunTrigger({ type: 'schedule', id: 'nightly', scheduledFor: '2026-01-01T03:00:00Z', missed: 2 }, 'UTC')).toBe(
      'started by schedule nightly, 03:00, 2 missed',
    );
    expect(describeRunTrigger({ type: 'files', id: 'src', files: 1 })).toBe('started by files src, 1 file');
  });
});
