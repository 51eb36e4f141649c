// The run view in the main area: header, the step graph (SVG), the steps, the ACK conditions
// and the actions (stop, copy, re-run). Live from the namespace's stream: it follows its run.

import {
  Clipboard,
  Dialog,
  Notification,
  showDialog
} from '@jupyterlab/apputils';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { AckApi, describeError } from './api';
import { Dag, applySteps, applyTheme, buildDag } from './dag';
import { button, el, safeLink, setText } from './dom';
import { elapsed, formatParameters, formatTimestamp } from './format';
import type { Lease, StreamHub } from './hub';
import type { StreamEvent, StreamState } from './state';
import { bannerFor } from './state';
import { Layout, RunStatus, Theme, failedStep, isFinished } from './types';
import { toYaml } from './yaml';
import { kubectlCommand, stepSignature } from './runinfo';

export interface RunWatcher {
  watch(
    context: string,
    namespace: string,
    name: string,
    run?: RunStatus | null
  ): void;
  observe(context: string, namespace: string, run: RunStatus): void;
}

export interface RunViewOptions {
  api: AckApi;
  hub: StreamHub;
  context: string;
  namespace: string;
  name: string;
  live: boolean;
  watcher: RunWatcher;
  openRun: (context: string, namespace: string, name: string) => void;
  onTheme?: (theme: Theme) => void;
}

const GRAPH_DEBOUNCE_MS = 1000;

export class RunView extends Widget {
  readonly context: string;
  readonly namespace: string;
  readonly runName: string;
  private readonly api: AckApi;
  private run: RunStatus | null = null;
  private theme: Theme = {};
  private dagLayout: Layout | null = null;
  private dag: Dag | null = null;
  private graphSignature: string | null = null;
  private graphTimer: ReturnType<typeof setTimeout> | null = null;
  private graphBusy = false;
  private graphAgain = false;
  private lease: Lease | null = null;
  private live: boolean;
  private picked: string | null = null;
  private loadError: { text: string; hint: string | null } | null = null;
  private deleted = false;
  private clock: ReturnType<typeof setInterval> | null = null;

  private readonly title_: HTMLElement;
  private readonly status: HTMLElement;
  private readonly meta: HTMLElement;
  private readonly banner: HTMLElement;
  private readonly bannerText: HTMLElement;
  private readonly bannerHint: HTMLElement;
  private readonly problem: HTMLElement;
  private readonly note: HTMLElement;
  private readonly stopButton: HTMLButtonElement;
  private readonly rerunButton: HTMLButtonElement;
  private readonly rerunFromButton: HTMLButtonElement;
  private readonly dagBox: HTMLElement;
  private readonly legend: HTMLElement;
  private readonly stepsBody: HTMLTableSectionElement;
  private readonly conditionsBody: HTMLTableSectionElement;
  private readonly stepsEmpty: HTMLElement;
  private readonly conditionsEmpty: HTMLElement;

