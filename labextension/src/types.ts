// The JSON shapes of docs/server.md. Every string in them may come from a user (run, step,
// pipeline and parameter names): the views set them as text, never as markup.

export interface StepStatus {
  name: string;
  status: string;
  display_name?: string | null;
  start?: string | null;
  end?: string | null;
  failure_reason?: string | null;
  attempt?: number | null;
  cache_hit?: string | null;
  from_run?: string | null;
  job_arn?: string | null;
  console_url?: string | null;
  logs_url?: string | null;
}

/** An ACK condition of the PipelineExecution object, as Kubernetes writes it. */
export interface Condition {
  type?: string;
  status?: string;
  reason?: string | null;
  message?: string | null;
  lastTransitionTime?: string | null;
  [key: string]: unknown;
}

export interface RunStatus {
  name: string;
  namespace: string;
  pipeline: string;
  /** Pending, Executing, Stopping, Stopped, Failed or Succeeded */
  status: string;
  failure_reason?: string | null;
  problem?: string | null;
  synced?: string | null;
  arn?: string | null;
  region?: string | null;
  start?: string | null;
  end?: string | null;
  parameters?: Record<string, string>;
  steps?: StepStatus[];
  steps_source?: string;
  conditions?: Condition[];
  in_cluster?: boolean;
  unreachable?: string | null;
  selected_steps?: string[];
  finished?: boolean;
  failed?: boolean;
  failed_step?: string | null;
}

export interface PipelineStatus {
  name: string;
  namespace: string;
  pipeline: string;
  status: string;
  problem?: string | null;
  synced?: string | null;
  arn?: string | null;
  created?: string | null;
  sha256?: string | null;
  s3_uri?: string | null;
  version_id?: string | null;
}

export type Point = [number, number];

export interface LayoutNode {
  name: string;
  label: string;
  type?: string | null;
  x: number;
  y: number;
  width: number;
  height: number;
  layer?: number;
  parent?: string | null;
  branch?: string | null;
  status?: string | null;
}

export interface LayoutEdge {
  from: string;
  to: string;
  kind: string;
  points: Point[];
  label?: string | null;
}

export interface LayoutGroup {
  parent: string;
  branch: string | null;
  label: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Layout {
  width: number;
  height: number;
  nodes: LayoutNode[];
  edges: LayoutEdge[];
  groups?: LayoutGroup[];
}

/** `jupyter_ack.render.theme.to_json()`: [fill, stroke] pairs and [colour, dash] pairs. */
export interface Theme {
  types?: Record<string, string>;
  default_type?: string;
  status?: Record<string, [string, string]>;
  idle?: [string, string];
  edges?: Record<string, [string, string]>;
  diff?: Record<string, [string, string]>;
  text?: string;
  muted?: string;
  danger?: string;
  ok?: string;
  running?: string;
}

export interface GraphAnswer {
  layout: Layout;
  theme: Theme;
  run: RunStatus;
}

export interface Health {
  reachable: boolean;
  problem: string | null;
}

export interface ContextsAnswer {
  contexts: string[];
  current: string;
  namespace: string;
  /** not in docs/server.md: taken when the server sends it */
  theme?: Theme;
}

export interface NamespacesAnswer {
  items: string[];
  default: string;
}

export interface SnapshotMessage {
  type: 'snapshot';
  pipelines: PipelineStatus[];
  runs: RunStatus[];
  health?: Health;
  /** not in docs/server.md: taken when the server sends it */
  theme?: Theme;
}

export interface ChangesMessage {
  type: 'changes';
  pipelines?: PipelineStatus[];
  runs?: RunStatus[];
  deleted?: { pipelines?: string[]; runs?: string[] };
}

export interface HealthMessage {
  type: 'health';
  reachable: boolean;
  problem: string | null;
}

export interface RunMessage {
  type: 'run';
  run: RunStatus;
}

export interface ErrorMessage {
  type: 'error';
  status: number;
  error: string;
  hint: string | null;
}

export type ServerMessage =
  SnapshotMessage | ChangesMessage | HealthMessage | RunMessage | ErrorMessage;

/** Statuses after which a run does not change any more. */
export const FINISHED_STATUSES: readonly string[] = [
  'Succeeded',
  'Failed',
  'Stopped'
];

/** Finished: SageMaker ended it, or ACK cannot start it (a terminal problem). */
export function isFinished(run: RunStatus): boolean {
  if (typeof run.finished === 'boolean') {
    return run.finished;
  }
  return (
    FINISHED_STATUSES.includes(run.status) ||
    (Boolean(run.problem) && run.synced === 'terminal')
  );
}

/** The first failed step's name, from the server's field or from the steps. */
export function failedStep(run: RunStatus): string | null {
  if (run.failed_step) {
    return run.failed_step;
  }
  const step = (run.steps ?? []).find(s => s.status === 'Failed');
  return step ? step.name : null;
}
