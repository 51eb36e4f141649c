import { describe, expect, it } from 'vitest';

import {
  PipelineRow,
  Row,
  RunRow,
  buildRows,
  compareRuns,
  matchesStatus,
  matchesText,
  runCategory
} from '../src/filter';
import { pipeline, run } from './fixtures';

const names = (rows: Row[]): string[] =>
  rows.map(r => (r.kind === 'run' ? `  ${r.run.name}` : r.name));

describe('runCategory', () => {
  it.each([
    ['Pending', 'Running'],
    ['Executing', 'Running'],
    ['Stopping', 'Running'],
    ['Succeeded', 'Succeeded'],
    ['Failed', 'Failed'],
    ['Stopped', 'Stopped']
  ])('%s is %s', (status, category) => {
    expect(runCategory(run('r', { status }))).toBe(category);
  });

  it('counts a terminal ACK problem as failed', () => {
    const r = run('r', {
      status: 'Pending',
      problem: 'bad spec',
      synced: 'terminal'
    });
    expect(runCategory(r)).toBe('Failed');
    expect(matchesStatus(r, 'Failed')).toBe(true);
    expect(matchesStatus(r, 'Running')).toBe(false);
  });

  it('lets All through', () => {
    expect(matchesStatus(run('r', { status: 'Executing' }), 'All')).toBe(true);
  });
});

describe('matchesText', () => {
  const r = run('nightly-42', {
    pipeline: 'train-xgb',
    parameters: { region: 'eu-west-1' }
  });

  it('finds the name, the pipeline, the status and parameters, ignoring case', () => {
    expect(matchesText(r, 'NIGHTLY')).toBe(true);
    expect(matchesText(r, 'xgb')).toBe(true);
    expect(matchesText(r, 'succeeded')).toBe(true);
    expect(matchesText(r, 'region=eu')).toBe(true);
  });

  it('needs every word', () => {
    expect(matchesText(r, 'nightly xgb')).toBe(true);
    expect(matchesText(r, 'nightly lgbm')).toBe(false);
  });

  it('lets an empty query through', () => {
    expect(matchesText(r, '   ')).toBe(true);
  });
});

describe('buildRows', () => {
  const pipelines = [pipeline('b-pipe'), pipeline('a-pipe')];
  const runs = [
    run('a1', { pipeline: 'a-pipe', start: '2024-05-01T10:00:00Z' }),
    run('a2', {
      pipeline: 'a-pipe',
      start: '2024-05-02T10:00:00Z',
      status: 'Failed'
    }),
    run('a3', { pipeline: 'a-pipe', start: null, status: 'Pending' }),
    run('b1', { pipeline: 'b-pipe', status: 'Executing', end: null }),
    run('orphan', { pipeline: 'gone' })
  ];

  it('lists pipelines by name, each with its runs newest first', () => {
    const rows = buildRows(pipelines, runs, { status: 'All', text: '' });
    expect(names(rows)).toEqual([
      'a-pipe',
      '  a3',
      '  a2',
      '  a1',
      'b-pipe',
      '  b1',
      'gone',
      '  orphan'
    ]);
    const a = rows[0] as PipelineRow;
    expect(a.runCount).toBe(3);
    expect(a.latest?.name).toBe('a3');
    const gone = rows.find(
      r => r.kind === 'pipeline' && r.name === 'gone'
    ) as PipelineRow;
    expect(gone.pipeline).toBeNull();
  });

  it('groups runs by the SageMaker pipeline name of the object', () => {
    const rows = buildRows(
      [pipeline('obj-name', { pipeline: 'SageMakerName' })],
      [run('x', { pipeline: 'SageMakerName' })],
      { status: 'All', text: '' }
    );
    expect(names(rows)).toEqual(['obj-name', '  x']);
    expect((rows[1] as RunRow).pipelineName).toBe('obj-name');
  });

  it('filters by status and hides pipelines left without runs', () => {
    const rows = buildRows(pipelines, runs, { status: 'Running', text: '' });
    expect(names(rows)).toEqual(['a-pipe', '  a3', 'b-pipe', '  b1']);
    const a = rows[0] as PipelineRow;
    expect(a.shownCount).toBe(1);
    expect(a.runCount).toBe(3);
  });

  it('keeps a pipeline with no runs under All', () => {
    const rows = buildRows([pipeline('empty')], [], {
      status: 'All',
      text: ''
    });
    expect(names(rows)).toEqual(['empty']);
    expect(
      buildRows([pipeline('empty')], [], { status: 'Failed', text: '' })
    ).toEqual([]);
  });

  it('filters by text; a matching pipeline name keeps all its runs', () => {
    expect(
      names(buildRows(pipelines, runs, { status: 'All', text: 'a2' }))
    ).toEqual(['a-pipe', '  a2']);
    expect(
      names(buildRows(pipelines, runs, { status: 'All', text: 'b-pipe' }))
    ).toEqual(['b-pipe', '  b1']);
    expect(
      names(buildRows(pipelines, runs, { status: 'Failed', text: 'a-pipe' }))
    ).toEqual(['a-pipe', '  a2']);
  });

  it('collapses a pipeline to its row', () => {
    const rows = buildRows(
      pipelines,
      runs,
      { status: 'All', text: '' },
      new Set(['p:a-pipe'])
    );
    expect(names(rows).slice(0, 2)).toEqual(['a-pipe', 'b-pipe']);
    expect((rows[0] as PipelineRow).collapsed).toBe(true);
  });

  it('numbers pipelines among pipelines and runs within their pipeline', () => {
    const rows = buildRows(pipelines, runs, { status: 'All', text: '' });
    expect(rows.map(r => `${r.pos}/${r.size}`)).toEqual([
      '1/3',
      '1/3',
      '2/3',
      '3/3',
      '2/3',
      '1/1',
      '3/3',
      '1/1'
    ]);
  });

  it('gives every row a unique key', () => {
    const rows = buildRows(pipelines, runs, { status: 'All', text: '' });
    expect(new Set(rows.map(r => r.key)).size).toBe(rows.length);
  });

  it('stays fast with 5,000 runs', () => {
    const many = Array.from({ length: 5000 }, (_, i) =>
      run(`run-${i}`, {
        pipeline: `p${i % 20}`,
        start: new Date(Date.UTC(2024, 0, 1) + i * 60000).toISOString(),
        status: i % 7 === 0 ? 'Failed' : 'Succeeded'
      })
    );
    const ps = Array.from({ length: 20 }, (_, i) => pipeline(`p${i}`));
    const t0 = performance.now();
    const rows = buildRows(ps, many, { status: 'All', text: '' });
    const failed = buildRows(ps, many, { status: 'Failed', text: 'run-1' });
    const ms = performance.now() - t0;
    expect(rows).toHaveLength(5020);
    expect(
      failed.every(r => r.kind === 'pipeline' || r.run.status === 'Failed')
    ).toBe(true);
    expect(ms).toBeLessThan(500);
  });
});

describe('compareRuns', () => {
  it('puts runs without a start first, then newest, then by name', () => {
    const list = [
      run('old', { start: '2024-01-01T00:00:00Z' }),
      run('new', { start: '2024-02-01T00:00:00Z' }),
      run('pending', { start: null }),
      run('same-a', { start: '2024-01-15T00:00:00Z' }),
      run('same-b', { start: '2024-01-15T00:00:00Z' })
    ];
    expect(list.sort(compareRuns).map(r => r.name)).toEqual([
      'pending',
      'new',
      'same-b',
      'same-a',
      'old'
    ]);
  });
});
