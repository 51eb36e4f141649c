// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';

import type { PipelineRow, RunRow } from '../src/filter';
import { renderPipelineRow, renderRunRow } from '../src/rows';
import { EVIL, pipeline, run } from './fixtures';

const NOW = Date.parse('2024-05-01T10:10:00Z');

describe('run rows', () => {
  it('carry the test hooks and the tooltip', () => {
    const row = document.createElement('div');
    const item: RunRow = {
      kind: 'run',
      key: 'r:r1',
      pipelineName: 'train',
      pos: 1,
      size: 1,
      run: run('r1', { status: 'Failed', parameters: { lr: '0.1' } })
    };
    renderRunRow(row, item, NOW);
    expect(row.dataset.run).toBe('r1');
    expect(row.dataset.status).toBe('Failed');
    expect(row.querySelector('.jp-ack-badge')?.textContent).toBe('Failed');
    expect(row.querySelector('.jp-ack-run-start')?.textContent).toBe('10m ago');
    expect(row.querySelector('.jp-ack-run-duration')?.textContent).toBe(
      '5m00s'
    );
    expect(row.title).toContain('lr=0.1');
  });

  it('show a hostile name as text', () => {
    const row = document.createElement('div');
    renderRunRow(
      row,
      {
        kind: 'run',
        key: 'r:x',
        pipelineName: EVIL,
        pos: 1,
        size: 1,
        run: run(EVIL, { pipeline: EVIL })
      },
      NOW
    );
    expect(row.querySelector('img')).toBeNull();
    expect(row.querySelector('.jp-ack-run-name')?.textContent).toBe(EVIL);
    expect(row.dataset.run).toBe(EVIL);
  });

  it('update in place', () => {
    const row = document.createElement('div');
    const item: RunRow = {
      kind: 'run',
      key: 'r:r1',
      pipelineName: 'p',
      pos: 1,
      size: 1,
      run: run('r1', { status: 'Executing', end: null })
    };
    renderRunRow(row, item, NOW);
    const badge = row.querySelector('.jp-ack-badge');
    renderRunRow(
      row,
      { ...item, run: run('r1', { status: 'Succeeded' }) },
      NOW
    );
    expect(row.querySelector('.jp-ack-badge')).toBe(badge);
    expect(row.children).toHaveLength(4);
    expect(row.dataset.status).toBe('Succeeded');
  });
});

describe('pipeline rows', () => {
  it('carry the name, the counts and the expanded state', () => {
    const row = document.createElement('div');
    const item: PipelineRow = {
      kind: 'pipeline',
      key: 'p:train',
      name: EVIL,
      pipeline: pipeline(EVIL, { problem: 'S3 <denied>' }),
      runCount: 5,
      shownCount: 2,
      latest: run('r9'),
      collapsed: false,
      pos: 1,
      size: 1
    };
    renderPipelineRow(row, item);
    expect(row.dataset.pipeline).toBe(EVIL);
    expect(row.getAttribute('aria-expanded')).toBe('true');
    expect(row.querySelector('.jp-ack-pipeline-name')?.textContent).toBe(EVIL);
    expect(row.querySelector('.jp-ack-count')?.textContent).toBe('2 of 5 runs');
    expect(row.querySelector('img')).toBeNull();
    expect(row.title).toContain('problem: S3 <denied>');
    renderPipelineRow(row, { ...item, collapsed: true, shownCount: 5 });
    expect(row.getAttribute('aria-expanded')).toBe('false');
    expect(row.querySelector('.jp-ack-count')?.textContent).toBe('5 runs');
  });
});
