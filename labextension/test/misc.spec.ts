import { describe, expect, it } from 'vitest';

import {
  kubectlCommand,
  runViewId,
  shellWord,
  stepSignature
} from '../src/runinfo';
import { apiUrl, joinUrl, query, streamUrl } from '../src/urls';
import { toYaml, yamlScalar } from '../src/yaml';
import { failedStep, isFinished } from '../src/types';
import { run } from './fixtures';

describe('urls', () => {
  it('joins without doubled slashes', () => {
    expect(joinUrl('http://h/base/', '/jupyter-ack/api/', 'contexts')).toBe(
      'http://h/base/jupyter-ack/api/contexts'
    );
  });

  it('builds route URLs with encoded segments and the context', () => {
    expect(
      apiUrl('http://h/', ['namespaces', 'ml', 'runs', 'a b'], {
        context: 'arn:aws:eks/x'
      })
    ).toBe(
      'http://h/jupyter-ack/api/namespaces/ml/runs/a%20b?context=arn%3Aaws%3Aeks%2Fx'
    );
    expect(query({ a: '', b: null, c: undefined })).toBe('');
    expect(query({ limit: 500, continue: 'tok' })).toBe(
      '?limit=500&continue=tok'
    );
  });

  it('builds the stream URL with the token when there is one', () => {
    expect(streamUrl('ws://h/user/me/', 'ml', 'prod', 'abc')).toBe(
      'ws://h/user/me/jupyter-ack/api/namespaces/ml/stream?context=prod&token=abc'
    );
    expect(streamUrl('ws://h/', 'ml', '', null)).toBe(
      'ws://h/jupyter-ack/api/namespaces/ml/stream'
    );
  });
});

describe('run view facts', () => {
  it('names the widget after the namespace and the run', () => {
    expect(runViewId('ml', 'run-1')).toBe('jupyter-ack-run-ml-run-1');
  });

  it('writes the kubectl command', () => {
    expect(kubectlCommand('run-1', 'ml')).toBe(
      'kubectl get pipelineexecution run-1 -n ml -o yaml'
    );
    expect(kubectlCommand('run-1', 'ml', 'my ctx')).toBe(
      "kubectl get pipelineexecution run-1 -n ml --context 'my ctx' -o yaml"
    );
    expect(shellWord("it's")).toBe("'it'\\''s'");
  });

  it('signs the steps by name and status', () => {
    expect(
      stepSignature([
        { name: 'a', status: 'Succeeded' },
        { name: 'b', status: 'Executing' }
      ])
    ).toBe('a=Succeeded|b=Executing');
    expect(stepSignature(undefined)).toBe('');
  });

  it('finds the failed step and whether a run is finished', () => {
    expect(
      failedStep(
        run('r', {
          steps: [
            { name: 'a', status: 'Succeeded' },
            { name: 'b', status: 'Failed' }
          ]
        })
      )
    ).toBe('b');
    expect(failedStep(run('r', { failed_step: 'x' }))).toBe('x');
    expect(failedStep(run('r'))).toBeNull();
    expect(isFinished(run('r', { status: 'Executing' }))).toBe(false);
    expect(isFinished(run('r', { status: 'Stopped' }))).toBe(true);
  });
});

describe('toYaml', () => {
  it('writes a run as block YAML, quoting what could be misread', () => {
    const text = toYaml({
      name: 'run-1',
      status: 'Failed',
      start: '2024-05-01T10:00:00Z',
      parameters: { lr: '0.1', flag: 'yes', empty: '' },
      steps: [{ name: 'a: b', status: 'Failed', attempt: 1, cache_hit: null }],
      selected_steps: [],
      in_cluster: true
    });
    expect(text).toBe(
      [
        'name: run-1',
        'status: Failed',
        'start: "2024-05-01T10:00:00Z"',
        'parameters:',
        '  lr: "0.1"',
        '  flag: "yes"',
        '  empty: ""',
        'steps:',
        '  - name: "a: b"',
        '    status: Failed',
        '    attempt: 1',
        '    cache_hit: null',
        'selected_steps: []',
        'in_cluster: true',
        ''
      ].join('\n')
    );
  });

  it('quotes newlines, hashes and leading dashes', () => {
    expect(yamlScalar('a\nb')).toBe('"a\\nb"');
    expect(yamlScalar('#x')).toBe('"#x"');
    expect(yamlScalar('-x')).toBe('"-x"');
    expect(yamlScalar('arn:aws:sagemaker:eu-west-1:1:pipeline/p')).toBe(
      'arn:aws:sagemaker:eu-west-1:1:pipeline/p'
    );
  });
});