  constructor(private readonly options: RunViewOptions) {
    super();
    this.api = options.api;
    this.context = options.context;
    this.namespace = options.namespace;
    this.runName = options.name;
    this.live = options.live;
    this.addClass('jp-ack-runview');
    this.node.tabIndex = -1;

    const header = el('div', 'jp-ack-run-header');
    this.title_ = el('h2', 'jp-ack-run-title', this.runName);
    this.status = el('span', 'jp-ack-badge jp-ack-run-status', '\u2026');
    header.append(this.title_, this.status);
    this.meta = el('dl', 'jp-ack-run-meta');

    this.banner = el('div', 'jp-ack-run-banner');
    this.banner.setAttribute('role', 'alert');
    this.banner.hidden = true;
    this.bannerText = el('div', 'jp-ack-banner-text');
    this.bannerHint = el('div', 'jp-ack-banner-hint');
    this.banner.append(this.bannerText, this.bannerHint);
    this.problem = el('div', 'jp-ack-run-problem');
    this.note = el('div', 'jp-ack-note');
    this.note.setAttribute('aria-live', 'polite');

    const actions = el('div', 'jp-ack-actions');
    this.stopButton = button(
      'jp-mod-warn jp-ack-stop',
      'Stop',
      () => void this.stop(),
      'Stop this run'
    );
    this.rerunButton = button(
      'jp-ack-rerun',
      'Re-run',
      () => void this.rerun(null),
      'Start a new run of the pipeline with the same parameters'
    );
    this.rerunFromButton = button(
      'jp-ack-rerun-from',
      'Re-run from\u2026',
      () => void this.rerun(this.fromStep())
    );
    const copyS3 = button(
      'jp-ack-copy-s3',
      'Copy S3 URL',
      () => void this.copyS3(),
      "Copy the S3 URL of the pipeline's definition"
    );
    const copyKubectl = button(
      'jp-ack-copy-kubectl',
      'Copy kubectl command',
      () =>
        this.copy(
          kubectlCommand(
            this.runName,
            this.namespace,
            this.context && this.context !== this.api.currentContext
              ? this.context
              : null
          ),
          'kubectl command'
        )
    );
    const copyYaml = button('jp-ack-copy-yaml', 'Copy YAML', () =>
      this.copyManifest()
    );
    const refresh = button(
      'jp-ack-run-refresh',
      '\u21bb',
      () => this.refresh(),
      'Refresh'
    );
    refresh.setAttribute('aria-label', 'Refresh');
    actions.append(
      this.stopButton,
      this.rerunButton,
      this.rerunFromButton,
      copyS3,
      copyKubectl,
      copyYaml,
      refresh
    );

    const graphSection = el('section', 'jp-ack-section jp-ack-graph-section');
    graphSection.append(el('h3', undefined, 'Steps graph'));
    this.dagBox = el('div', 'jp-ack-dag-box');
    this.legend = el('div', 'jp-ack-legend');
    graphSection.append(this.dagBox, this.legend);

    const stepsSection = el('section', 'jp-ack-section');
    stepsSection.append(el('h3', undefined, 'Steps'));
    const steps = el('table', 'jp-ack-steps');
    steps.append(
      this.head([
        'Step',
        'Status',
        'Start',
        'End',
        'Duration',
        'Failure reason',
        'Links'
      ])
    );
    this.stepsBody = el('tbody');
    steps.appendChild(this.stepsBody);
    this.stepsEmpty = el('div', 'jp-ack-muted', 'No steps yet.');
    stepsSection.append(steps, this.stepsEmpty);

    const conditionsSection = el('section', 'jp-ack-section');
    conditionsSection.append(el('h3', undefined, 'ACK conditions'));
    const conditions = el('table', 'jp-ack-conditions');
    conditions.append(
      this.head(['Type', 'Status', 'Reason', 'Message', 'Since'])
    );
    this.conditionsBody = el('tbody');
    conditions.appendChild(this.conditionsBody);
    this.conditionsEmpty = el('div', 'jp-ack-muted', 'No conditions.');
    conditionsSection.append(conditions, this.conditionsEmpty);

    this.node.append(
      header,
      this.meta,
      this.banner,
      this.problem,
      actions,
      this.note,
      graphSection,
      stepsSection,
      conditionsSection
    );
    this.draw();
    this.setLive(this.live);
    void this.loadGraph();
  }

  /** The run as last known (for tests and the notifier). */
  get current(): RunStatus | null {
    return this.run;
  }

  /** Follow the run on the stream (live) or wait for Refresh (not live). */
  setLive(live: boolean): void {
    this.live = live;
    if (live && !this.lease && !this.isDisposed) {
      const lease = this.options.hub.acquire({
        context: this.context,
        namespace: this.namespace
      });
      this.lease = lease;
      lease.follow([this.runName]);
      lease.subscribe((state, event) => this.onStream(state, event));
    } else if (!live && this.lease) {
      this.lease.release();
      this.lease = null;
    }
    this.drawBanner();
  }

