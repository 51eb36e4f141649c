// How a sidebar row looks: a pipeline (caret, name, counts) or a run (status badge, name,
// start, duration; every field in the tooltip).

import { elapsed, relativeTime, runTooltip, formatTimestamp } from './format';
import type { PipelineRow, Row, RunRow } from './filter';
import { setText } from './dom';
import { isFinished } from './types';

function part(
  row: HTMLElement,
  index: number,
  className: string,
  doc: Document
): HTMLElement {
  let child = row.children[index] as HTMLElement | undefined;
  if (!child) {
    child = doc.createElement('span');
    child.className = className;
    row.appendChild(child);
  }
  return child;
}

export function renderRunRow(
  row: HTMLElement,
  item: RunRow,
  now: number = Date.now()
): void {
  const doc = row.ownerDocument;
  const run = item.run;
  row.classList.add('jp-ack-run-row');
  row.setAttribute('aria-level', '2');
  row.dataset.run = run.name;
  row.dataset.status = run.status;
  row.classList.toggle('jp-ack-running', !isFinished(run));
  const badge = part(row, 0, 'jp-ack-badge', doc);
  badge.dataset.status = run.status;
  setText(badge, run.status);
  setText(part(row, 1, 'jp-ack-run-name', doc), run.name);
  const start = part(row, 2, 'jp-ack-run-start', doc);
  setText(start, relativeTime(run.start, now));
  start.title = formatTimestamp(run.start);
  setText(part(row, 3, 'jp-ack-run-duration', doc), elapsed(run, now));
  row.title = runTooltip(run, now);
  row.setAttribute('aria-label', `run ${run.name}, ${run.status}`);
}

export function renderPipelineRow(row: HTMLElement, item: PipelineRow): void {
  const doc = row.ownerDocument;
  row.classList.add('jp-ack-pipeline-row');
  row.setAttribute('aria-level', '1');
  row.dataset.pipeline = item.name;
  row.setAttribute('aria-expanded', item.collapsed ? 'false' : 'true');
  setText(
    part(row, 0, 'jp-ack-caret', doc),
    item.collapsed ? '\u25b8' : '\u25be'
  );
  setText(part(row, 1, 'jp-ack-pipeline-name', doc), item.name);
  const count =
    item.shownCount === item.runCount
      ? `${item.runCount} run${item.runCount === 1 ? '' : 's'}`
      : `${item.shownCount} of ${item.runCount} runs`;
  setText(part(row, 2, 'jp-ack-count', doc), count);
  const mark = part(row, 3, 'jp-ack-pipeline-mark', doc);
  const problem = item.pipeline?.problem;
  mark.dataset.status = problem ? 'Failed' : (item.latest?.status ?? '');
  setText(mark, problem ? '!' : '');
  const lines = [`pipeline ${item.name}`];
  if (item.pipeline) {
    if (item.pipeline.pipeline && item.pipeline.pipeline !== item.name) {
      lines.push(`SageMaker pipeline: ${item.pipeline.pipeline}`);
    }
    lines.push(`status: ${item.pipeline.status}`);
    if (item.pipeline.created) {
      lines.push(`created: ${formatTimestamp(item.pipeline.created)}`);
    }
    if (problem) {
      lines.push(`problem: ${problem}`);
    }
  } else {
    lines.push('(no Pipeline object in this namespace)');
  }
  if (item.latest) {
    lines.push(`latest run: ${item.latest.name} (${item.latest.status})`);
  }
  row.title = lines.join('\n');
  row.setAttribute('aria-label', `pipeline ${item.name}, ${count}`);
}

export function renderRow(
  row: HTMLElement,
  item: Row,
  now: number = Date.now()
): void {
  if (item.kind === 'run') {
    renderRunRow(row, item, now);
  } else {
    renderPipelineRow(row, item);
  }
}
