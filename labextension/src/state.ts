// What one stream (one context and namespace) knows: a pure reducer over the server's
// messages and the client's own connection events.

import type {
  Health,
  PipelineStatus,
  RunStatus,
  ServerMessage,
  Theme
} from './types';

export interface StreamError {
  status: number;
  error: string;
  hint: string | null;
}

export type Connection = 'connecting' | 'open' | 'closed';

export interface StreamState {
  pipelines: ReadonlyMap<string, PipelineStatus>;
  runs: ReadonlyMap<string, RunStatus>;
  health: Health;
  /** the last error message; the server closes the socket after it */
  error: StreamError | null;
  connection: Connection;
  /** a snapshot came in since the last (re)connection */
  synced: boolean;
  /** when the client tries again after losing the socket (ms since the epoch), or null */
  retryAt: number | null;
  theme: Theme | null;
  /** grows with every change: a cheap "did anything change" for views */
  version: number;
}

export type ClientEvent =
  | { type: 'connecting' }
  | { type: 'open' }
  | { type: 'closed'; retryAt: number | null };

export type StreamEvent = ServerMessage | ClientEvent;

export function initialState(): StreamState {
  return {
    pipelines: new Map(),
    runs: new Map(),
    health: { reachable: true, problem: null },
    error: null,
    connection: 'connecting',
    synced: false,
    retryAt: null,
    theme: null,
    version: 0
  };
}

function byName<T extends { name: string }>(
  items: T[] | undefined
): Map<string, T> {
  const out = new Map<string, T>();
  for (const item of items ?? []) {
    if (item && typeof item.name === 'string') {
      out.set(item.name, item);
    }
  }
  return out;
}

/** A run message carries steps; a changes message does not: keep the steps we had. */
function mergeRun(old: RunStatus | undefined, run: RunStatus): RunStatus {
  if (old && old.steps && run.steps === undefined) {
    return { ...run, steps: old.steps };
  }
  return run;
}

/** The state after one message or connection event. Unknown messages change nothing. */
export function reduce(state: StreamState, event: StreamEvent): StreamState {
  const version = state.version + 1;
  switch (event.type) {
    case 'snapshot': {
      const runs = byName(event.runs);
      for (const [name, run] of runs) {
        runs.set(name, mergeRun(state.runs.get(name), run));
      }
      return {
        ...state,
        pipelines: byName(event.pipelines),
        runs,
        health: event.health
          ? {
              reachable: Boolean(event.health.reachable),
              problem: event.health.problem ?? null
            }
          : state.health,
        error: null,
        synced: true,
        theme: event.theme ?? state.theme,
        version
      };
    }
    case 'changes': {
      const pipelines = new Map(state.pipelines);
      const runs = new Map(state.runs);
      for (const p of event.pipelines ?? []) {
        pipelines.set(p.name, p);
      }
      for (const r of event.runs ?? []) {
        runs.set(r.name, mergeRun(runs.get(r.name), r));
      }
      for (const name of event.deleted?.pipelines ?? []) {
        pipelines.delete(name);
      }
      for (const name of event.deleted?.runs ?? []) {
        runs.delete(name);
      }
      return { ...state, pipelines, runs, version };
    }
    case 'health':
      return {
        ...state,
        health: {
          reachable: Boolean(event.reachable),
          problem: event.problem ?? null
        },
        version
      };
    case 'run': {
      if (!event.run || typeof event.run.name !== 'string') {
        return state;
      }
      // a followed run updates its row, but never brings back one the cluster deleted:
      // the run view shows it from the event itself
      if (!state.runs.has(event.run.name)) {
        return { ...state, version };
      }
      const runs = new Map(state.runs);
      runs.set(event.run.name, event.run);
      return { ...state, runs, version };
    }
    case 'error':
      return {
        ...state,
        error: {
          status: Number(event.status) || 0,
          error: String(event.error ?? 'error'),
          hint: event.hint ?? null
        },
        version
      };
    case 'connecting':
      return { ...state, connection: 'connecting', retryAt: null, version };
    case 'open':
      return {
        ...state,
        connection: 'open',
        retryAt: null,
        synced: false,
        version
      };
    case 'closed':
      return {
        ...state,
        connection: 'closed',
        retryAt: event.retryAt,
        version
      };
    default:
      return state;
  }
}

/** A message from the server, or null when it is not one we know. */
export function parseMessage(data: unknown): ServerMessage | null {
  if (typeof data !== 'string') {
    return null;
  }
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (!value || typeof value !== 'object') {
    return null;
  }
  const type = (value as { type?: unknown }).type;
  if (
    type === 'snapshot' ||
    type === 'changes' ||
    type === 'health' ||
    type === 'run' ||
    type === 'error'
  ) {
    return value as ServerMessage;
  }
  return null;
}

/** The runs a message brings (to watch them end). */
export function runsOf(message: ServerMessage): RunStatus[] {
  switch (message.type) {
    case 'snapshot':
      return message.runs ?? [];
    case 'changes':
      return message.runs ?? [];
    case 'run':
      return message.run ? [message.run] : [];
    default:
      return [];
  }
}

export interface Banner {
  level: 'error' | 'warning' | 'info';
  text: string;
  hint: string | null;
  /** offer a button to connect again */
  retry: boolean;
}

/** What the banner says about this stream, or null when all is well. */
export function bannerFor(
  state: StreamState,
  now: number = Date.now()
): Banner | null {
  if (state.error) {
    const what =
      state.error.status === 403
        ? 'Permission denied'
        : state.error.status
          ? `Error ${state.error.status}`
          : 'Error';
    return {
      level: 'error',
      text: `${what}: ${state.error.error}`,
      hint: state.error.hint,
      retry: true
    };
  }
  if (!state.health.reachable) {
    const why = state.health.problem ? `: ${state.health.problem}` : '';
    return {
      level: 'error',
      text: `The cluster is unreachable${why}. Retrying…`,
      hint: null,
      retry: false
    };
  }
  if (state.connection === 'closed') {
    const wait =
      state.retryAt !== null
        ? Math.max(0, Math.ceil((state.retryAt - now) / 1000))
        : null;
    return {
      level: 'warning',
      text:
        wait !== null
          ? `Lost the connection to the Jupyter server; reconnecting in ${wait} s.`
          : 'Lost the connection to the Jupyter server.',
      hint: null,
      retry: true
    };
  }
  return null;
}
