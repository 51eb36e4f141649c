// One WebSocket stream of a (context, namespace): reconnects with backoff, keeps the state
// (the server sends a snapshot again on each connection), resends the follow set.

import {
  StreamEvent,
  StreamState,
  initialState,
  parseMessage,
  reduce
} from './state';
import type { ServerMessage } from './types';

/** What the client needs of a WebSocket (a test passes a fake). */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: Event) => unknown) | null;
  onmessage: ((ev: MessageEvent) => unknown) | null;
  onclose: ((ev: CloseEvent) => unknown) | null;
  onerror: ((ev: Event) => unknown) | null;
}

export type SocketFactory = (url: string) => SocketLike;

const OPEN = 1;

export interface BackoffOptions {
  base?: number;
  max?: number;
  random?: () => number;
}

/** The wait before connection attempt `attempt` (0 first): doubling from `base` up to `max`,
 * times a random factor in [0.5, 1) so tabs do not reconnect in step. */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {}
): number {
  const base = options.base ?? 1000;
  const max = options.max ?? 30000;
  const random = options.random ?? Math.random;
  const raw = Math.min(
    max,
    base * Math.pow(2, Math.max(0, Math.min(attempt, 30)))
  );
  return Math.round(raw * (0.5 + random() / 2));
}

export interface StreamClientOptions {
  url: () => string;
  socket?: SocketFactory;
  backoff?: BackoffOptions;
  now?: () => number;
}

export type StreamListener = (state: StreamState, event: StreamEvent) => void;

export class StreamClient {
  private socket: SocketLike | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private attempt = 0;
  private fatal = false;
  private disposed = false;
  private follow: string[] = [];
  private sentFollow: string | null = null;
  private listeners = new Set<StreamListener>();
  private _state: StreamState = initialState();

  constructor(private readonly options: StreamClientOptions) {}

  get state(): StreamState {
    return this._state;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Called with the new state after every message or connection event. */
  subscribe(listener: StreamListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  connect(): void {
    if (this.disposed || this.socket) {
      return;
    }
    this.clearTimer();
    this.dispatch({ type: 'connecting' });
    const factory =
      this.options.socket ??
      ((url: string) => new WebSocket(url) as unknown as SocketLike);
    let socket: SocketLike;
    try {
      socket = factory(this.options.url());
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    this.sentFollow = null;
    socket.onopen = () => {
      if (this.socket !== socket) {
        return;
      }
      this.dispatch({ type: 'open' });
      this.sendFollow();
    };
    socket.onmessage = (ev: MessageEvent) => {
      if (this.socket !== socket) {
        return;
      }
      const message = parseMessage(ev.data);
      if (!message) {
        return;
      }
      if (message.type === 'error') {
        this.fatal = true; // the server closes next: do not hammer it
      } else {
        this.attempt = 0; // a working connection: the next loss starts from the base delay
      }
      this.dispatch(message);
    };
    socket.onerror = () => {
      // onclose follows
    };
    socket.onclose = () => {
      if (this.socket !== socket) {
        return;
      }
      this.socket = null;
      this.sentFollow = null;
      if (this.disposed) {
        return;
      }
      if (this.fatal) {
        this.dispatch({ type: 'closed', retryAt: null });
        return;
      }
      this.scheduleReconnect();
    };
  }

  /** Connect again now (after an error message, or a person's "Retry"). */
  retry(): void {
    this.fatal = false;
    this.attempt = 0;
    this.clearTimer();
    if (this.socket) {
      const old = this.socket;
      this.socket = null;
      old.close(1000, 'retry');
    }
    this.connect();
  }

  /** The runs this client wants with steps; sent when it changes and on every connection. */
  setFollow(names: Iterable<string>): void {
    this.follow = [...new Set(names)].sort();
    this.sendFollow();
  }

  get following(): readonly string[] {
    return this.follow;
  }

  dispose(): void {
    if (this.disposed) {
      return;
    }
    this.disposed = true;
    this.clearTimer();
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.close(1000, 'done');
    }
    this.listeners.clear();
  }

  private sendFollow(): void {
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN) {
      return;
    }
    const payload = JSON.stringify({ follow: this.follow });
    if (payload === this.sentFollow) {
      return;
    }
    // an empty set is sent only to replace a non-empty one
    if (this.sentFollow === null && this.follow.length === 0) {
      return;
    }
    socket.send(payload);
    this.sentFollow = payload;
  }

  private scheduleReconnect(): void {
    const delay = backoffDelay(this.attempt++, this.options.backoff);
    const now = this.options.now ? this.options.now() : Date.now();
    this.dispatch({ type: 'closed', retryAt: now + delay });
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, delay);
  }

  private clearTimer(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private dispatch(event: StreamEvent): void {
    this._state = reduce(this._state, event);
    for (const listener of [...this.listeners]) {
      try {
        listener(this._state, event);
      } catch (err) {
        console.error('jupyter-ack: a stream listener failed', err);
      }
    }
  }
}

export type { ServerMessage };