  refresh(): void {
    this.loadError = null;
    this.lease?.client.retry();
    void this.loadGraph();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.lease?.release();
    this.lease = null;
    if (this.graphTimer !== null) {
      clearTimeout(this.graphTimer);
    }
    this.stopClock();
    super.dispose();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this.startClock();
  }

  protected onBeforeDetach(msg: Message): void {
    this.stopClock();
    super.onBeforeDetach(msg);
  }

  protected onActivateRequest(msg: Message): void {
    super.onActivateRequest(msg);
    if (!this.node.contains(document.activeElement)) {
      this.node.focus();
    }
  }

  private startClock(): void {
    if (this.clock === null) {
      this.clock = setInterval(() => {
        if (this.isVisible && this.run && !isFinished(this.run)) {
          this.drawMeta();
        }
        if (
          this.isVisible &&
          this.lease?.client.state.connection === 'closed'
        ) {
          this.drawBanner();
        }
      }, 1000);
    }
  }

  private stopClock(): void {
    if (this.clock !== null) {
      clearInterval(this.clock);
      this.clock = null;
    }
  }

  private head(labels: string[]): HTMLTableSectionElement {
    const thead = el('thead');
    const tr = el('tr');
    for (const label of labels) {
      const th = el('th', undefined, label);
      th.scope = 'col';
      tr.appendChild(th);
    }
    thead.appendChild(tr);
    return thead;
  }

  private onStream(state: StreamState, event: StreamEvent): void {
    if (event.type === 'run' && event.run?.name === this.runName) {
      this.setRun(event.run);
    } else if (event.type === 'snapshot' || event.type === 'changes') {
      const run = state.runs.get(this.runName);
      if (
        event.type === 'changes' &&
        event.deleted?.runs?.includes(this.runName)
      ) {
        this.deleted = true;
        this.drawBanner();
      }
      if (run && run !== this.run) {
        // a changes message has no steps: keep the ones we have
        this.setRun(
          run.steps === undefined && this.run?.steps
            ? { ...run, steps: this.run.steps }
            : run
        );
      }
    } else {
      this.drawBanner();
    }
  }

  /** A new state of the run: redraw, recolour the graph, fetch it again if steps changed. */
  setRun(run: RunStatus): void {
    const before = this.run;
    this.run = run;
    this.deleted = false;
    this.options.watcher.observe(this.context, this.namespace, run);
    if (!before) {
      this.options.watcher.watch(
        this.context,
        this.namespace,
        this.runName,
        run
      );
    }
    if (this.dag) {
      applySteps(this.dag, this.theme, run.steps);
    }
    const signature = stepSignature(run.steps);
    if (
      run.steps !== undefined &&
      this.graphSignature !== null &&
      signature !== this.graphSignature
    ) {
      this.scheduleGraph();
    }
    this.draw();
  }

  private scheduleGraph(): void {
    if (this.graphTimer !== null) {
      return;
    }
    this.graphTimer = setTimeout(() => {
      this.graphTimer = null;
      void this.loadGraph();
    }, GRAPH_DEBOUNCE_MS);
  }

  private async loadGraph(): Promise<void> {
    if (this.graphBusy) {
      this.graphAgain = true;
      return;
    }
    this.graphBusy = true;
    try {
      const answer = await this.api.graph(
        this.namespace,
        this.runName,
        this.context
      );
      if (this.isDisposed) {
        return;
      }
      this.loadError = null;
      this.theme = answer.theme ?? {};
      applyTheme(this.node, this.theme);
      this.options.onTheme?.(this.theme);
      this.dagLayout = answer.layout;
      this.graphSignature = stepSignature(answer.run?.steps);
      this.drawGraph();
      if (answer.run) {
        // the stream may know a newer state than the graph's answer
        const streamed = this.lease?.client.state.runs.get(this.runName);
        const newer =
          streamed &&
          streamed.steps &&
          stepSignature(streamed.steps) !== this.graphSignature
            ? streamed
            : answer.run;
        this.setRun(newer);
      }
    } catch (err) {
      if (this.isDisposed) {
        return;
      }
      this.loadError = describeError(err);
      this.draw();
    } finally {
      this.graphBusy = false;
      if (this.graphAgain && !this.isDisposed) {
        this.graphAgain = false;
        this.scheduleGraph();
      }
    }
  }

