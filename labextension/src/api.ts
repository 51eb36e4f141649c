// The REST routes of docs/server.md through Jupyter's ServerConnection (token or cookie, and
// the XSRF header on POST).

import { ServerConnection } from '@jupyterlab/services';

import { apiUrl, streamUrl } from './urls';
import type {
  ContextsAnswer,
  GraphAnswer,
  NamespacesAnswer,
  PipelineStatus,
  RunStatus
} from './types';

/** An error answer `{"error", "hint"}`, or a failure to reach the Jupyter server (status 0). */
export class AckApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly hint: string | null = null
  ) {
    super(message);
    this.name = 'AckApiError';
  }

  /** `403: message` and the hint, for a banner or a notification. */
  describe(): string {
    const head = this.status ? `${this.status}: ${this.message}` : this.message;
    return this.hint ? `${head} (${this.hint})` : head;
  }
}

export function describeError(err: unknown): {
  text: string;
  hint: string | null;
} {
  if (err instanceof AckApiError) {
    const what =
      err.status === 403
        ? 'Permission denied'
        : err.status === 404
          ? 'Not found'
          : err.status
            ? `Error ${err.status}`
            : 'Error';
    return { text: `${what}: ${err.message}`, hint: err.hint };
  }
  return { text: err instanceof Error ? err.message : String(err), hint: null };
}

export interface RerunBody {
  parameters: Record<string, string>;
  from_step: string | null;
  steps: string[] | null;
}

export class AckApi {
  /** kubectl's current context, once /contexts answered */
  currentContext: string | null = null;

  constructor(
    readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

  private async request<T>(
    segments: string[],
    params: Record<string, string | number | null | undefined>,
    init: RequestInit = {}
  ): Promise<T> {
    const url = apiUrl(this.settings.baseUrl, segments, params);
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, this.settings);
    } catch (err) {
      throw new AckApiError(
        0,
        `The Jupyter server does not answer (${err instanceof Error ? err.message : String(err)})`
      );
    }
    const text = await response.text();
    let data: unknown = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (!response.ok) {
      const body = (data ?? {}) as {
        error?: unknown;
        hint?: unknown;
        message?: unknown;
      };
      let message = typeof body.error === 'string' ? body.error : '';
      if (!message && typeof body.message === 'string') {
        message = body.message;
      }
      if (!message) {
        message =
          response.status === 404 && segments[0] === 'contexts'
            ? 'the jupyter-ack server extension is not enabled'
            : response.statusText || 'request failed';
      }
      throw new AckApiError(
        response.status,
        message,
        typeof body.hint === 'string' ? body.hint : null
      );
    }
    return data as T;
  }

  async contexts(): Promise<ContextsAnswer> {
    const answer = await this.request<ContextsAnswer>(['contexts'], {});
    this.currentContext = answer.current ?? null;
    return answer;
  }

  namespaces(context: string): Promise<NamespacesAnswer> {
    return this.request(['namespaces'], { context });
  }

  pipelines(
    namespace: string,
    context: string
  ): Promise<{ items: PipelineStatus[] }> {
    return this.request(['namespaces', namespace, 'pipelines'], { context });
  }

  runs(
    namespace: string,
    context: string,
    options: {
      pipeline?: string;
      limit?: number;
      continue?: string | null;
    } = {}
  ): Promise<{ items: RunStatus[]; continue: string | null }> {
    return this.request(['namespaces', namespace, 'runs'], {
      context,
      pipeline: options.pipeline,
      limit: options.limit,
      continue: options.continue
    });
  }

  /** Every run, page by page (at most `maxPages` pages). */
  async allRuns(
    namespace: string,
    context: string,
    pageSize = 500,
    maxPages = 40
  ): Promise<RunStatus[]> {
    const out: RunStatus[] = [];
    let token: string | null = null;
    for (let page = 0; page < maxPages; page++) {
      const answer: { items: RunStatus[]; continue: string | null } =
        await this.runs(namespace, context, {
          limit: pageSize,
          continue: token
        });
      out.push(...(answer.items ?? []));
      token = answer.continue ?? null;
      if (!token) {
        break;
      }
    }
    return out;
  }

  run(namespace: string, name: string, context: string): Promise<RunStatus> {
    return this.request(['namespaces', namespace, 'runs', name], { context });
  }

  graph(
    namespace: string,
    name: string,
    context: string
  ): Promise<GraphAnswer> {
    return this.request(['namespaces', namespace, 'runs', name, 'graph'], {
      context
    });
  }

  /** The PipelineExecution as one would apply it again (no status, no server fields). */
  manifest(
    namespace: string,
    name: string,
    context: string
  ): Promise<Record<string, unknown>> {
    return this.request(['namespaces', namespace, 'runs', name, 'manifest'], {
      context
    });
  }

  stop(
    namespace: string,
    name: string,
    context: string
  ): Promise<{ message: string; warning: string | null }> {
    return this.request(
      ['namespaces', namespace, 'runs', name, 'stop'],
      { context },
      {
        method: 'POST',
        body: '{}'
      }
    );
  }

  rerun(
    namespace: string,
    name: string,
    context: string,
    body: RerunBody
  ): Promise<{ name: string }> {
    return this.request(
      ['namespaces', namespace, 'runs', name, 'rerun'],
      { context },
      {
        method: 'POST',
        body: JSON.stringify(body)
      }
    );
  }

  /** The stream's WebSocket URL (token appended when the settings carry one). */
  streamUrl(namespace: string, context: string): string {
    return streamUrl(
      this.settings.wsUrl,
      namespace,
      context,
      this.settings.token || null
    );
  }
}
