// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';

import {
  applySteps,
  applyTheme,
  buildDag,
  edgePath,
  statusColours
} from '../src/dag';
import { EVIL, THEME, layout } from './fixtures';

describe('edgePath', () => {
  it('draws a straight line within a column, ending a pixel short', () => {
    expect(
      edgePath([
        [110, 66],
        [110, 110]
      ])
    ).toBe('M110,66 L110,109');
  });

  it('curves between columns', () => {
    expect(
      edgePath([
        [110, 156],
        [310, 200]
      ])
    ).toBe('M110,156 C110,178 310,178 310,199');
  });

  it('bends at least 16px', () => {
    expect(
      edgePath([
        [0, 0],
        [50, 10]
      ])
    ).toBe('M0,0 C0,16 50,-6 50,9');
  });

  it('loops a back edge around on the right', () => {
    expect(
      edgePath([
        [10, 100],
        [10, 20]
      ])
    ).toBe('M10,100 C130,160 130,-40 10,19');
  });

  it('goes through every point', () => {
    expect(
      edgePath([
        [0, 0],
        [0, 40],
        [30, 100]
      ])
    ).toBe('M0,0 L0,40 C0,70 30,70 30,99');
  });

  it('is empty for fewer than two points', () => {
    expect(edgePath([[1, 2]])).toBe('');
  });
});

