// One stream per (context, namespace) for the whole tab, shared by the sidebar, the run views
// and the notifier; each holder may add the runs it follows; a stream closes with its last
// holder.

import { StreamClient, StreamListener } from './stream';
import type { StreamEvent, StreamState } from './state';

export interface StreamKey {
  context: string;
  namespace: string;
}

export function keyString(key: StreamKey): string {
  return `${key.context}\u0000${key.namespace}`;
}

export interface Lease {
  readonly key: StreamKey;
  readonly client: StreamClient;
  /** the runs this holder follows (replaces its previous set) */
  follow(names: Iterable<string>): void;
  /** the stream's state after each change, for as long as the lease is held */
  subscribe(listener: StreamListener): void;
  release(): void;
}

interface Entry {
  key: StreamKey;
  client: StreamClient;
  holders: Set<Holder>;
}

interface Holder {
  follow: Set<string>;
  unsubscribe: (() => void)[];
}

export type GlobalListener = (
  key: StreamKey,
  state: StreamState,
  event: StreamEvent
) => void;

export class StreamHub {
  private entries = new Map<string, Entry>();
  private globals = new Set<GlobalListener>();

  constructor(private readonly create: (key: StreamKey) => StreamClient) {}

  /** Every event of every stream (the notifier watches runs end with it). */
  listen(listener: GlobalListener): () => void {
    this.globals.add(listener);
    return () => this.globals.delete(listener);
  }

  acquire(key: StreamKey): Lease {
    const id = keyString(key);
    let entry = this.entries.get(id);
    if (!entry || entry.client.isDisposed) {
      const client = this.create(key);
      const created: Entry = { key, client, holders: new Set() };
      client.subscribe((state, event) => {
        for (const g of [...this.globals]) {
          g(created.key, state, event);
        }
      });
      entry = created;
      this.entries.set(id, entry);
      client.connect();
    }
    const current = entry;
    const holder: Holder = { follow: new Set(), unsubscribe: [] };
    current.holders.add(holder);
    let released = false;
    return {
      key,
      client: current.client,
      follow: names => {
        if (released) {
          return;
        }
        holder.follow = new Set(names);
        this.refollow(current);
      },
      subscribe: listener => {
        if (!released) {
          holder.unsubscribe.push(current.client.subscribe(listener));
        }
      },
      release: () => {
        if (released) {
          return;
        }
        released = true;
        holder.unsubscribe.forEach(u => u());
        current.holders.delete(holder);
        if (current.holders.size === 0) {
          current.client.dispose();
          if (this.entries.get(id) === current) {
            this.entries.delete(id);
          }
        } else {
          this.refollow(current);
        }
      }
    };
  }

  /** The client of a key when some holder keeps it open. */
  peek(key: StreamKey): StreamClient | null {
    return this.entries.get(keyString(key))?.client ?? null;
  }

  get size(): number {
    return this.entries.size;
  }

  dispose(): void {
    for (const entry of this.entries.values()) {
      entry.client.dispose();
    }
    this.entries.clear();
    this.globals.clear();
  }

  private refollow(entry: Entry): void {
    const names = new Set<string>();
    for (const h of entry.holders) {
      h.follow.forEach(n => names.add(n));
    }
    entry.client.setFollow(names);
  }
}
