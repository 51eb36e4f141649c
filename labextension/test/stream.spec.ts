import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { StreamHub } from '../src/hub';
import { SocketLike, StreamClient, backoffDelay } from '../src/stream';
import { run } from './fixtures';

class FakeSocket implements SocketLike {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: string[] = [];
  closed = false;
  onopen: ((ev: Event) => unknown) | null = null;
  onmessage: ((ev: MessageEvent) => unknown) | null = null;
  onclose: ((ev: CloseEvent) => unknown) | null = null;
  onerror: ((ev: Event) => unknown) | null = null;

  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }

  send(data: string): void {
    this.sent.push(data);
  }

  close(): void {
    this.closed = true;
    this.readyState = 3;
  }

  // the server's side
  open(): void {
    this.readyState = 1;
    this.onopen?.({} as Event);
  }

  message(value: unknown): void {
    this.onmessage?.({ data: JSON.stringify(value) } as MessageEvent);
  }

  drop(): void {
    this.readyState = 3;
    this.onclose?.({} as CloseEvent);
  }
}

const last = () => FakeSocket.all[FakeSocket.all.length - 1];

function client(): StreamClient {
  return new StreamClient({
    url: () => 'ws://x/jupyter-ack/api/namespaces/ml/stream',
    socket: url => new FakeSocket(url),
    backoff: { base: 1000, max: 8000, random: () => 1 - 1e-9 }
  });
}

const SNAPSHOT = {
  type: 'snapshot',
  pipelines: [],
  runs: [run('r1', { status: 'Executing', end: null })],
  health: { reachable: true, problem: null }
};

