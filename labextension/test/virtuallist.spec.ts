// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';

import { VirtualList } from '../src/virtuallist';

interface Item {
  id: string;
  text: string;
}

const items = (n: number): Item[] =>
  Array.from({ length: n }, (_, i) => ({ id: `i${i}`, text: `row ${i}` }));

function makeList(viewport = 280, activate = vi.fn()) {
  const renders = { count: 0 };
  const list = new VirtualList<Item>({
    rowHeight: 28,
    overscan: 5,
    key: it => it.id,
    render: (el, it) => {
      renders.count++;
      el.textContent = it.text;
      el.dataset.id = it.id;
    },
    activate,
    viewportHeight: () => viewport
  });
  document.body.appendChild(list.node);
  return { list, renders, activate };
}

afterEach(() => {
  document.body.replaceChildren();
});

describe('VirtualList', () => {
  it('keeps only the visible rows (and the overscan) in the DOM with 5,000 items', () => {
    const { list } = makeList();
    list.setItems(items(5000));
    const rows = list.node.querySelectorAll('.jp-ack-row');
    expect(rows.length).toBe(15); // 10 visible + 5 overscan below
    const spacer = list.node.querySelector(
      '.jp-ack-list-spacer'
    ) as HTMLElement;
    expect(spacer.style.height).toBe(`${5000 * 28}px`);
    expect((rows[3] as HTMLElement).style.transform).toBe('translateY(84px)');
  });

  it('draws the window of the scroll position', () => {
    const { list } = makeList();
    list.setItems(items(5000));
    list.node.scrollTop = 28 * 2500;
    list.update();
    const ids = [...list.node.querySelectorAll<HTMLElement>('.jp-ack-row')].map(
      r => r.dataset.id
    );
    expect(ids).toContain('i2500');
    expect(ids).toContain('i2509');
    expect(ids).not.toContain('i0');
    expect(ids.length).toBe(20);
  });

  it('keeps unchanged rows and re-renders changed ones only', () => {
    const { list, renders } = makeList();
    const data = items(100);
    list.setItems(data);
    const first = list.node.querySelector('[data-key="i0"]');
    const before = renders.count;
    const next = [...data];
    next[1] = { id: 'i1', text: 'changed' };
    list.setItems(next);
    expect(renders.count - before).toBe(1);
    expect(list.node.querySelector('[data-key="i0"]')).toBe(first);
    expect(list.node.querySelector('[data-key="i1"]')?.textContent).toBe(
      'changed'
    );
  });

  it('moves a row when items are inserted above it', () => {
    const { list } = makeList();
    const data = items(10);
    list.setItems(data);
    const row = list.node.querySelector<HTMLElement>('[data-key="i0"]')!;
    list.setItems([{ id: 'new', text: 'new' }, ...data]);
    expect(row.style.transform).toBe('translateY(28px)');
    expect(row.getAttribute('aria-posinset')).toBe('2');
    expect(row.getAttribute('aria-setsize')).toBe('11');
  });

  it('opens a row on click and on Enter', () => {
    const { list, activate } = makeList();
    list.setItems(items(10));
    const row = list.node.querySelector<HTMLElement>('[data-key="i2"]')!;
    row.click();
    expect(activate).toHaveBeenCalledWith(
      { id: 'i2', text: 'row 2' },
      2,
      expect.anything()
    );
    row.dispatchEvent(
      new KeyboardEvent('keydown', { key: 'Enter', bubbles: true })
    );
    expect(activate).toHaveBeenCalledTimes(2);
  });

  it('moves the focus with the arrow keys, scrolling as it goes', () => {
    const { list } = makeList(84); // 3 rows visible
    list.setItems(items(100));
    list.focusIndex(0);
    expect((document.activeElement as HTMLElement).dataset.key).toBe('i0');
    for (let i = 0; i < 5; i++) {
      (document.activeElement as HTMLElement).dispatchEvent(
        new KeyboardEvent('keydown', { key: 'ArrowDown', bubbles: true })
      );
    }
    expect((document.activeElement as HTMLElement).dataset.key).toBe('i5');
    expect(list.node.scrollTop).toBe(6 * 28 - 84);
    (document.activeElement as HTMLElement).dispatchEvent(
      new KeyboardEvent('keydown', { key: 'End', bubbles: true })
    );
    expect((document.activeElement as HTMLElement).dataset.key).toBe('i99');
  });

  it('has one row in the Tab order', () => {
    const { list } = makeList();
    list.setItems(items(50));
    const tabbable = list.node.querySelectorAll('.jp-ack-row[tabindex="0"]');
    expect(tabbable).toHaveLength(1);
    list.focusIndex(3);
    const now = list.node.querySelectorAll<HTMLElement>(
      '.jp-ack-row[tabindex="0"]'
    );
    expect(now).toHaveLength(1);
    expect(now[0].dataset.key).toBe('i3');
  });

  it('empties when the items go', () => {
    const { list } = makeList();
    list.setItems(items(50));
    list.setItems([]);
    expect(list.node.querySelectorAll('.jp-ack-row')).toHaveLength(0);
  });
});