  private drawGraph(): void {
    this.dagBox.replaceChildren();
    if (!this.dagLayout) {
      return;
    }
    this.dag = buildDag(this.dagLayout, this.theme, { title: this.runName });
    for (const [name, entry] of this.dag.nodes) {
      entry.g.setAttribute('tabindex', '0');
      entry.g.setAttribute('role', 'button');
      entry.g.setAttribute('aria-label', `step ${name}`);
      entry.g.addEventListener('click', () => this.pick(name));
      entry.g.addEventListener('keydown', e => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          this.pick(name);
        }
      });
    }
    this.dagBox.appendChild(this.dag.svg);
    this.drawLegend();
    this.drawPicked();
  }

  private drawLegend(): void {
    this.legend.replaceChildren();
    for (const [name, pair] of Object.entries(this.theme.status ?? {})) {
      const item = el('span', 'jp-ack-legend-item');
      const swatch = el('span', 'jp-ack-swatch');
      swatch.style.background = pair[0];
      swatch.style.borderColor = pair[1];
      item.append(swatch, document.createTextNode(name));
      this.legend.appendChild(item);
    }
  }

  /** Pick a step (a box or a row): the "Re-run from" step; its row is shown. */
  private pick(name: string): void {
    this.picked = this.picked === name ? null : name;
    this.drawPicked();
    this.drawActions();
    if (this.picked) {
      const row = [...this.stepsBody.querySelectorAll<HTMLElement>('tr')].find(
        tr => tr.dataset.step === name
      );
      row?.scrollIntoView?.({ block: 'nearest' });
    }
  }

  private drawPicked(): void {
    for (const [name, entry] of this.dag?.nodes ?? []) {
      entry.g.classList.toggle('jp-ack-picked', name === this.picked);
    }
    for (const tr of this.stepsBody.querySelectorAll<HTMLElement>('tr')) {
      tr.classList.toggle('jp-ack-picked', tr.dataset.step === this.picked);
    }
  }

  private fromStep(): string | null {
    const run = this.run;
    if (!run || !isFinished(run)) {
      return null;
    }
    return this.picked ?? failedStep(run);
  }

  private draw(): void {
    this.drawMeta();
    this.drawBanner();
    this.drawActions();
    this.drawSteps();
    this.drawConditions();
    this.drawPicked();
  }

  private drawMeta(): void {
    const run = this.run;
    const status = run ? run.status : this.loadError ? 'unknown' : 'loading';
    setText(this.status, status);
    this.status.dataset.status = run ? run.status : '';
    this.node.dataset.status = run ? run.status : '';
    const rows: [string, string][] = [
      ['Pipeline', run?.pipeline ?? ''],
      ['Namespace', this.namespace],
      ['Context', this.context || '(server default)'],
      ['Started', formatTimestamp(run?.start)],
      ['Ended', formatTimestamp(run?.end)],
      ['Duration', elapsed(run)],
      ['Parameters', formatParameters(run?.parameters) || '(none)']
    ];
    if (run?.selected_steps?.length) {
      rows.push(['Selected steps', run.selected_steps.join(', ')]);
    }
    if (this.meta.childElementCount !== rows.length * 2) {
      this.meta.replaceChildren();
      for (const [label] of rows) {
        this.meta.append(el('dt', undefined, label), el('dd'));
      }
    }
    rows.forEach(([label, value], i) => {
      setText(this.meta.children[i * 2], label);
      const dd = this.meta.children[i * 2 + 1] as HTMLElement;
      dd.dataset.field = label.toLowerCase().replace(/ /g, '-');
      setText(dd, value || '\u2014');
    });
    const reason = [run?.problem, run?.failure_reason]
      .filter(Boolean)
      .join(' \u00b7 ');
    setText(this.problem, reason);
    this.problem.hidden = !reason;
  }

  private drawBanner(): void {
    let text = '';
    let hint: string | null = null;
    if (this.loadError) {
      ({ text, hint } = this.loadError);
    } else if (this.run?.unreachable) {
      text = `The cluster is unreachable: ${this.run.unreachable}. Retrying\u2026`;
    } else if (this.lease) {
      const b = bannerFor(this.lease.client.state);
      if (b) {
        text = b.text;
        hint = b.hint;
      }
    }
    if (!text && this.deleted) {
      text = 'The PipelineExecution object was deleted from the cluster.';
    }
    this.banner.hidden = !text;
    setText(this.bannerText, text);
    setText(this.bannerHint, hint ?? '');
    this.bannerHint.hidden = !hint;
  }

  private drawActions(): void {
    const run = this.run;
    const finished = run ? isFinished(run) : true;
    this.stopButton.hidden = !run || finished;
    this.rerunButton.disabled = !run;
    const from = this.fromStep();
    this.rerunFromButton.hidden = !from;
    setText(
      this.rerunFromButton,
      from ? `Re-run from ${from}` : 'Re-run from\u2026'
    );
    this.rerunFromButton.title = from
      ? `A new run starts with ${from} and every step after it; the others are taken from this run`
      : '';
  }

  private drawSteps(): void {
    const steps = this.run?.steps ?? [];
    this.stepsBody.replaceChildren();
    for (const s of steps) {
      const tr = el('tr', 'jp-ack-step');
      tr.dataset.step = s.name;
      tr.dataset.status = s.status;
      const name = el('button', 'jp-ack-step-name', s.name);
      name.type = 'button';
      name.title =
        s.display_name && s.display_name !== s.name
          ? `${s.name} (${s.display_name})`
          : s.name;
      name.addEventListener('click', () => this.pick(s.name));
      const nameCell = el('td');
      nameCell.appendChild(name);
      if (s.from_run) {
        nameCell.appendChild(el('span', 'jp-ack-step-from', ' reused'));
      }
      const statusCell = el('td');
      const badge = el('span', 'jp-ack-badge', s.status);
      badge.dataset.status = s.status;
      statusCell.appendChild(badge);
      const links = el('td', 'jp-ack-step-links');
      for (const [label, url] of [
        ['console', s.console_url],
        ['logs', s.logs_url]
      ] as const) {
        const a = safeLink(label, url);
        if (a) {
          links.append(a, document.createTextNode(' '));
        }
      }
      tr.append(
        nameCell,
        statusCell,
        el('td', undefined, formatTimestamp(s.start)),
        el('td', undefined, formatTimestamp(s.end)),
        el('td', undefined, elapsed(s)),
        el('td', 'jp-ack-step-reason', s.failure_reason ?? ''),
        links
      );
      this.stepsBody.appendChild(tr);
    }
    this.stepsEmpty.hidden = steps.length > 0;
  }

  private drawConditions(): void {
    const conditions = this.run?.conditions ?? [];
    this.conditionsBody.replaceChildren();
    for (const c of conditions) {
      const tr = el('tr');
      tr.dataset.type = String(c.type ?? '');
      for (const value of [
        c.type,
        c.status,
        c.reason,
        c.message,
        formatTimestamp(c.lastTransitionTime ?? null)
      ]) {
        tr.appendChild(
          el(
            'td',
            undefined,
            value === undefined || value === null ? '' : String(value)
          )
        );
      }
      this.conditionsBody.appendChild(tr);
    }
    this.conditionsEmpty.hidden = conditions.length > 0;
  }

  private async stop(): Promise<void> {
    const result = await showDialog({
      title: 'Stop run?',
      body: `Stop ${this.runName}? Its PipelineExecution is deleted and ACK stops the run.`,
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Stop' })]
    });
    if (!result.button.accept) {
      return;
    }
    this.stopButton.disabled = true;
    try {
      const answer = await this.api.stop(
        this.namespace,
        this.runName,
        this.context
      );
      setText(
        this.note,
        [answer.message, answer.warning].filter(Boolean).join(' ')
      );
      if (answer.warning) {
        Notification.warning(answer.warning, { autoClose: 10000 });
      } else if (answer.message) {
        Notification.info(answer.message, { autoClose: 5000 });
      }
      this.options.watcher.watch(
        this.context,
        this.namespace,
        this.runName,
        this.run
      );
    } catch (err) {
      const { text, hint } = describeError(err);
      setText(this.note, hint ? `${text} (${hint})` : text);
      Notification.error(`Could not stop ${this.runName}: ${text}`, {
        autoClose: 10000
      });
    } finally {
      this.stopButton.disabled = false;
    }
  }

  private async rerun(fromStep: string | null): Promise<void> {
    const body = fromStep
      ? `Re-run ${this.runName} from ${fromStep}? A new run starts with that step and every step after it; the others are taken from ${this.runName}.`
      : `Start a new run of ${this.run?.pipeline || 'the pipeline'} with the parameters of ${this.runName}?`;
    const result = await showDialog({
      title: fromStep ? `Re-run from ${fromStep}?` : 'Re-run?',
      body,
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Re-run' })]
    });
    if (!result.button.accept) {
      return;
    }
    this.rerunButton.disabled = true;
    this.rerunFromButton.disabled = true;
    try {
      const answer = await this.api.rerun(
        this.namespace,
        this.runName,
        this.context,
        {
          parameters: {},
          from_step: fromStep,
          steps: null
        }
      );
      setText(this.note, `Started ${answer.name}.`);
      this.options.watcher.watch(this.context, this.namespace, answer.name);
      this.options.openRun(this.context, this.namespace, answer.name);
    } catch (err) {
      const { text, hint } = describeError(err);
      setText(this.note, hint ? `${text} (${hint})` : text);
      Notification.error(`Could not re-run ${this.runName}: ${text}`, {
        autoClose: 10000
      });
    } finally {
      this.rerunButton.disabled = !this.run;
      this.rerunFromButton.disabled = false;
    }
  }

  private copy(text: string, what: string): void {
    Clipboard.copyToSystem(text);
    Notification.info(`Copied the ${what}.`, { autoClose: 2500 });
  }

  /** The PipelineExecution's YAML, ready for `kubectl apply -f -`. */
  private async copyManifest(): Promise<void> {
    try {
      const manifest = await this.api.manifest(
        this.namespace,
        this.runName,
        this.context
      );
      this.copy(toYaml(manifest), 'PipelineExecution YAML');
    } catch (err) {
      Notification.error(
        `Cannot copy the YAML of ${this.runName}: ${describeError(err).text}`,
        { autoClose: 5000 }
      );
    }
  }

  private async copyS3(): Promise<void> {
    const pipeline = this.run?.pipeline;
    try {
      const known = this.lease?.client.state.pipelines;
      let items = known && known.size ? [...known.values()] : null;
      if (!items) {
        items =
          (await this.api.pipelines(this.namespace, this.context)).items ?? [];
      }
      const found =
        items.find(p => p.pipeline === pipeline) ??
        items.find(p => p.name === pipeline);
      if (!found?.s3_uri) {
        Notification.warning(
          `No S3 URL is recorded for pipeline ${pipeline ?? '?'}.`,
          {
            autoClose: 6000
          }
        );
        return;
      }
      this.copy(found.s3_uri, 'S3 URL');
    } catch (err) {
      Notification.error(
        `Could not read the pipeline: ${describeError(err).text}`,
        { autoClose: 8000 }
      );
    }
  }
}