beforeEach(() => {
  FakeSocket.all = [];
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('backoffDelay', () => {
  it('doubles up to the cap, with jitter in [0.5, 1)', () => {
    const top = { random: () => 0.999999 };
    expect(backoffDelay(0, top)).toBe(1000);
    expect(backoffDelay(1, top)).toBe(2000);
    expect(backoffDelay(4, top)).toBe(16000);
    expect(backoffDelay(10, top)).toBe(30000);
    expect(backoffDelay(1000, top)).toBe(30000);
    expect(backoffDelay(3, { random: () => 0 })).toBe(4000);
  });
});

describe('StreamClient', () => {
  it('takes the snapshot then the changes', () => {
    const c = client();
    const seen: string[] = [];
    c.subscribe((_s, e) => seen.push(e.type));
    c.connect();
    last().open();
    last().message(SNAPSHOT);
    last().message({
      type: 'changes',
      runs: [run('r1', { status: 'Succeeded' })],
      deleted: { pipelines: [], runs: [] }
    });
    expect(c.state.runs.get('r1')?.status).toBe('Succeeded');
    expect(seen).toEqual(['connecting', 'open', 'snapshot', 'changes']);
  });

  it('ignores what is not a message', () => {
    const c = client();
    c.connect();
    last().open();
    const v = c.state.version;
    last().onmessage?.({ data: 'garbage' } as MessageEvent);
    expect(c.state.version).toBe(v);
  });

  it('reconnects with growing delays and takes the new snapshot', () => {
    const c = client();
    c.connect();
    last().open();
    last().message(SNAPSHOT);
    last().drop();
    expect(c.state.connection).toBe('closed');
    expect(c.state.retryAt).not.toBeNull();
    expect(FakeSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(999);
    expect(FakeSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.all).toHaveLength(2);
    // fails again before any message: twice the wait
    last().drop();
    vi.advanceTimersByTime(1999);
    expect(FakeSocket.all).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.all).toHaveLength(3);
    last().open();
    last().message({ ...SNAPSHOT, runs: [run('r2')] });
    expect([...c.state.runs.keys()]).toEqual(['r2']);
    // a message came: the next loss starts from the base delay again
    last().drop();
    vi.advanceTimersByTime(1000);
    expect(FakeSocket.all).toHaveLength(4);
  });

  it('stops after an error message until retry()', () => {
    const c = client();
    c.connect();
    last().open();
    last().message({
      type: 'error',
      status: 403,
      error: 'forbidden',
      hint: 'grant list'
    });
    last().drop();
    vi.advanceTimersByTime(60000);
    expect(FakeSocket.all).toHaveLength(1);
    expect(c.state.error?.hint).toBe('grant list');
    expect(c.state.retryAt).toBeNull();
    c.retry();
    expect(FakeSocket.all).toHaveLength(2);
  });

  it('sends the follow set when it changes and again on every connection', () => {
    const c = client();
    c.connect();
    c.setFollow(['b', 'a', 'a']); // not open yet: nothing sent
    expect(last().sent).toEqual([]);
    last().open();
    expect(last().sent).toEqual(['{"follow":["a","b"]}']);
    c.setFollow(['a', 'b']);
    expect(last().sent).toHaveLength(1); // same set: not sent again
    c.setFollow([]);
    expect(last().sent[1]).toBe('{"follow":[]}');
    c.setFollow(['c']);
    last().drop();
    vi.advanceTimersByTime(1000);
    last().open();
    expect(last().sent).toEqual(['{"follow":["c"]}']);
  });

  it('does not send an empty follow set on a fresh connection', () => {
    const c = client();
    c.connect();
    last().open();
    expect(last().sent).toEqual([]);
  });

  it('closes and stays closed when disposed', () => {
    const c = client();
    c.connect();
    const s = last();
    s.open();
    c.dispose();
    expect(s.closed).toBe(true);
    s.drop();
    vi.advanceTimersByTime(60000);
    expect(FakeSocket.all).toHaveLength(1);
  });
});

describe('StreamHub', () => {
  function hub() {
    const made: StreamClient[] = [];
    const h = new StreamHub(key => {
      const c = new StreamClient({
        url: () => `ws://x/${key.context}/${key.namespace}`,
        socket: url => new FakeSocket(url)
      });
      made.push(c);
      return c;
    });
    return { h, made };
  }

  it('shares one stream per context and namespace', () => {
    const { h, made } = hub();
    const a = h.acquire({ context: 'c', namespace: 'ml' });
    const b = h.acquire({ context: 'c', namespace: 'ml' });
    const other = h.acquire({ context: 'c', namespace: 'dev' });
    expect(a.client).toBe(b.client);
    expect(other.client).not.toBe(a.client);
    expect(made).toHaveLength(2);
    expect(FakeSocket.all.map(s => s.url)).toEqual([
      'ws://x/c/ml',
      'ws://x/c/dev'
    ]);
  });

  it('follows the union of its holders and closes with the last one', () => {
    const { h } = hub();
    const a = h.acquire({ context: 'c', namespace: 'ml' });
    const b = h.acquire({ context: 'c', namespace: 'ml' });
    const socket = FakeSocket.all[0];
    socket.open();
    a.follow(['run-1']);
    b.follow(['run-2']);
    expect(socket.sent[socket.sent.length - 1]).toBe(
      '{"follow":["run-1","run-2"]}'
    );
    b.release();
    expect(socket.sent[socket.sent.length - 1]).toBe('{"follow":["run-1"]}');
    expect(socket.closed).toBe(false);
    a.release();
    expect(socket.closed).toBe(true);
    expect(h.size).toBe(0);
    a.release(); // twice is harmless
    const again = h.acquire({ context: 'c', namespace: 'ml' });
    expect(again.client.isDisposed).toBe(false);
    expect(FakeSocket.all).toHaveLength(2);
  });

  it('tells global listeners every event with its key', () => {
    const { h } = hub();
    const seen: string[] = [];
    h.listen((key, _s, e) => seen.push(`${key.namespace}:${e.type}`));
    const lease = h.acquire({ context: '', namespace: 'ml' });
    const events: string[] = [];
    lease.subscribe((_s, e) => events.push(e.type));
    FakeSocket.all[0].open();
    FakeSocket.all[0].message(SNAPSHOT);
    expect(seen).toEqual(['ml:connecting', 'ml:open', 'ml:snapshot']);
    expect(events).toEqual(['open', 'snapshot']);
    lease.release();
  });
});
