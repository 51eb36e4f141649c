// Which rows of a fixed-row-height list are in the DOM for a scroll position.

export interface VirtualWindow {
  /** first row drawn */
  start: number;
  /** one past the last row drawn */
  end: number;
  /** top of the first row drawn, in px */
  offset: number;
  /** height of the whole list, in px */
  total: number;
}

/**
 * The rows that meet the viewport, plus `overscan` rows each side. A scrollTop beyond the end
 * (the list shrank under the scroll position) is clamped.
 */
export function computeWindow(
  count: number,
  rowHeight: number,
  scrollTop: number,
  viewportHeight: number,
  overscan = 6
): VirtualWindow {
  const total = Math.max(0, count) * rowHeight;
  if (count <= 0 || rowHeight <= 0) {
    return { start: 0, end: 0, offset: 0, total: 0 };
  }
  const height = Math.max(0, viewportHeight);
  const top = Math.min(Math.max(0, scrollTop), Math.max(0, total - height));
  const first = Math.floor(top / rowHeight);
  const last = Math.ceil((top + height) / rowHeight); // exclusive
  const start = Math.max(0, first - overscan);
  const end = Math.min(count, Math.max(last, first + 1) + overscan);
  return { start, end, offset: start * rowHeight, total };
}

/** The scrollTop that shows row `index` whole, moving as little as possible. */
export function scrollTopFor(
  index: number,
  rowHeight: number,
  scrollTop: number,
  viewportHeight: number
): number {
  const top = index * rowHeight;
  const bottom = top + rowHeight;
  if (top < scrollTop) {
    return top;
  }
  if (bottom > scrollTop + viewportHeight) {
    return Math.max(0, bottom - viewportHeight);
  }
  return scrollTop;
}
