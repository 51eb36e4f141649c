import { describe, expect, it } from 'vitest';

import { computeWindow, scrollTopFor } from '../src/virtual';

describe('computeWindow', () => {
  it('draws the visible rows and the overscan', () => {
    // 28px rows, a 280px viewport scrolled to row 100
    expect(computeWindow(5000, 28, 2800, 280, 5)).toEqual({
      start: 95,
      end: 115,
      offset: 95 * 28,
      total: 5000 * 28
    });
  });

  it('starts at zero at the top', () => {
    expect(computeWindow(5000, 28, 0, 280, 5)).toMatchObject({
      start: 0,
      end: 15
    });
  });

  it('clamps a scroll past the end (the list shrank)', () => {
    const w = computeWindow(50, 20, 99999, 200, 2);
    expect(w.end).toBe(50);
    expect(w.start).toBe(50 - 10 - 2);
  });

  it('handles a partial row at the bottom', () => {
    const w = computeWindow(100, 28, 10, 100, 0);
    expect(w.start).toBe(0);
    expect(w.end).toBe(4); // rows 0..3 meet [10, 110)
  });

  it('handles lists shorter than the viewport and empty lists', () => {
    expect(computeWindow(3, 28, 0, 500)).toEqual({
      start: 0,
      end: 3,
      offset: 0,
      total: 84
    });
    expect(computeWindow(0, 28, 0, 500)).toEqual({
      start: 0,
      end: 0,
      offset: 0,
      total: 0
    });
  });

  it('draws at least one row in a hidden (zero-height) viewport', () => {
    const w = computeWindow(10, 28, 0, 0, 0);
    expect(w.end - w.start).toBe(1);
  });

  it('keeps the window small whatever the length', () => {
    for (const count of [10, 1000, 5000, 100000]) {
      const w = computeWindow(count, 28, (count * 28) / 2, 600, 6);
      expect(w.end - w.start).toBeLessThanOrEqual(Math.ceil(600 / 28) + 1 + 12);
    }
  });
});

describe('scrollTopFor', () => {
  it('scrolls up to a row above', () => {
    expect(scrollTopFor(2, 28, 280, 280)).toBe(56);
  });

  it('scrolls down just enough for a row below', () => {
    expect(scrollTopFor(20, 28, 0, 280)).toBe(21 * 28 - 280);
  });

  it('stays put for a visible row', () => {
    expect(scrollTopFor(3, 28, 0, 280)).toBe(0);
  });
});
