// The step graph of a run as SVG, from the shared layout JSON and the theme JSON: the same
// picture as jupyter_ack/render/svg.py and the notebook panel (boxes with a type band, status
// colours, edges by kind, branch groups). Every name is set as text (textContent), never
// parsed as markup.

import type { Layout, LayoutNode, Point, StepStatus, Theme } from './types';

export const SVG_NS = 'http://www.w3.org/2000/svg';

const IDLE: [string, string] = ['#ffffff', '#cbd5e1'];
const DEFAULT_TYPE = '#64748b';

/** The theme as CSS custom properties `--jack-*` on `root` (as the notebook panel sets). */
export function applyTheme(
  root: HTMLElement | SVGElement,
  theme: Theme | null | undefined
): void {
  if (!theme) {
    return;
  }
  const vars: Record<string, string | undefined> = {
    text: theme.text,
    muted: theme.muted,
    danger: theme.danger,
    ok: theme.ok,
    running: theme.running
  };
  for (const [kind, pair] of Object.entries(theme.edges ?? {})) {
    vars[`edge-${kind}`] = pair[0];
    vars[`dash-${kind}`] = pair[1] || 'none';
  }
  for (const [state, pair] of Object.entries(theme.status ?? {})) {
    vars[`status-${state}`] = pair[1];
    vars[`status-fill-${state}`] = pair[0];
  }
  for (const [name, value] of Object.entries(vars)) {
    if (value) {
      root.style.setProperty(`--jack-${name}`, value);
    }
  }
}

const num = (v: number): string => String(Math.round(v * 100) / 100);

/** SVG path data through the points: curves between layers, straight lines within (as
 * `render.svg.edge_path`). */
export function edgePath(points: readonly Point[]): string {
  if (!points || points.length < 2) {
    return '';
  }
  const [x0, y0] = points[0];
  const [xn, yn] = points[points.length - 1];
  if (points.length === 2 && yn <= y0) {
    // a back edge of a cycle: loop around on the right
    return `M${num(x0)},${num(y0)} C${num(x0 + 120)},${num(y0 + 60)} ${num(xn + 120)},${num(yn - 60)} ${num(xn)},${num(yn - 1)}`;
  }
  const parts = [`M${num(x0)},${num(y0)}`];
  for (let i = 1; i < points.length; i++) {
    const [xa, ya] = points[i - 1];
    const [xb, yb] = points[i];
    const ybEnd = i === points.length - 1 ? yb - 1 : yb;
    if (xa === xb) {
      parts.push(`L${num(xb)},${num(ybEnd)}`);
    } else {
      const bend = Math.max(16, (yb - ya) / 2);
      parts.push(
        `C${num(xa)},${num(ya + bend)} ${num(xb)},${num(yb - bend)} ${num(xb)},${num(ybEnd)}`
      );
    }
  }
  return parts.join(' ');
}

export interface DagNode {
  node: LayoutNode;
  g: SVGGElement;
  box: SVGRectElement;
  sub: SVGTextElement;
  tip: SVGTitleElement;
}

export interface Dag {
  svg: SVGSVGElement;
  nodes: Map<string, DagNode>;
}

function svgEl<K extends keyof SVGElementTagNameMap>(
  doc: Document,
  tag: K,
  attrs: Record<string, string | number> = {}
): SVGElementTagNameMap[K] {
  const el = doc.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    el.setAttribute(k, String(v));
  }
  return el;
}

let counter = 0;

/** (fill, stroke) of a box in this status; the idle pair for none or an unknown one. */
export function statusColours(
  theme: Theme,
  status: string | null | undefined
): [string, string] {
  return (status && theme.status?.[status]) || theme.idle || IDLE;
}

