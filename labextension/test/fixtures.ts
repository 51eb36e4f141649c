import type { Layout, PipelineStatus, RunStatus, Theme } from '../src/types';

export function run(name: string, fields: Partial<RunStatus> = {}): RunStatus {
  return {
    name,
    namespace: 'ml',
    pipeline: 'train',
    status: 'Succeeded',
    start: '2024-05-01T10:00:00Z',
    end: '2024-05-01T10:05:00Z',
    parameters: {},
    ...fields
  };
}

export function pipeline(
  name: string,
  fields: Partial<PipelineStatus> = {}
): PipelineStatus {
  return { name, namespace: 'ml', pipeline: name, status: 'Active', ...fields };
}

/** The palette of jupyter_ack.render.theme.to_json(). */
export const THEME: Theme = {
  types: { Processing: '#3b82f6', Training: '#8b5cf6', Condition: '#f59e0b' },
  default_type: '#64748b',
  status: {
    Starting: ['#dbeafe', '#2563eb'],
    Executing: ['#bfdbfe', '#1d4ed8'],
    Stopping: ['#e5e7eb', '#6b7280'],
    Stopped: ['#e5e7eb', '#4b5563'],
    Failed: ['#fee2e2', '#dc2626'],
    Succeeded: ['#dcfce7', '#16a34a']
  },
  idle: ['#ffffff', '#cbd5e1'],
  edges: {
    data: ['#475569', ''],
    property_file: ['#b45309', '2 3'],
    depends_on: ['#94a3b8', '6 4'],
    condition: ['#d97706', '']
  },
  text: '#0f172a',
  muted: '#64748b',
  danger: '#dc2626',
  ok: '#16a34a',
  running: '#1d4ed8'
};

export const EVIL = '<img src=x onerror=alert(1)>';

export function layout(): Layout {
  return {
    width: 400,
    height: 300,
    nodes: [
      {
        name: 'prep',
        label: 'prep',
        type: 'Processing',
        x: 20,
        y: 20,
        width: 180,
        height: 46,
        layer: 0,
        parent: null,
        branch: null,
        status: 'Succeeded'
      },
      {
        name: 'check',
        label: 'check',
        type: 'Condition',
        x: 20,
        y: 110,
        width: 180,
        height: 46,
        layer: 1,
        parent: null,
        branch: null,
        status: 'Succeeded'
      },
      {
        name: EVIL,
        label: '<img src=x onerr\u2026',
        type: 'Training',
        x: 20,
        y: 200,
        width: 180,
        height: 46,
        layer: 2,
        parent: 'check',
        branch: 'if',
        status: 'Failed'
      },
      {
        name: 'skip',
        label: 'skip',
        type: null,
        x: 220,
        y: 200,
        width: 180,
        height: 46,
        layer: 2,
        parent: 'check',
        branch: 'else',
        status: null
      }
    ],
    edges: [
      {
        from: 'prep',
        to: 'check',
        kind: 'data',
        points: [
          [110, 66],
          [110, 110]
        ],
        label: null
      },
      {
        from: 'check',
        to: EVIL,
        kind: 'condition',
        points: [
          [110, 156],
          [110, 200]
        ],
        label: 'if'
      },
      {
        from: 'check',
        to: 'skip',
        kind: 'depends_on',
        points: [
          [110, 156],
          [310, 200]
        ],
        label: 'else'
      }
    ],
    groups: [
      {
        parent: 'check',
        branch: 'if',
        label: 'check: if',
        x: 10,
        y: 190,
        width: 200,
        height: 66
      },
      {
        parent: 'check',
        branch: 'else',
        label: 'check: else',
        x: 210,
        y: 190,
        width: 200,
        height: 66
      }
    ]
  };
}
