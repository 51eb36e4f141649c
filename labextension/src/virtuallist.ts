// A virtualised list of fixed-height rows: only the rows in (and near) the viewport are in
// the DOM, absolutely placed in a spacer as tall as the whole list. Plain DOM, no framework.

import { computeWindow, scrollTopFor } from './virtual';

export interface VirtualListOptions<T> {
  rowHeight: number;
  /** a stable key per item: a row element is kept while its key stays in the window */
  key: (item: T) => string;
  /** fill (or refresh) a row element for an item; `fresh` is true for a new element */
  render: (el: HTMLElement, item: T, index: number, fresh: boolean) => void;
  /** activate a row (Enter, or a click) */
  activate?: (item: T, index: number, event: Event) => void;
  /** other keys on a focused row (return true when handled) */
  keydown?: (item: T, index: number, event: KeyboardEvent) => boolean;
  overscan?: number;
  /** ARIA roles of the list and its rows: list and listitem (default), or tree and treeitem */
  roles?: { list: string; item: string };
  /** aria-posinset and aria-setsize of a row (default: its place in the whole list) */
  position?: (item: T, index: number, count: number) => [number, number];
  /** the viewport's height; the element's clientHeight by default (a test passes its own) */
  viewportHeight?: () => number;
  document?: Document;
}

interface Drawn<T> {
  el: HTMLElement;
  item: T;
  index: number;
}

export class VirtualList<T> {
  readonly node: HTMLElement;
  private readonly spacer: HTMLElement;
  private items: readonly T[] = [];
  private drawn = new Map<string, Drawn<T>>();
  private focusedKey: string | null = null;
  private frame: number | null = null;
  private readonly doc: Document;

  constructor(private readonly options: VirtualListOptions<T>) {
    this.doc = options.document ?? document;
    this.node = this.doc.createElement('div');
    this.node.className = 'jp-ack-list';
    this.node.setAttribute('role', options.roles?.list ?? 'list');
    this.node.tabIndex = -1;
    this.spacer = this.doc.createElement('div');
    this.spacer.className = 'jp-ack-list-spacer';
    this.node.appendChild(this.spacer);
    this.node.addEventListener('scroll', () => this.schedule());
    this.node.addEventListener('click', e => this.onClick(e));
    this.node.addEventListener('keydown', e => this.onKeydown(e));
    this.node.addEventListener('focusin', e => {
      const row = this.rowOf(e.target);
      if (row) {
        this.focusedKey = row.dataset.key ?? null;
        this.rove();
      }
    });
  }

  get length(): number {
    return this.items.length;
  }

  /** New items: redrawn at once (rows whose item and index did not change are left alone). */
  setItems(items: readonly T[]): void {
    this.items = items;
    this.update();
  }

  /** Redraw on the next animation frame (scrolling). */
  schedule(): void {
    if (this.frame !== null) {
      return;
    }
    const raf =
      this.doc.defaultView?.requestAnimationFrame?.bind(this.doc.defaultView) ??
      ((cb: FrameRequestCallback) =>
        setTimeout(() => cb(0), 16) as unknown as number);
    this.frame = raf(() => {
      this.frame = null;
      this.update();
    });
  }

  /** Re-render every drawn row (a clock tick: durations and relative times). */
  refreshDrawn(): void {
    for (const d of this.drawn.values()) {
      this.options.render(d.el, d.item, d.index, false);
    }
  }

  private viewport(): number {
    return this.options.viewportHeight
      ? this.options.viewportHeight()
      : this.node.clientHeight;
  }