/** The SVG of a layout; each node a `<g class="jp-ack-node" data-step data-status>`. */
export function buildDag(
  layout: Layout,
  theme: Theme,
  options: { title?: string; document?: Document } = {}
): Dag {
  const doc = options.document ?? document;
  const uid = `jp-ack-dag-${++counter}`;
  const w = Math.max(layout.width || 0, 120);
  const h = Math.max(layout.height || 0, 40);
  const svg = svgEl(doc, 'svg', {
    class: 'jp-ack-dag',
    width: num(w),
    height: num(h),
    viewBox: `0 0 ${num(w)} ${num(h)}`,
    role: 'img'
  });
  svg.setAttribute('aria-label', `${options.title ?? 'pipeline'} steps`);
  applyTheme(svg, theme);
  const title = svgEl(doc, 'title');
  title.textContent = options.title ?? 'pipeline';
  svg.appendChild(title);
  const edges = theme.edges ?? {};
  const defs = svgEl(doc, 'defs');
  const kinds = new Set([
    ...Object.keys(edges),
    ...layout.edges.map(e => e.kind)
  ]);
  const markerOf = new Map<string, string>();
  let mi = 0;
  for (const kind of kinds) {
    const id = `${uid}-m${mi++}`;
    markerOf.set(kind, id);
    const marker = svgEl(doc, 'marker', {
      id,
      viewBox: '0 0 10 10',
      refX: 9,
      refY: 5,
      markerWidth: 7,
      markerHeight: 7,
      orient: 'auto-start-reverse'
    });
    marker.appendChild(
      svgEl(doc, 'path', {
        d: 'M0,0L10,5L0,10z',
        fill: (edges[kind] ?? edges.data ?? ['#475569'])[0]
      })
    );
    defs.appendChild(marker);
  }
  svg.appendChild(defs);

  for (const group of layout.groups ?? []) {
    const g = svgEl(doc, 'g', { class: 'jp-ack-group' });
    g.dataset.parent = group.parent;
    g.dataset.branch = group.branch ?? '';
    g.appendChild(
      svgEl(doc, 'rect', {
        x: num(group.x),
        y: num(group.y),
        width: num(group.width),
        height: num(group.height),
        rx: 10,
        fill: 'none',
        stroke: theme.muted ?? DEFAULT_TYPE,
        'stroke-dasharray': '5 4',
        'stroke-width': 1
      })
    );
    const label = svgEl(doc, 'text', {
      x: num(group.x + 8),
      y: num(group.y + 14),
      class: 'jp-ack-group-label',
      'font-size': 11,
      fill: theme.muted ?? DEFAULT_TYPE
    });
    label.textContent = group.label;
    const tip = svgEl(doc, 'title');
    tip.textContent = `${group.parent}: ${group.branch ?? ''}`;
    g.append(tip, label);
    svg.appendChild(g);
  }

  if (!layout.nodes.length) {
    const empty = svgEl(doc, 'text', {
      x: num(w / 2),
      y: num(h / 2),
      'text-anchor': 'middle',
      fill: theme.muted ?? DEFAULT_TYPE
    });
    empty.textContent = 'no steps';
    svg.appendChild(empty);
  }

  for (const e of layout.edges) {
    if (!e.points || e.points.length < 2) {
      continue;
    }
    const [colour, dash] = edges[e.kind] ?? edges.data ?? ['#475569', ''];
    const path = svgEl(doc, 'path', {
      class: `jp-ack-edge jp-ack-edge-${e.kind.replace(/[^A-Za-z0-9_-]/g, '')}`,
      d: edgePath(e.points),
      fill: 'none',
      stroke: colour,
      'stroke-width': 1.4,
      'marker-end': `url(#${markerOf.get(e.kind)})`
    });
    if (dash) {
      path.setAttribute('stroke-dasharray', dash);
    }
    path.dataset.from = e.from;
    path.dataset.to = e.to;
    path.dataset.kind = e.kind;
    const tip = svgEl(doc, 'title');
    tip.textContent = `${e.from} \u2192 ${e.to} (${e.kind.replace(/_/g, ' ')})`;
    path.appendChild(tip);
    svg.appendChild(path);
    if (e.label) {
      const [[x1, y1], [x2, y2]] = e.points;
      const label = svgEl(doc, 'text', {
        x: num((x1 + x2) / 2 + 4),
        y: num((y1 + y2) / 2),
        'font-size': 11,
        class: 'jp-ack-edge-label',
        fill: (edges.condition ?? [colour])[0]
      });
      label.textContent = e.label;
      svg.appendChild(label);
    }
  }

  const nodes = new Map<string, DagNode>();
  for (const n of layout.nodes) {
    const g = svgEl(doc, 'g', { class: 'jp-ack-node' });
    g.dataset.step = n.name;
    const tip = svgEl(doc, 'title');
    const box = svgEl(doc, 'rect', {
      class: 'jp-ack-box',
      x: num(n.x),
      y: num(n.y),
      width: num(n.width),
      height: num(n.height),
      rx: 7,
      'stroke-width': 1.5
    });
    const band = svgEl(doc, 'rect', {
      class: 'jp-ack-band',
      x: num(n.x),
      y: num(n.y),
      width: 5,
      height: num(n.height),
      rx: 2,
      fill:
        (n.type && theme.types?.[n.type]) || theme.default_type || DEFAULT_TYPE
    });
    const label = svgEl(doc, 'text', {
      class: 'jp-ack-label',
      x: num(n.x + 14),
      y: num(n.y + 20),
      'font-size': 12.5,
      'font-weight': 600,
      fill: theme.text ?? '#0f172a'
    });
    label.textContent = n.label;
    const sub = svgEl(doc, 'text', {
      class: 'jp-ack-sub',
      x: num(n.x + 14),
      y: num(n.y + 36),
      'font-size': 11,
      fill: theme.muted ?? DEFAULT_TYPE
    });
    g.append(tip, box, band, label, sub);
    svg.appendChild(g);
    const entry: DagNode = { node: n, g, box, sub, tip };
    nodes.set(n.name, entry);
    setNodeStatus(entry, theme, n.status ?? null, null);
  }
  return { svg, nodes };
}

/** Colour a node for a step status (and the step, for the reused mark and its tooltip). */
export function setNodeStatus(
  entry: DagNode,
  theme: Theme,
  status: string | null,
  step: StepStatus | null
): void {
  const [fill, stroke] = statusColours(theme, status);
  entry.box.setAttribute('fill', fill);
  entry.box.setAttribute('stroke', stroke);
  entry.g.dataset.status = status ?? '';
  const type = entry.node.type || '?';
  const reused = Boolean(step?.from_run);
  entry.g.classList.toggle('jp-ack-node-reused', reused);
  entry.sub.textContent = status
    ? `${type} \u00b7 ${status}${reused ? ' \u00b7 reused' : ''}`
    : type;
  let tip = `${entry.node.name} (${entry.node.type || 'no type'})`;
  if (status) {
    tip += `: ${status}`;
  }
  if (step?.failure_reason) {
    tip += `\n${step.failure_reason}`;
  }
  entry.tip.textContent = tip;
}

/** Colour every node from a run's steps; a step the run does not list keeps the layout's. */
export function applySteps(
  dag: Dag,
  theme: Theme,
  steps: readonly StepStatus[] | undefined
): void {
  const byName = new Map((steps ?? []).map(s => [s.name, s]));
  for (const [name, entry] of dag.nodes) {
    const step = byName.get(name) ?? null;
    setNodeStatus(
      entry,
      theme,
      step ? step.status : (entry.node.status ?? null),
      step
    );
  }
}
