// Which run endings to announce: the runs this person submitted from the sidebar (re-runs)
// or opened in a run view, once each, when they go from unfinished to finished.

import { elapsed } from './format';
import { RunStatus, failedStep, isFinished } from './types';

export type Outcome = 'success' | 'error' | 'warning';

/** How a finished run ended; null while it runs. */
export function outcome(run: RunStatus): Outcome | null {
  if (!isFinished(run)) {
    return null;
  }
  if (run.status === 'Succeeded') {
    return 'success';
  }
  if (run.status === 'Stopped') {
    return 'warning';
  }
  return 'error';
}

/** The sentence of a notification. */
export function endMessage(run: RunStatus, now: number = Date.now()): string {
  const took = elapsed(run, now);
  const after = took ? ` after ${took}` : '';
  switch (outcome(run)) {
    case 'success':
      return `Run ${run.name} succeeded${after}.`;
    case 'warning':
      return `Run ${run.name} was stopped${after}.`;
    case 'error': {
      const step = failedStep(run);
      const at = step ? ` at step ${step}` : '';
      const why = run.failure_reason || run.problem;
      return `Run ${run.name} failed${at}${after}${why ? `: ${why}` : '.'}`;
    }
    default:
      return `Run ${run.name} is ${run.status}.`;
  }
}

export interface Ending {
  key: string;
  run: RunStatus;
  outcome: Outcome;
}

export function runKey(
  context: string,
  namespace: string,
  name: string
): string {
  return `${context}\u0000${namespace}\u0000${name}`;
}

/**
 * The runs being watched. `watch` a run submitted here (its state is not known yet, so it
 * counts as running) or opened in a view (`run` given: one already finished is not watched).
 * `observe` each run state that comes in: it returns the ending once, then forgets the run.
 */
export class EndWatcher {
  private watched = new Map<string, { context: string; namespace: string }>();

  watch(
    context: string,
    namespace: string,
    name: string,
    run?: RunStatus | null
  ): boolean {
    if (run && isFinished(run)) {
      return false;
    }
    this.watched.set(runKey(context, namespace, name), { context, namespace });
    return true;
  }

  unwatch(context: string, namespace: string, name: string): void {
    this.watched.delete(runKey(context, namespace, name));
  }

  isWatched(context: string, namespace: string, name: string): boolean {
    return this.watched.has(runKey(context, namespace, name));
  }

  observe(context: string, namespace: string, run: RunStatus): Ending | null {
    const key = runKey(context, namespace, run.name);
    if (!this.watched.has(key)) {
      return null;
    }
    const end = outcome(run);
    if (!end) {
      return null;
    }
    this.watched.delete(key);
    return { key, run, outcome: end };
  }

  /** The (context, namespace) pairs that have runs watched: their streams must stay open. */
  places(): { context: string; namespace: string }[] {
    const seen = new Map<string, { context: string; namespace: string }>();
    for (const place of this.watched.values()) {
      seen.set(`${place.context}\u0000${place.namespace}`, place);
    }
    return [...seen.values()];
  }

  get size(): number {
    return this.watched.size;
  }
}
