import { describe, expect, it } from 'vitest';

import {
  durationSeconds,
  elapsed,
  formatDuration,
  formatParameters,
  formatTimestamp,
  parseTime,
  relativeTime,
  runTooltip
} from '../src/format';
import { run } from './fixtures';

const NOW = Date.parse('2024-05-01T12:00:00Z');

describe('formatDuration', () => {
  it.each([
    [0, '0 s'],
    [42, '42 s'],
    [59.6, '1m00s'],
    [60, '1m00s'],
    [185, '3m05s'],
    [3599, '59m59s'],
    [3600, '1h00m'],
    [7380, '2h03m'],
    [86400, '1d00h'],
    [3 * 86400 + 4 * 3600 + 59, '3d04h']
  ])('%s s is %s', (s, text) => {
    expect(formatDuration(s)).toBe(text);
  });

  it('is empty for nothing', () => {
    expect(formatDuration(null)).toBe('');
    expect(formatDuration(undefined)).toBe('');
    expect(formatDuration(Number.NaN)).toBe('');
  });

  it('never goes negative', () => {
    expect(formatDuration(-5)).toBe('0 s');
  });
});

describe('durations of runs', () => {
  it('counts from start to end', () => {
    expect(
      durationSeconds('2024-05-01T10:00:00Z', '2024-05-01T10:05:30Z', NOW)
    ).toBe(330);
  });

  it('ticks to now while running', () => {
    expect(durationSeconds('2024-05-01T11:59:00Z', null, NOW)).toBe(60);
    expect(
      elapsed(run('r', { start: '2024-05-01T11:00:00Z', end: null }), NOW)
    ).toBe('1h00m');
  });

  it('has none without a start, or with a bad one', () => {
    expect(durationSeconds(null, null, NOW)).toBeNull();
    expect(durationSeconds('yesterday', null, NOW)).toBeNull();
    expect(elapsed(run('r', { start: null }), NOW)).toBe('');
    expect(parseTime('nope')).toBeNull();
  });

  it('clamps an end before the start to zero', () => {
    expect(
      durationSeconds('2024-05-01T10:00:00Z', '2024-05-01T09:00:00Z', NOW)
    ).toBe(0);
  });
});

describe('relativeTime', () => {
  it.each([
    ['2024-05-01T11:59:30Z', 'just now'],
    ['2024-05-01T12:00:10Z', 'just now'],
    ['2024-05-01T11:55:00Z', '5m ago'],
    ['2024-05-01T11:59:00Z', '1m ago'],
    ['2024-05-01T09:00:00Z', '3h ago'],
    ['2024-04-29T12:00:00Z', '2d ago'],
    ['2024-03-01T12:00:00Z', '2024-03-01']
  ])('%s is %s', (iso, text) => {
    expect(relativeTime(iso, NOW)).toBe(text);
  });

  it('is empty without a time', () => {
    expect(relativeTime(null, NOW)).toBe('');
  });
});

describe('formatTimestamp and parameters', () => {
  it('writes a local time', () => {
    expect(formatTimestamp('2024-05-01T10:04:05Z')).toBe('2024-05-01 10:04:05');
    expect(formatTimestamp(null)).toBe('');
  });

  it('sorts parameters by name', () => {
    expect(formatParameters({ b: '2', a: '1' })).toBe('a=1, b=2');
    expect(formatParameters(undefined)).toBe('');
  });

  it('puts every field of a run in its tooltip', () => {
    const tip = runTooltip(
      run('r1', {
        parameters: { lr: '0.1', epochs: '3' },
        failure_reason: 'boom',
        status: 'Failed'
      }),
      NOW
    );
    expect(tip.split('\n')).toEqual([
      'r1 (Failed)',
      'pipeline: train',
      'started: 2024-05-01 10:00:00',
      'duration: 5m00s',
      'parameters:',
      '  epochs=3',
      '  lr=0.1',
      'failure: boom'
    ]);
  });
});
