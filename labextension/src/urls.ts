// URLs of the server routes (docs/server.md), built without JupyterLab so they can be tested.

export const API_ROOT = 'jupyter-ack/api';

/** `a/b/` + `c` → `a/b/c`, with no doubled or missing slashes. */
export function joinUrl(base: string, ...parts: string[]): string {
  let out = base.replace(/\/+$/, '');
  for (const part of parts) {
    const p = part.replace(/^\/+|\/+$/g, '');
    if (p) {
      out = out ? `${out}/${p}` : p;
    }
  }
  return out;
}

/** The query string (with its `?`) of the defined, non-empty values, or ''. */
export function query(
  params: Record<string, string | number | null | undefined>
): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') {
      parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
    }
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

/** The path of a route under the API root, each segment encoded. */
export function apiUrl(
  baseUrl: string,
  segments: readonly string[],
  params: Record<string, string | number | null | undefined> = {}
): string {
  return (
    joinUrl(baseUrl, API_ROOT, ...segments.map(s => encodeURIComponent(s))) +
    query(params)
  );
}

/** The stream's WebSocket URL: `?context=` when one is picked, `&token=` when the settings
 * have a token (as JupyterLab's own services do). */
export function streamUrl(
  wsUrl: string,
  namespace: string,
  context: string | null,
  token: string | null
): string {
  return apiUrl(wsUrl, ['namespaces', namespace, 'stream'], {
    context: context || null,
    token: token || null
  });
}
