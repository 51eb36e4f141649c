// Times and durations as the sidebar and the run view write them.

import type { RunStatus, StepStatus } from './types';

/** Milliseconds since the epoch, or null for a missing or unreadable time. */
export function parseTime(iso: string | null | undefined): number | null {
  if (!iso) {
    return null;
  }
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

/** Seconds from start to end (or to now while it runs); null without a start. */
export function durationSeconds(
  start: string | null | undefined,
  end: string | null | undefined,
  now: number = Date.now()
): number | null {
  const from = parseTime(start);
  if (from === null) {
    return null;
  }
  const to = parseTime(end) ?? now;
  return Math.max(0, Math.round((to - from) / 1000));
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** `42 s`, `3m05s`, `2h03m`, `3d04h`. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) {
    return '';
  }
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) {
    return `${s} s`;
  }
  if (s < 3600) {
    return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  }
  if (s < 86400) {
    return `${Math.floor(s / 3600)}h${pad(Math.floor((s % 3600) / 60))}m`;
  }
  return `${Math.floor(s / 86400)}d${pad(Math.floor((s % 86400) / 3600))}h`;
}

/** The run's (or step's) duration as text, ticking while it has no end. */
export function elapsed(
  item: Pick<RunStatus | StepStatus, 'start' | 'end'> | null | undefined,
  now: number = Date.now()
): string {
  if (!item) {
    return '';
  }
  return formatDuration(durationSeconds(item.start, item.end, now));
}

/** `just now`, `5m ago`, `3h ago`, `2d ago`, then the date. */
export function relativeTime(
  iso: string | null | undefined,
  now: number = Date.now()
): string {
  const t = parseTime(iso);
  if (t === null) {
    return '';
  }
  const s = Math.round((now - t) / 1000);
  if (s < 45) {
    return 'just now'; // also a little clock skew into the future
  }
  if (s < 3600) {
    return `${Math.max(1, Math.round(s / 60))}m ago`;
  }
  if (s < 86400) {
    return `${Math.floor(s / 3600)}h ago`;
  }
  if (s < 7 * 86400) {
    return `${Math.floor(s / 86400)}d ago`;
  }
  return formatDate(t);
}

/** `2024-05-01` in local time. */
export function formatDate(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** `2024-05-01 13:04:05` in local time, or '' for a missing time. */
export function formatTimestamp(iso: string | null | undefined): string {
  const t = parseTime(iso);
  if (t === null) {
    return '';
  }
  const d = new Date(t);
  return `${formatDate(t)} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** `a=1, b=2` (keys sorted). */
export function formatParameters(
  params: Record<string, string> | null | undefined
): string {
  return Object.keys(params ?? {})
    .sort()
    .map(k => `${k}=${(params ?? {})[k]}`)
    .join(', ');
}

/** The tooltip of a run row: every field a person may look for, one per line. */
export function runTooltip(run: RunStatus, now: number = Date.now()): string {
  const lines = [`${run.name} (${run.status})`];
  if (run.pipeline) {
    lines.push(`pipeline: ${run.pipeline}`);
  }
  if (run.start) {
    lines.push(`started: ${formatTimestamp(run.start)}`);
  }
  const took = elapsed(run, now);
  if (took) {
    lines.push(`duration: ${took}`);
  }
  const params = run.parameters ?? {};
  const keys = Object.keys(params).sort();
  if (keys.length) {
    lines.push('parameters:');
    for (const k of keys) {
      lines.push(`  ${k}=${params[k]}`);
    }
  }
  if (run.problem) {
    lines.push(`problem: ${run.problem}`);
  }
  if (run.failure_reason) {
    lines.push(`failure: ${run.failure_reason}`);
  }
  return lines.join('\n');
}