  /** Draw the rows of the current window. */
  update(): void {
    const { rowHeight, key, render } = this.options;
    const win = computeWindow(
      this.items.length,
      rowHeight,
      this.node.scrollTop,
      this.viewport(),
      this.options.overscan
    );
    this.spacer.style.height = `${win.total}px`;
    const keep = new Map<string, Drawn<T>>();
    const hadFocus =
      this.focusedKey !== null && this.node.contains(this.doc.activeElement);
    for (let i = win.start; i < win.end; i++) {
      const item = this.items[i];
      const k = key(item);
      let d = this.drawn.get(k);
      if (d) {
        this.drawn.delete(k);
        if (d.item !== item || d.index !== i) {
          render(d.el, item, i, false);
        }
        d.item = item;
      } else {
        const el = this.doc.createElement('div');
        el.className = 'jp-ack-row';
        el.tabIndex = -1;
        el.setAttribute('role', this.options.roles?.item ?? 'listitem');
        el.dataset.key = k;
        el.style.height = `${rowHeight}px`;
        render(el, item, i, true);
        this.spacer.appendChild(el);
        d = { el, item, index: i };
      }
      if (d.index !== i || !d.el.dataset.index) {
        d.el.style.transform = `translateY(${i * rowHeight}px)`;
      }
      d.index = i;
      d.el.dataset.index = String(i);
      const [pos, size] = this.options.position
        ? this.options.position(item, i, this.items.length)
        : [i + 1, this.items.length];
      d.el.setAttribute('aria-posinset', String(pos));
      d.el.setAttribute('aria-setsize', String(size));
      keep.set(k, d);
    }
    for (const d of this.drawn.values()) {
      d.el.remove();
    }
    this.drawn = keep;
    this.rove();
    if (
      hadFocus &&
      this.focusedKey &&
      !this.node.contains(this.doc.activeElement)
    ) {
      // the focused row left the window (or its item went away): keep focus in the list
      this.node.focus();
    }
  }

  /** One row is in the Tab order (roving tabindex): the focused one, else the first drawn. */
  private rove(): void {
    const current =
      (this.focusedKey !== null && this.drawn.get(this.focusedKey)) ||
      [...this.drawn.values()].reduce<Drawn<T> | null>(
        (a, b) => (a === null || b.index < a.index ? b : a),
        null
      );
    for (const d of this.drawn.values()) {
      d.el.tabIndex = d === current ? 0 : -1;
    }
  }

  /** Focus row `index`, scrolling it into view. */
  focusIndex(index: number): void {
    if (!this.items.length) {
      return;
    }
    const i = Math.min(Math.max(0, index), this.items.length - 1);
    const top = scrollTopFor(
      i,
      this.options.rowHeight,
      this.node.scrollTop,
      this.viewport()
    );
    if (top !== this.node.scrollTop) {
      this.node.scrollTop = top;
    }
    this.update();
    const d = this.drawn.get(this.options.key(this.items[i]));
    if (d) {
      this.focusedKey = d.el.dataset.key ?? null;
      this.rove();
      d.el.focus();
    }
  }

  /** The row elements in the DOM (for tests and for the sidebar's tick). */
  drawnElements(): HTMLElement[] {
    return [...this.drawn.values()].map(d => d.el);
  }

  dispose(): void {
    this.drawn.clear();
    this.node.remove();
  }

  private rowOf(target: EventTarget | null): HTMLElement | null {
    let el = target as HTMLElement | null;
    while (el && el !== this.node) {
      if (el.classList?.contains('jp-ack-row')) {
        return el;
      }
      el = el.parentElement;
    }
    return null;
  }

  private entry(row: HTMLElement): Drawn<T> | undefined {
    return row.dataset.key ? this.drawn.get(row.dataset.key) : undefined;
  }

  private onClick(event: MouseEvent): void {
    const row = this.rowOf(event.target);
    const d = row && this.entry(row);
    if (d && this.options.activate) {
      this.options.activate(d.item, d.index, event);
    }
  }

  private onKeydown(event: KeyboardEvent): void {
    const row = this.rowOf(event.target);
    const d = row && this.entry(row);
    if (!d) {
      if (event.target === this.node && event.key === 'ArrowDown') {
        event.preventDefault();
        this.focusIndex(0);
      }
      return;
    }
    if (this.options.keydown && this.options.keydown(d.item, d.index, event)) {
      event.preventDefault();
      return;
    }
    const page = Math.max(
      1,
      Math.floor(this.viewport() / this.options.rowHeight) - 1
    );
    switch (event.key) {
      case 'Enter':
        this.options.activate?.(d.item, d.index, event);
        break;
      case 'ArrowDown':
        this.focusIndex(d.index + 1);
        break;
      case 'ArrowUp':
        this.focusIndex(d.index - 1);
        break;
      case 'PageDown':
        this.focusIndex(d.index + page);
        break;
      case 'PageUp':
        this.focusIndex(d.index - page);
        break;
      case 'Home':
        this.focusIndex(0);
        break;
      case 'End':
        this.focusIndex(this.items.length - 1);
        break;
      default:
        return;
    }
    event.preventDefault();
  }
}