describe('buildDag', () => {
  it('draws a node per step with its name and status as attributes', () => {
    const dag = buildDag(layout(), THEME, { title: 'run-1' });
    expect(dag.svg.getAttribute('class')).toBe('jp-ack-dag');
    const nodes = dag.svg.querySelectorAll('g.jp-ack-node');
    expect(nodes).toHaveLength(4);
    const prep = dag.svg.querySelector('g.jp-ack-node[data-step="prep"]');
    expect(prep?.getAttribute('data-status')).toBe('Succeeded');
    expect(
      dag.svg
        .querySelector('g.jp-ack-node[data-step="skip"]')
        ?.getAttribute('data-status')
    ).toBe('');
  });

  it('sets every name as text, never as markup', () => {
    const dag = buildDag(layout(), THEME);
    expect(dag.svg.querySelector('img')).toBeNull();
    const evil = dag.nodes.get(EVIL);
    expect(evil?.g.dataset.step).toBe(EVIL);
    expect(evil?.g.querySelector('text.jp-ack-label')?.textContent).toBe(
      '<img src=x onerr\u2026'
    );
    // the full name in the tooltip
    expect(evil?.g.querySelector('title')?.textContent).toBe(
      `${EVIL} (Training): Failed`
    );
    const edgeTip = [...dag.svg.querySelectorAll('path.jp-ack-edge title')].map(
      t => t.textContent
    );
    expect(edgeTip).toContain(`check \u2192 ${EVIL} (condition)`);
  });

  it('colours boxes by status and bands by type from the theme', () => {
    const dag = buildDag(layout(), THEME);
    const box = (name: string) => dag.nodes.get(name)!.box;
    expect(box('prep').getAttribute('fill')).toBe('#dcfce7');
    expect(box('prep').getAttribute('stroke')).toBe('#16a34a');
    expect(box(EVIL).getAttribute('stroke')).toBe('#dc2626');
    expect(box('skip').getAttribute('fill')).toBe('#ffffff'); // idle
    const band = (name: string) =>
      dag.nodes.get(name)!.g.querySelector('rect.jp-ack-band');
    expect(band('prep')?.getAttribute('fill')).toBe('#3b82f6');
    expect(band('skip')?.getAttribute('fill')).toBe('#64748b'); // no type: the default band
    expect(dag.nodes.get('skip')!.sub.textContent).toBe('?');
    expect(dag.nodes.get('prep')!.sub.textContent).toBe(
      'Processing \u00b7 Succeeded'
    );
  });

  it('draws edges by kind with the theme colours and dashes', () => {
    const dag = buildDag(layout(), THEME);
    const edges = [...dag.svg.querySelectorAll('path.jp-ack-edge')];
    expect(edges.map(e => e.getAttribute('data-kind'))).toEqual([
      'data',
      'condition',
      'depends_on'
    ]);
    const dep = edges[2];
    expect(dep.getAttribute('stroke')).toBe('#94a3b8');
    expect(dep.getAttribute('stroke-dasharray')).toBe('6 4');
    expect(dep.getAttribute('class')).toContain('jp-ack-edge-depends_on');
    expect(edges[0].hasAttribute('stroke-dasharray')).toBe(false);
    const marker = edges[0].getAttribute('marker-end')!.slice(5, -1);
    expect(
      dag.svg.querySelector(`marker[id="${marker}"] path`)?.getAttribute('fill')
    ).toBe('#475569');
    const labels = [...dag.svg.querySelectorAll('text.jp-ack-edge-label')].map(
      t => t.textContent
    );
    expect(labels).toEqual(['if', 'else']);
  });

  it('draws the branch groups when the layout has them', () => {
    const dag = buildDag(layout(), THEME);
    const groups = [...dag.svg.querySelectorAll('g.jp-ack-group')];
    expect(groups).toHaveLength(2);
    expect(groups[0].getAttribute('data-parent')).toBe('check');
    expect(groups[0].getAttribute('data-branch')).toBe('if');
    expect(groups[0].querySelector('text')?.textContent).toBe('check: if');
    const rect = groups[1].querySelector('rect');
    expect(rect?.getAttribute('x')).toBe('210');
    expect(rect?.getAttribute('width')).toBe('200');
  });

  it('draws no groups when the layout has none, and says when there are no steps', () => {
    const plain = { ...layout(), groups: undefined };
    expect(
      buildDag(plain, THEME).svg.querySelectorAll('g.jp-ack-group')
    ).toHaveLength(0);
    const empty = buildDag(
      { width: 0, height: 0, nodes: [], edges: [] },
      THEME
    );
    expect(empty.svg.getAttribute('width')).toBe('120');
    expect(empty.svg.textContent).toContain('no steps');
  });

  it('keeps marker ids unique between two graphs on one page', () => {
    const a = buildDag(layout(), THEME).svg.querySelector('marker')!.id;
    const b = buildDag(layout(), THEME).svg.querySelector('marker')!.id;
    expect(a).not.toBe(b);
  });

  it("recolours nodes from a run's steps", () => {
    const dag = buildDag(layout(), THEME);
    applySteps(dag, THEME, [
      { name: 'skip', status: 'Executing' },
      { name: 'prep', status: 'Succeeded', from_run: 'arn:aws:...:old' },
      { name: EVIL, status: 'Failed', failure_reason: 'OOM <b>' }
    ]);
    const skip = dag.nodes.get('skip')!;
    expect(skip.g.dataset.status).toBe('Executing');
    expect(skip.box.getAttribute('fill')).toBe('#bfdbfe');
    expect(
      dag.nodes.get('prep')!.g.classList.contains('jp-ack-node-reused')
    ).toBe(true);
    expect(dag.nodes.get('prep')!.sub.textContent).toBe(
      'Processing \u00b7 Succeeded \u00b7 reused'
    );
    expect(dag.nodes.get(EVIL)!.tip.textContent).toBe(
      `${EVIL} (Training): Failed\nOOM <b>`
    );
    // a step the run does not list keeps the layout's status
    applySteps(dag, THEME, []);
    expect(dag.nodes.get('check')!.g.dataset.status).toBe('Succeeded');
  });

  it('falls back to the idle colours for an unknown status', () => {
    expect(statusColours(THEME, 'Weird')).toEqual(['#ffffff', '#cbd5e1']);
    expect(statusColours({}, 'Failed')).toEqual(['#ffffff', '#cbd5e1']);
  });
});

describe('applyTheme', () => {
  it('sets the palette as --jack-* custom properties (as the notebook panel does)', () => {
    const root = document.createElement('div');
    applyTheme(root, THEME);
    expect(root.style.getPropertyValue('--jack-status-Failed')).toBe('#dc2626');
    expect(root.style.getPropertyValue('--jack-edge-depends_on')).toBe(
      '#94a3b8'
    );
    expect(root.style.getPropertyValue('--jack-dash-data')).toBe('none');
    expect(root.style.getPropertyValue('--jack-running')).toBe('#1d4ed8');
  });
});
