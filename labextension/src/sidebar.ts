// The left sidebar: context and namespace pickers, status and text filters, the pipelines with
// their runs (a virtualised list), live from the namespace's stream, and a banner for an
// unreachable cluster or an error.

import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { AckApi, describeError } from './api';
import { applyTheme } from './dag';
import { button, el, setText } from './dom';
import { Filter, Row, STATUS_FILTERS, StatusFilter, buildRows } from './filter';
import type { Lease, StreamHub } from './hub';
import { renderRow } from './rows';
import { Banner, StreamState, bannerFor, initialState, reduce } from './state';
import type { Theme } from './types';
import { VirtualList } from './virtuallist';

export const SIDEBAR_ID = 'jupyter-ack-sidebar';
export const ROW_HEIGHT = 28;

export interface SidebarSettings {
  defaultContext: string;
  defaultNamespace: string;
  live: boolean;
}

export interface SidebarOptions {
  api: AckApi;
  hub: StreamHub;
  settings: SidebarSettings;
  openRun: (context: string, namespace: string, name: string) => void;
}

const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export class AckSidebar extends Widget {
  private readonly api: AckApi;
  private readonly hub: StreamHub;
  private settings: SidebarSettings;
  private readonly contextSelect: HTMLSelectElement;
  private readonly namespaceInput: HTMLInputElement;
  private readonly namespaceList: HTMLDataListElement;
  private readonly statusSelect: HTMLSelectElement;
  private readonly textInput: HTMLInputElement;
  private readonly refreshButton: HTMLButtonElement;
  private readonly banner: HTMLElement;
  private readonly bannerText: HTMLElement;
  private readonly bannerHint: HTMLElement;
  private readonly retryButton: HTMLButtonElement;
  private readonly empty: HTMLElement;
  private readonly footer: HTMLElement;
  private readonly list: VirtualList<Row>;
  private context = '';
  private namespace = '';
  private lease: Lease | null = null;
  private manual: StreamState = initialState();
  private localError: { text: string; hint: string | null } | null = null;
  private filter: Filter = { status: 'All', text: '' };
  private collapsed = new Set<string>();
  private rows: Row[] = [];
  private lastVersion = -1;
  private clock: ReturnType<typeof setInterval> | null = null;
  private started = false;
  private loading = false;
  private textTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly options: SidebarOptions) {
    super();
    this.api = options.api;
    this.hub = options.hub;
    this.settings = { ...options.settings };
    this.id = SIDEBAR_ID;
    this.addClass('jp-ack-sidebar');

    const heading = el('h2', 'jp-ack-sidebar-title', 'ACK pipelines');
    const toolbar = el('div', 'jp-ack-toolbar');
    const contextLabel = el('label', 'jp-ack-field');
    contextLabel.append(el('span', 'jp-ack-field-label', 'Context'));
    this.contextSelect = el('select', 'jp-mod-styled jp-ack-context');
    this.contextSelect.title = 'kubeconfig context';
    contextLabel.appendChild(this.contextSelect);

    const namespaceLabel = el('label', 'jp-ack-field');
    namespaceLabel.append(el('span', 'jp-ack-field-label', 'Namespace'));
    this.namespaceInput = el('input', 'jp-mod-styled jp-ack-namespace');
    this.namespaceInput.type = 'text';
    this.namespaceInput.spellcheck = false;
    this.namespaceInput.autocomplete = 'off';
    this.namespaceInput.placeholder = 'namespace';
    this.namespaceList = el('datalist');
    this.namespaceList.id = `${SIDEBAR_ID}-namespaces`;
    this.namespaceInput.setAttribute('list', this.namespaceList.id);
    namespaceLabel.append(this.namespaceInput, this.namespaceList);

    const filters = el('div', 'jp-ack-filters');
    this.statusSelect = el('select', 'jp-mod-styled jp-ack-status-filter');
    this.statusSelect.title = 'Show runs in this status';
    this.statusSelect.setAttribute('aria-label', 'Status filter');
    for (const s of STATUS_FILTERS) {
      const option = el('option', undefined, s);
      option.value = s;
      this.statusSelect.appendChild(option);
    }
    this.textInput = el('input', 'jp-mod-styled jp-ack-text-filter');
    this.textInput.type = 'search';
    this.textInput.placeholder = 'Filter runs';
    this.textInput.setAttribute('aria-label', 'Filter runs by text');
    this.refreshButton = button(
      'jp-ack-refresh',
      '\u21bb',
      () => this.refresh(),
      'Refresh (reconnect the live stream)'
    );
    this.refreshButton.setAttribute('aria-label', 'Refresh');
    filters.append(this.statusSelect, this.textInput, this.refreshButton);
    toolbar.append(contextLabel, namespaceLabel, filters);

    this.banner = el('div', 'jp-ack-banner');
    this.banner.setAttribute('role', 'alert');
    this.banner.hidden = true;
    this.bannerText = el('div', 'jp-ack-banner-text');
    this.bannerHint = el('div', 'jp-ack-banner-hint');
    this.retryButton = button('jp-ack-retry', 'Retry', () => this.refresh());
    this.banner.append(this.bannerText, this.bannerHint, this.retryButton);

    this.list = new VirtualList<Row>({
      rowHeight: ROW_HEIGHT,
      key: row => row.key,
      render: (node, row) => renderRow(node, row),
      roles: { list: 'tree', item: 'treeitem' },
      position: row => [row.pos, row.size],
      activate: row => this.openRow(row),
      keydown: (row, index, event) => this.rowKey(row, index, event)
    });
    this.list.node.setAttribute('aria-label', 'Pipelines and runs');
    this.empty = el('div', 'jp-ack-empty', 'Loading\u2026');
    this.footer = el('div', 'jp-ack-footer');
    this.footer.setAttribute('aria-live', 'polite');

    const body = el('div', 'jp-ack-body');
    body.append(this.list.node, this.empty);
    this.node.append(heading, toolbar, this.banner, body, this.footer);

    this.contextSelect.addEventListener(
      'change',
      () => void this.selectContext(this.contextSelect.value)
    );
    this.namespaceInput.addEventListener('change', () =>
      this.selectNamespace(this.namespaceInput.value.trim())
    );
    this.namespaceInput.addEventListener('keydown', e => {
      if (e.key === 'Enter') {
        this.selectNamespace(this.namespaceInput.value.trim());
      }
    });
    this.statusSelect.addEventListener('change', () => {
      this.filter = {
        ...this.filter,
        status: this.statusSelect.value as StatusFilter
      };
      this.redraw(true);
    });
    this.textInput.addEventListener('input', () => {
      if (this.textTimer !== null) {
        clearTimeout(this.textTimer);
      }
      this.textTimer = setTimeout(() => {
        this.textTimer = null;
        this.filter = { ...this.filter, text: this.textInput.value };
        this.redraw(true);
      }, 120);
    });
  }

  get currentContext(): string {
    return this.context;
  }

  get currentNamespace(): string {
    return this.namespace;
  }

  /** The state the list shows: the live stream's, or the last manual refresh. */
  get state(): StreamState {
    return this.settings.live && this.lease
      ? this.lease.client.state
      : this.manual;
  }

  /** Load the contexts and namespaces, then show the default namespace. */
  async start(): Promise<void> {
    if (this.started) {
      return;
    }
    this.started = true;
    let context = this.settings.defaultContext;
    let namespace = this.settings.defaultNamespace;
    try {
      const answer = await this.api.contexts();
      if (answer.theme) {
        this.setTheme(answer.theme);
      }
      const contexts = answer.contexts ?? [];
      if (!context || !contexts.includes(context)) {
        context = answer.current || contexts[0] || '';
      }
      this.fillContexts(contexts, context);
      if (!namespace) {
        namespace = context === answer.current ? answer.namespace : '';
      }
    } catch (err) {
      this.localError = describeError(err);
      this.fillContexts(context ? [context] : [], context);
    }
    this.context = context;
    namespace = (await this.loadNamespaces(namespace)) || namespace;
    this.openNamespace(namespace);
  }

  /** New settings (live mode and the defaults). */
  configure(settings: SidebarSettings): void {
    const wasLive = this.settings.live;
    this.settings = { ...settings };
    this.refreshButton.title = settings.live
      ? 'Refresh (reconnect the live stream)'
      : 'Refresh';
    if (this.started && wasLive !== settings.live && this.namespace) {
      this.openNamespace(this.namespace);
    }
  }

  setTheme(theme: Theme): void {
    applyTheme(this.node, theme);
  }

  /** Connect again (live) or load again (manual). */
  refresh(): void {
    this.localError = null;
    if (!this.namespace) {
      void this.start();
      return;
    }
    if (this.settings.live && this.lease) {
      this.lease.client.retry();
      this.redraw(true);
    } else {
      void this.loadManual();
    }
  }

  /** The rows listed now (for tests). */
  get visibleRows(): readonly Row[] {
    return this.rows;
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.list.update();
    this.startClock();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this.list.update();
    this.startClock();
  }

  protected onBeforeHide(msg: Message): void {
    super.onBeforeHide(msg);
    this.stopClock();
  }

  protected onBeforeDetach(msg: Message): void {
    this.stopClock();
    super.onBeforeDetach(msg);
  }

  protected onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    this.list.schedule();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.stopClock();
    this.lease?.release();
    this.lease = null;
    this.list.dispose();
    super.dispose();
  }

  private startClock(): void {
    if (this.clock === null) {
      this.clock = setInterval(() => this.tick(), 1000);
    }
  }

  private stopClock(): void {
    if (this.clock !== null) {
      clearInterval(this.clock);
      this.clock = null;
    }
  }

  private tick(): void {
    if (!this.isVisible) {
      return;
    }
    this.list.refreshDrawn();
    this.drawBanner();
  }

  private fillContexts(contexts: string[], current: string): void {
    this.contextSelect.replaceChildren();
    const names = contexts.length ? contexts : [current];
    for (const name of names) {
      const option = el('option', undefined, name || '(server default)');
      option.value = name;
      this.contextSelect.appendChild(option);
    }
    this.contextSelect.value = current;
    this.contextSelect.disabled = names.length <= 1;
  }

  /** Fill the namespace suggestions; the namespace to show (the one given, else the default). */
  private async loadNamespaces(wanted: string): Promise<string> {
    try {
      const answer = await this.api.namespaces(this.context);
      this.namespaceList.replaceChildren();
      for (const name of answer.items ?? []) {
        const option = el('option');
        option.value = name;
        this.namespaceList.appendChild(option);
      }
      return wanted || answer.default || (answer.items ?? [])[0] || '';
    } catch (err) {
      this.localError = describeError(err);
      this.drawBanner();
      return wanted;
    }
  }

  private async selectContext(context: string): Promise<void> {
    if (context === this.context) {
      return;
    }
    this.context = context;
    this.localError = null;
    let namespace = '';
    try {
      const answer = await this.api.contexts();
      if (context === answer.current) {
        namespace = answer.namespace;
      }
    } catch {
      // the namespaces answer has a default too
    }
    namespace = await this.loadNamespaces(namespace || this.namespace);
    this.openNamespace(namespace);
  }

  private selectNamespace(namespace: string): void {
    if (!namespace || namespace === this.namespace) {
      this.namespaceInput.value = this.namespace;
      return;
    }
    if (!NAMESPACE.test(namespace) || namespace.length > 63) {
      this.localError = {
        text: `"${namespace}" is not a namespace name (lower-case letters, digits and '-').`,
        hint: null
      };
      this.drawBanner();
      return;
    }
    this.localError = null;
    this.openNamespace(namespace);
  }

  /** Show a namespace: hold its stream (live) or load it once (manual). */
  private openNamespace(namespace: string): void {
    this.namespace = namespace;
    this.namespaceInput.value = namespace;
    this.lease?.release();
    this.lease = null;
    this.manual = initialState();
    this.collapsed.clear();
    this.lastVersion = -1;
    this.list.node.scrollTop = 0;
    if (!namespace) {
      this.localError = this.localError ?? {
        text: 'Pick a namespace.',
        hint: null
      };
      this.redraw(true);
      return;
    }
    if (this.settings.live) {
      const lease = this.hub.acquire({ context: this.context, namespace });
      this.lease = lease;
      lease.subscribe((state, event) => {
        if (this.lease !== lease) {
          return;
        }
        if (event.type === 'snapshot' && state.theme) {
          this.setTheme(state.theme);
        }
        this.redraw(false);
      });
      this.redraw(true);
    } else {
      void this.loadManual();
    }
  }

  private async loadManual(): Promise<void> {
    const namespace = this.namespace;
    const context = this.context;
    if (!namespace || this.loading) {
      return;
    }
    this.loading = true;
    this.refreshButton.disabled = true;
    this.redraw(true);
    try {
      const [pipelines, runs] = await Promise.all([
        this.api.pipelines(namespace, context),
        this.api.allRuns(namespace, context)
      ]);
      if (namespace !== this.namespace || context !== this.context) {
        return;
      }
      this.localError = null;
      this.manual = reduce(reduce(initialState(), { type: 'open' }), {
        type: 'snapshot',
        pipelines: pipelines.items ?? [],
        runs,
        health: { reachable: true, problem: null }
      });
    } catch (err) {
      this.localError = describeError(err);
    } finally {
      this.loading = false;
      this.refreshButton.disabled = false;
      this.redraw(true);
    }
  }

  /** Rebuild the rows (when the state or the filter changed) and draw. */
  private redraw(force: boolean): void {
    const state = this.state;
    if (force || state.version !== this.lastVersion) {
      this.lastVersion = state.version;
      this.rows = buildRows(
        state.pipelines.values(),
        state.runs.values(),
        this.filter,
        this.collapsed
      );
      this.list.setItems(this.rows);
    }
    this.drawBanner();
    this.drawEmpty(state);
    this.drawFooter(state);
  }

  private currentBanner(): Banner | null {
    if (this.localError) {
      return {
        level: 'error',
        text: this.localError.text,
        hint: this.localError.hint,
        retry: true
      };
    }
    if (this.settings.live && this.lease) {
      return bannerFor(this.lease.client.state);
    }
    return null;
  }

  private drawBanner(): void {
    const b = this.currentBanner();
    this.banner.hidden = !b;
    if (!b) {
      delete this.banner.dataset.level;
      return;
    }
    this.banner.dataset.level = b.level;
    setText(this.bannerText, b.text);
    setText(this.bannerHint, b.hint ?? '');
    this.bannerHint.hidden = !b.hint;
    this.retryButton.hidden = !b.retry;
  }

  private drawEmpty(state: StreamState): void {
    let text = '';
    if (!this.rows.length && !this.localError && !state.error) {
      if (!this.namespace) {
        text = 'No namespace.';
      } else if (!state.synced && (this.settings.live || this.loading)) {
        text = 'Loading\u2026';
      } else if (!state.synced) {
        text = 'Press \u21bb to load the pipelines.';
      } else if (state.pipelines.size || state.runs.size) {
        text = 'No run matches the filter.';
      } else {
        text = `No pipelines or runs in ${this.namespace}.`;
      }
    }
    setText(this.empty, text);
    this.empty.hidden = !text;
  }

  private drawFooter(state: StreamState): void {
    const runs = state.runs.size;
    const pipelines = state.pipelines.size;
    const shown = this.rows.reduce((n, r) => n + (r.kind === 'run' ? 1 : 0), 0);
    let text = state.synced
      ? `${pipelines} pipeline${pipelines === 1 ? '' : 's'} \u00b7 ${runs.toLocaleString()} run${runs === 1 ? '' : 's'}`
      : '';
    if (
      state.synced &&
      (this.filter.status !== 'All' || this.filter.text.trim())
    ) {
      text += ` (${shown.toLocaleString()} shown)`;
    }
    if (state.synced && !this.settings.live) {
      text += ' \u00b7 not live';
    }
    setText(this.footer, text);
  }

  private openRow(row: Row): void {
    if (row.kind === 'run') {
      this.options.openRun(this.context, this.namespace, row.run.name);
    } else {
      this.toggle(row.key, !row.collapsed);
    }
  }

  private toggle(key: string, collapse: boolean): void {
    if (collapse) {
      this.collapsed.add(key);
    } else {
      this.collapsed.delete(key);
    }
    this.redraw(true);
  }

  private rowKey(row: Row, index: number, event: KeyboardEvent): boolean {
    if (row.kind === 'pipeline') {
      if (event.key === ' ') {
        this.toggle(row.key, !row.collapsed);
        return true;
      }
      if (event.key === 'ArrowLeft' && !row.collapsed) {
        this.toggle(row.key, true);
        return true;
      }
      if (event.key === 'ArrowRight' && row.collapsed) {
        this.toggle(row.key, false);
        return true;
      }
      return false;
    }
    if (event.key === 'ArrowLeft') {
      for (let i = index - 1; i >= 0; i--) {
        if (this.rows[i].kind === 'pipeline') {
          this.list.focusIndex(i);
          return true;
        }
      }
    }
    return false;
  }
}
