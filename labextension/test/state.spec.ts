import { describe, expect, it } from 'vitest';

import {
  StreamState,
  bannerFor,
  initialState,
  parseMessage,
  reduce,
  runsOf
} from '../src/state';
import type { ServerMessage } from '../src/types';
import { THEME, pipeline, run } from './fixtures';

function snapshot(): StreamState {
  return reduce(reduce(initialState(), { type: 'open' }), {
    type: 'snapshot',
    pipelines: [pipeline('p1'), pipeline('p2')],
    runs: [run('r1'), run('r2', { status: 'Executing', end: null })],
    health: { reachable: true, problem: null }
  });
}

describe('reduce', () => {
  it('takes a snapshot whole', () => {
    const s = snapshot();
    expect([...s.pipelines.keys()]).toEqual(['p1', 'p2']);
    expect([...s.runs.keys()]).toEqual(['r1', 'r2']);
    expect(s.synced).toBe(true);
    expect(s.connection).toBe('open');
  });

  it('replaces everything on a new snapshot (after a reconnection)', () => {
    const s = reduce(snapshot(), {
      type: 'snapshot',
      pipelines: [pipeline('p3')],
      runs: [run('r3')],
      health: { reachable: true, problem: null }
    });
    expect([...s.pipelines.keys()]).toEqual(['p3']);
    expect([...s.runs.keys()]).toEqual(['r3']);
  });

  it('applies changes and deletions without touching the old state', () => {
    const before = snapshot();
    const after = reduce(before, {
      type: 'changes',
      pipelines: [pipeline('p3')],
      runs: [run('r2', { status: 'Succeeded' }), run('r4')],
      deleted: { pipelines: ['p1'], runs: ['r1'] }
    });
    expect([...after.pipelines.keys()].sort()).toEqual(['p2', 'p3']);
    expect([...after.runs.keys()].sort()).toEqual(['r2', 'r4']);
    expect(after.runs.get('r2')?.status).toBe('Succeeded');
    expect(before.runs.get('r2')?.status).toBe('Executing');
    expect(before.runs.has('r1')).toBe(true);
    expect(after.version).toBeGreaterThan(before.version);
  });

  it('keeps the steps of a followed run when a change without steps comes', () => {
    let s = reduce(snapshot(), {
      type: 'run',
      run: run('r2', {
        status: 'Executing',
        steps: [{ name: 'a', status: 'Executing' }]
      })
    });
    expect(s.runs.get('r2')?.steps).toHaveLength(1);
    s = reduce(s, {
      type: 'changes',
      runs: [run('r2', { status: 'Stopping' })]
    });
    expect(s.runs.get('r2')?.status).toBe('Stopping');
    expect(s.runs.get('r2')?.steps?.[0].name).toBe('a');
  });

  it('never brings back a deleted run from a followed update', () => {
    let s = reduce(snapshot(), {
      type: 'changes',
      deleted: { pipelines: [], runs: ['r2'] }
    });
    expect(s.runs.has('r2')).toBe(false);
    s = reduce(s, { type: 'run', run: run('r2', { status: 'Stopping' }) });
    expect(s.runs.has('r2')).toBe(false);
  });

  it('tracks health', () => {
    let s = reduce(snapshot(), {
      type: 'health',
      reachable: false,
      problem: 'connection refused'
    });
    expect(s.health).toEqual({
      reachable: false,
      problem: 'connection refused'
    });
    expect(bannerFor(s)?.text).toBe(
      'The cluster is unreachable: connection refused. Retrying…'
    );
    s = reduce(s, { type: 'health', reachable: true, problem: null });
    expect(bannerFor(s)).toBeNull();
  });

  it('takes the health of a snapshot', () => {
    const s = reduce(initialState(), {
      type: 'snapshot',
      pipelines: [],
      runs: [],
      health: { reachable: false, problem: 'timeout' }
    });
    expect(s.health.reachable).toBe(false);
  });

  it('keeps an error with its hint until the next snapshot', () => {
    let s = reduce(snapshot(), {
      type: 'error',
      status: 403,
      error: 'pipelineexecutions is forbidden',
      hint: 'needs list on pipelineexecutions.sagemaker.services.k8s.aws in ml'
    });
    const banner = bannerFor(s);
    expect(banner?.text).toBe(
      'Permission denied: pipelineexecutions is forbidden'
    );
    expect(banner?.hint).toContain('needs list');
    expect(banner?.level).toBe('error');
    s = reduce(s, { type: 'snapshot', pipelines: [], runs: [] });
    expect(s.error).toBeNull();
  });

  it('says when the connection is lost and when it retries', () => {
    const now = 1_000_000;
    const s = reduce(snapshot(), { type: 'closed', retryAt: now + 4000 });
    expect(bannerFor(s, now)?.text).toBe(
      'Lost the connection to the Jupyter server; reconnecting in 4 s.'
    );
    expect(bannerFor(s, now)?.level).toBe('warning');
    expect(reduce(s, { type: 'open' }).synced).toBe(false);
  });

  it('keeps a theme the server sends with a snapshot', () => {
    const s = reduce(initialState(), {
      type: 'snapshot',
      pipelines: [],
      runs: [],
      theme: THEME
    });
    expect(s.theme).toBe(THEME);
  });

  it('ignores unknown events', () => {
    const s = snapshot();
    expect(reduce(s, { type: 'nonsense' } as unknown as ServerMessage)).toBe(s);
  });
});

describe('parseMessage and runsOf', () => {
  it('parses the known messages only', () => {
    expect(
      parseMessage('{"type":"health","reachable":true,"problem":null}')?.type
    ).toBe('health');
    expect(parseMessage('{"type":"other"}')).toBeNull();
    expect(parseMessage('not json')).toBeNull();
    expect(parseMessage('null')).toBeNull();
    expect(parseMessage(new ArrayBuffer(2))).toBeNull();
  });

  it('lists the runs a message brings', () => {
    expect(runsOf({ type: 'run', run: run('a') }).map(r => r.name)).toEqual([
      'a'
    ]);
    expect(
      runsOf({ type: 'changes', runs: [run('b')] }).map(r => r.name)
    ).toEqual(['b']);
    expect(runsOf({ type: 'health', reachable: true, problem: null })).toEqual(
      []
    );
  });
});
