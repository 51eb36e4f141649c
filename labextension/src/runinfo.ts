// Small facts about a run view: its widget id, the kubectl command, the step signature.

import type { StepStatus } from './types';

export function runViewId(namespace: string, name: string): string {
  return `jupyter-ack-run-${namespace}-${name}`;
}

/** `kubectl get pipelineexecution NAME -n NS -o yaml`, with `--context` only for a context that
 * is not kubectl's current one (null: the current one). */
export function kubectlCommand(
  name: string,
  namespace: string,
  context: string | null = null
): string {
  const ctx = context ? ` --context ${shellWord(context)}` : '';
  return `kubectl get pipelineexecution ${shellWord(name)} -n ${shellWord(namespace)}${ctx} -o yaml`;
}

/** A word for a POSIX shell: as is when safe, else single-quoted. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word)
    ? word
    : `'${word.replace(/'/g, "'\\''")}'`;
}

/** `name=status|…` of the steps: when it changes, the graph is fetched again. */
export function stepSignature(
  steps: readonly StepStatus[] | undefined
): string {
  return (steps ?? []).map(s => `${s.name}=${s.status}`).join('|');
}
