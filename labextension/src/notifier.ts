// Notifications when a run this person submitted (a re-run) or opened in a run view ends.
// While such a run is watched, the notifier holds its namespace's stream open (live mode).

import { Notification } from '@jupyterlab/apputils';

import type { Lease, StreamHub } from './hub';
import { EndWatcher, endMessage } from './notify';
import { runsOf } from './state';
import type { RunStatus } from './types';

export class RunNotifier {
  readonly watcher = new EndWatcher();
  enabled = true;
  private live = true;
  private leases = new Map<string, Lease>();
  private unlisten: () => void;

  constructor(
    private readonly hub: StreamHub,
    private readonly openRun: (
      context: string,
      namespace: string,
      name: string
    ) => void
  ) {
    this.unlisten = hub.listen((key, _state, event) => {
      if (
        event.type === 'snapshot' ||
        event.type === 'changes' ||
        event.type === 'run'
      ) {
        for (const run of runsOf(event)) {
          this.observe(key.context, key.namespace, run);
        }
      }
    });
  }

  configure(options: { enabled: boolean; live: boolean }): void {
    this.enabled = options.enabled;
    this.live = options.live;
    this.sync();
  }

  watch(
    context: string,
    namespace: string,
    name: string,
    run?: RunStatus | null
  ): void {
    if (this.watcher.watch(context, namespace, name, run)) {
      this.sync();
    }
  }

  observe(context: string, namespace: string, run: RunStatus): void {
    const ending = this.watcher.observe(context, namespace, run);
    if (!ending) {
      return;
    }
    this.sync();
    if (!this.enabled) {
      return;
    }
    const message = endMessage(run);
    const options = {
      autoClose: ending.outcome === 'success' ? 8000 : 15000,
      actions: [
        {
          label: 'Open',
          caption: `Open ${run.name}`,
          callback: () => this.openRun(context, namespace, run.name)
        }
      ]
    };
    if (ending.outcome === 'success') {
      Notification.success(message, options);
    } else if (ending.outcome === 'warning') {
      Notification.warning(message, options);
    } else {
      Notification.error(message, options);
    }
  }

  /** Hold the streams of the namespaces with watched runs; release the others. */
  private sync(): void {
    const wanted = new Map<string, { context: string; namespace: string }>();
    if (this.live && this.enabled) {
      for (const place of this.watcher.places()) {
        wanted.set(`${place.context}\u0000${place.namespace}`, place);
      }
    }
    for (const [id, lease] of this.leases) {
      if (!wanted.has(id)) {
        lease.release();
        this.leases.delete(id);
      }
    }
    for (const [id, place] of wanted) {
      if (!this.leases.has(id)) {
        this.leases.set(id, this.hub.acquire(place));
      }
    }
  }

  dispose(): void {
    this.unlisten();
    for (const lease of this.leases.values()) {
      lease.release();
    }
    this.leases.clear();
  }
}
