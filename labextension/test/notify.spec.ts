import { describe, expect, it } from 'vitest';

import { EndWatcher, endMessage, outcome } from '../src/notify';
import { run } from './fixtures';

describe('outcome', () => {
  it.each([
    ['Succeeded', 'success'],
    ['Failed', 'error'],
    ['Stopped', 'warning'],
    ['Executing', null],
    ['Stopping', null],
    ['Pending', null]
  ])('%s is %s', (status, expected) => {
    expect(outcome(run('r', { status }))).toBe(expected);
  });

  it('counts a terminal ACK problem as an error', () => {
    expect(
      outcome(
        run('r', { status: 'Pending', problem: 'invalid', synced: 'terminal' })
      )
    ).toBe('error');
  });

  it("believes the server's finished flag", () => {
    expect(
      outcome(run('r', { status: 'Succeeded', finished: false }))
    ).toBeNull();
  });
});

describe('endMessage', () => {
  const NOW = Date.parse('2024-05-01T11:00:00Z');
  it('says how the run ended', () => {
    expect(endMessage(run('r1'), NOW)).toBe('Run r1 succeeded after 5m00s.');
    expect(endMessage(run('r1', { status: 'Stopped' }), NOW)).toBe(
      'Run r1 was stopped after 5m00s.'
    );
    expect(
      endMessage(
        run('r1', {
          status: 'Failed',
          failed_step: 'train',
          failure_reason: 'OOM'
        }),
        NOW
      )
    ).toBe('Run r1 failed at step train after 5m00s: OOM');
    expect(
      endMessage(
        run('r1', {
          status: 'Failed',
          start: null,
          steps: [{ name: 'eval', status: 'Failed' }]
        }),
        NOW
      )
    ).toBe('Run r1 failed at step eval.');
  });
});

describe('EndWatcher', () => {
  it('announces a submitted run once, when it ends', () => {
    const w = new EndWatcher();
    w.watch('ctx', 'ml', 'new-run');
    expect(
      w.observe('ctx', 'ml', run('new-run', { status: 'Executing', end: null }))
    ).toBeNull();
    const end = w.observe('ctx', 'ml', run('new-run', { status: 'Failed' }));
    expect(end?.outcome).toBe('error');
    expect(
      w.observe('ctx', 'ml', run('new-run', { status: 'Failed' }))
    ).toBeNull();
    expect(w.size).toBe(0);
  });

  it('does not watch an opened run that has already ended', () => {
    const w = new EndWatcher();
    expect(w.watch('ctx', 'ml', 'old', run('old'))).toBe(false);
    expect(w.observe('ctx', 'ml', run('old'))).toBeNull();
  });

  it('watches an opened run that is still going', () => {
    const w = new EndWatcher();
    expect(
      w.watch('ctx', 'ml', 'live', run('live', { status: 'Executing' }))
    ).toBe(true);
    expect(
      w.observe('ctx', 'ml', run('live', { status: 'Stopped' }))?.outcome
    ).toBe('warning');
  });

  it('ignores runs it does not watch, and keeps namespaces apart', () => {
    const w = new EndWatcher();
    w.watch('ctx', 'ml', 'r');
    expect(w.observe('ctx', 'dev', run('r'))).toBeNull();
    expect(w.observe('other', 'ml', run('r'))).toBeNull();
    expect(w.observe('ctx', 'ml', run('x'))).toBeNull();
    expect(w.places()).toEqual([{ context: 'ctx', namespace: 'ml' }]);
    w.unwatch('ctx', 'ml', 'r');
    expect(w.places()).toEqual([]);
  });
});
