// Which pipelines and runs the sidebar lists, in which order, as one flat list of rows
// (the virtual list draws a window of it).

import { parseTime } from './format';
import { PipelineStatus, RunStatus, isFinished } from './types';

export const STATUS_FILTERS = [
  'All',
  'Running',
  'Succeeded',
  'Failed',
  'Stopped'
] as const;
export type StatusFilter = (typeof STATUS_FILTERS)[number];
export type RunCategory = Exclude<StatusFilter, 'All'>;

export interface Filter {
  status: StatusFilter;
  text: string;
}

/** Running covers every run that is not finished (Pending, Executing, Stopping). */
export function runCategory(run: RunStatus): RunCategory {
  if (run.status === 'Succeeded') {
    return 'Succeeded';
  }
  if (run.status === 'Stopped') {
    return 'Stopped';
  }
  if (run.status === 'Failed' || (run.problem && run.synced === 'terminal')) {
    return 'Failed';
  }
  return isFinished(run) ? 'Failed' : 'Running';
}

export function matchesStatus(run: RunStatus, status: StatusFilter): boolean {
  return status === 'All' || runCategory(run) === status;
}

function tokens(text: string): string[] {
  return text.toLowerCase().split(/\s+/).filter(Boolean);
}

/** Every word of the query is in the run's name, pipeline, status or a parameter. */
export function matchesText(run: RunStatus, text: string): boolean {
  const words = tokens(text);
  if (!words.length) {
    return true;
  }
  const params = Object.entries(run.parameters ?? {}).map(
    ([k, v]) => `${k}=${v}`
  );
  const hay = [run.name, run.pipeline, run.status, ...params]
    .join('\n')
    .toLowerCase();
  return words.every(w => hay.includes(w));
}

export interface PipelineRow {
  kind: 'pipeline';
  key: string;
  /** the Pipeline object's name, or a run's `pipeline` when no object is listed */
  name: string;
  pipeline: PipelineStatus | null;
  /** all runs of the pipeline, and those the filter keeps */
  runCount: number;
  shownCount: number;
  latest: RunStatus | null;
  collapsed: boolean;
  /** 1-based place among the pipeline rows, and their number (for aria-posinset/-setsize) */
  pos: number;
  size: number;
}

export interface RunRow {
  kind: 'run';
  key: string;
  run: RunStatus;
  pipelineName: string;
  /** 1-based place among the runs shown under its pipeline, and their number */
  pos: number;
  size: number;
}

export type Row = PipelineRow | RunRow;

/** Newest first: by start time, runs not started yet on top, then by name. */
export function compareRuns(a: RunStatus, b: RunStatus): number {
  const ta = parseTime(a.start) ?? Number.POSITIVE_INFINITY;
  const tb = parseTime(b.start) ?? Number.POSITIVE_INFINITY;
  if (ta !== tb) {
    return ta < tb ? 1 : -1;
  }
  return a.name < b.name ? 1 : a.name > b.name ? -1 : 0;
}

interface Group {
  name: string;
  pipeline: PipelineStatus | null;
  runs: RunStatus[];
}

/**
 * The rows: each pipeline (by name) followed by its runs (newest first). A run belongs to the
 * pipeline whose SageMaker name (or object name) is its `pipeline`; runs of a pipeline that is
 * not listed get a row of their own. A pipeline shows when the filter keeps one of its runs,
 * or (status All) when its name matches the text; a matching name keeps all its runs.
 */
export function buildRows(
  pipelines: Iterable<PipelineStatus>,
  runs: Iterable<RunStatus>,
  filter: Filter,
  collapsed: ReadonlySet<string> = new Set()
): Row[] {
  const groups = new Map<string, Group>();
  const byRef = new Map<string, Group>();
  for (const p of pipelines) {
    const group: Group = { name: p.name, pipeline: p, runs: [] };
    groups.set(p.name, group);
  }
  // a SageMaker name wins over an object name of another pipeline
  for (const g of groups.values()) {
    if (!byRef.has(g.name)) {
      byRef.set(g.name, g);
    }
  }
  for (const g of groups.values()) {
    if (g.pipeline?.pipeline) {
      byRef.set(g.pipeline.pipeline, g);
    }
  }
  for (const run of runs) {
    const ref = run.pipeline || '';
    let group = byRef.get(ref);
    if (!group) {
      const name = ref || '(no pipeline)';
      group = { name, pipeline: null, runs: [] };
      // a group without an object must not replace a listed pipeline of the same name
      const key = groups.has(name) ? `\u0000${name}` : name;
      groups.set(key, group);
      byRef.set(ref, group);
    }
    group.runs.push(run);
  }
  const words = tokens(filter.text);
  const rows: Row[] = [];
  const ordered = [...groups.values()].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0
  );
  for (const g of ordered) {
    const nameHay = [g.name, g.pipeline?.pipeline ?? '']
      .join('\n')
      .toLowerCase();
    const nameMatches =
      words.length > 0 && words.every(w => nameHay.includes(w));
    const shown = g.runs.filter(
      r =>
        matchesStatus(r, filter.status) &&
        (nameMatches || matchesText(r, filter.text))
    );
    const keepEmpty =
      filter.status === 'All' && (words.length === 0 || nameMatches);
    if (!shown.length && !keepEmpty) {
      continue;
    }
    shown.sort(compareRuns);
    const all = g.runs.length ? [...g.runs].sort(compareRuns) : [];
    const key = `p:${g.pipeline ? g.name : '\u0000' + g.name}`;
    const isCollapsed = collapsed.has(key);
    rows.push({
      kind: 'pipeline',
      key,
      name: g.name,
      pipeline: g.pipeline,
      runCount: g.runs.length,
      shownCount: shown.length,
      latest: all[0] ?? null,
      collapsed: isCollapsed,
      pos: 0,
      size: 0
    });
    if (!isCollapsed) {
      shown.forEach((run, i) => {
        rows.push({
          kind: 'run',
          key: `r:${run.name}`,
          run,
          pipelineName: g.name,
          pos: i + 1,
          size: shown.length
        });
      });
    }
  }
  const heads = rows.filter((r): r is PipelineRow => r.kind === 'pipeline');
  heads.forEach((r, i) => {
    r.pos = i + 1;
    r.size = heads.length;
  });
  return rows;
}
