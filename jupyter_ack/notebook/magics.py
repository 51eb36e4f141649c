"""IPython magics: ``%ack_submit``, ``%ack_handoff``, ``%ack_status``, ``%ack_list``,
``%ack_stop`` and ``%ack_config`` / ``%%ack_config``. Load with ``%load_ext jupyter_ack``.

Views over the core: ``ops.submit`` does the work and reports its stages as events, which
this module draws (a log, the handoff card, the live panel); ``ops.runs`` finds, lists and
stops runs. Loading imports only IPython pieces already in memory; boto3, kubernetes and
anywidget are imported by the magic that needs them. Every problem the user can act on is
shown as a short escaped message in the cell, never a traceback. ``%ack_submit`` returns at
once: its work runs on a background thread that updates the cell's displays.

Arguments follow shell rules: quote a value with spaces (``-p 'Note=a b'``); ``{var}`` and
``$var`` are expanded from the notebook by IPython first.
"""

from __future__ import annotations

import argparse
import shlex
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError as IPythonUsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import HTML, display

from jupyter_ack.config import KEYS, AckConfig
from jupyter_ack.errors import JupyterAckError
from jupyter_ack.render import theme
from jupyter_ack.render.svg import esc

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from jupyter_ack.ack.cluster import Cluster
    from jupyter_ack.notebook.panel import StatusPanel
    from jupyter_ack.ops.submit import OnEvent, SubmitEvent, SubmitResult
    from jupyter_ack.pipeline.definition import PipelineDefinition
    from jupyter_ack.status.model import RunStatus


def parse(magic: Any, line: str) -> argparse.Namespace:
    """The magic's arguments from ``line``, split with shell rules (quotes, spaces)."""
    try:
        argv = shlex.split(line)
    except ValueError as e:  # an unbalanced quote
        raise IPythonUsageError(f"{e}: close the quote") from None
    parsed: argparse.Namespace = magic.parser.parse_args(argv)
    return parsed


def _problem(message: str, hint: str | None = None) -> None:
    """A short message in the cell instead of a traceback."""
    display(HTML(problem_html(message, hint)))


def problem_html(message: str, hint: str | None = None) -> str:
    tip = f'<div style="color:{theme.MUTED}">{esc(hint)}</div>' if hint else ""
    return (
        f'<div class="jack-error" style="color:{theme.DANGER};margin:4px 0">'
        f"\u2717 {esc(message)}{tip}</div>"
    )


def _error(e: JupyterAckError) -> None:
    _problem(e.message, e.hint)


@magics_class
class AckMagics(Magics):  # type: ignore[misc]
    """The ``%ack_*`` magics. Defaults come from :class:`~jupyter_ack.config.AckConfig`
    (``c.AckConfig.bucket = ...`` in IPython's or Jupyter's config, ``JUPYTER_ACK_BUCKET``
    and friends), then ``%ack_config``; flags win over all."""

    def __init__(self, shell: InteractiveShell | None = None, **kwargs: Any) -> None:
        super().__init__(shell, **kwargs)
        self.settings = AckConfig.load(self.config)
        self.last: Submission | None = None

    # helpers ------------------------------------------------------------------------------

    def _pick(self, args: Any, key: str) -> str | None:
        return self.settings.pick(key, getattr(args, key, None))

    def _definition(self, var: str, name: str | None) -> PipelineDefinition | None:
        """The variable's pipeline, shown with its diagnostics; None (and why) when unusable."""
        from jupyter_ack.pipeline.diagnostics import errors
        from jupyter_ack.pipeline.sources import load

        if not var.isidentifier() or var not in self.shell.user_ns:
            _problem(
                f"no variable {var!r} in the notebook",
                "pass the name of the variable holding your SageMaker Pipeline",
            )
            return None
        defn = load(self.shell.user_ns[var], name=name)
        display(defn)
        if not defn.ok:
            _problem(
                f"{len(errors(defn.validate()))} error(s) in the definition: "
                "nothing was published or applied",
                "fix the errors listed above and run the cell again",
            )
            return None
        return defn

    def _cluster(self, args: Any, check: bool = True) -> Cluster:
        from jupyter_ack.ack.cluster import connect

        cluster = connect(
            context=self._pick(args, "context"),
            namespace=self._pick(args, "namespace"),
            kubeconfig=self.settings.kubeconfig,
        )
        if check:
            cluster.check()
        return cluster

    def _role(self, args: Any, defn: PipelineDefinition) -> str | None:
        from jupyter_ack.bundle.publish import infer_role_arn

        role = self._pick(args, "role_arn") or infer_role_arn(defn)
        if not role:
            _problem(
                "the ACK objects need the role SageMaker assumes to run the pipeline",
                "give --role-arn arn:aws:iam::ACCOUNT:role/NAME or %ack_config role_arn=...",
            )
        return role

    # magics -------------------------------------------------------------------------------

    @magic_arguments()
    @argument("pipeline", help="the notebook variable holding a SageMaker Pipeline (or dict)")
    @argument("--bucket", help="publish the definition and handoff bundle here")
    @argument("--prefix", help="S3 key prefix (default jupyter-ack)")
    @argument("--name", help="the SageMaker pipeline name (default: the pipeline's)")
    @argument("--role-arn", dest="role_arn", help="the role SageMaker assumes")
    @argument("--namespace", "-n", help="Kubernetes namespace")
    @argument("--context", help="kubeconfig context")
    @argument("--kms-key-id", dest="kms_key_id", help="KMS key for the S3 objects")
    @argument("--execute", action="store_true", help="start a run (PipelineExecution)")
    @argument("-p", "--parameter", action="append", default=[], metavar="K=V")
    @argument("--dry-run", action="store_true", help="the API server's dry run: write nothing")
    @argument("--no-cluster", action="store_true", help="publish and hand off; do not apply")
    @line_magic
    def ack_submit(self, line: str) -> None:
        """Validate and draw a pipeline, publish it, show the handoff card, apply it to the
        cluster and follow the run in a live panel. Returns at once; the work goes on in the
        background and updates this cell. Quote values with spaces: ``-p 'K=a b'``."""
        try:
            args = parse(self.ack_submit, line)
            self._submit(args, cluster=not args.no_cluster)
        except JupyterAckError as e:
            _error(e)

    @magic_arguments()
    @argument("pipeline", help="the notebook variable holding a SageMaker Pipeline (or dict)")
    @argument("--bucket", help="publish the definition and handoff bundle here")
    @argument("--prefix", help="S3 key prefix (default jupyter-ack)")
    @argument("--name", help="the SageMaker pipeline name (default: the pipeline's)")
    @argument("--role-arn", dest="role_arn", help="the role SageMaker assumes")
    @argument("--namespace", "-n", help="the namespace the manifests name")
    @argument("--kms-key-id", dest="kms_key_id", help="KMS key for the S3 objects")
    @argument("-p", "--parameter", action="append", default=[], metavar="K=V")
    @line_magic
    def ack_handoff(self, line: str) -> None:
        """Publish the pipeline to S3 and show the handoff card for DevOps (no cluster)."""
        try:
            args = parse(self.ack_handoff, line)
            args.execute, args.dry_run, args.context = True, False, None
            self._submit(args, cluster=False, background=False)
        except JupyterAckError as e:
            _error(e)

    def _submit(self, args: Any, *, cluster: bool, background: bool = True) -> None:
        from jupyter_ack.ack.manifests import parse_assignments

        defn = self._definition(args.pipeline, args.name)
        if defn is None:
            return
        role = self._role(args, defn)
        if role is None:
            return
        options = {
            "name": args.name or defn.name,
            "role_arn": role,
            "bucket": self._pick(args, "bucket"),
            "prefix": self._pick(args, "prefix") or "",
            "kms_key_id": self._pick(args, "kms_key_id"),
            "parameters": parse_assignments(args.parameter),
            "execute": args.execute,
            "dry_run": args.dry_run,
            "namespace": self._pick(args, "namespace"),
            "apply": cluster,
            "need_cluster": False,
            "cluster": (lambda: self._cluster(args, check=False)) if cluster else None,
        }

        def work(on_event: Any) -> SubmitResult:
            from jupyter_ack.ops.submit import submit

            return submit(defn, **options, on_event=on_event)

        submission = Submission(defn, work, name=options["name"], panel=cluster)
        self.last = submission
        submission.start(background=background)

    @magic_arguments()
    @argument("run", nargs="?", help="the PipelineExecution (default: the latest)")
    @argument("--namespace", "-n", help="Kubernetes namespace")
    @argument("--context", help="kubeconfig context")
    @line_magic
    def ack_status(self, line: str) -> None:
        """A run's live panel (the latest run in the namespace by default)."""
        try:
            from jupyter_ack.notebook.panel import StatusPanel
            from jupyter_ack.ops import runs

            args = parse(self.ack_status, line)
            run = runs.find(self._cluster(args), args.run)
            panel = StatusPanel(run.definition())
            if run.in_cluster:
                panel.follow(run.cluster, run.name)
            else:  # stopped or deleted: SageMaker still has it
                panel.show(run.status(), run.cluster)
            display(panel)
            self.last = Submission.of_panel(panel)
        except JupyterAckError as e:
            _error(e)

    @magic_arguments()
    @argument("run", help="the run to take the pipeline and parameter values from")
    @argument("-p", "--parameter", action="append", default=[], metavar="K=V")
    @argument("--from-step", dest="from_step", help="run this step and every step after it")
    @argument("--steps", help="run only these steps (A,B)")
    @argument("--namespace", "-n", help="Kubernetes namespace")
    @argument("--context", help="kubeconfig context")
    @line_magic
    def ack_rerun(self, line: str) -> None:
        """Re-run a run: its pipeline and parameters (-p overrides), all steps, or from one
        step on (--from-step) or a few (--steps A,B), taking the others from the run. Shows
        the new run's live panel; the panel of a finished run offers the same on a click."""
        try:
            from jupyter_ack.ack.manifests import parse_assignments, parse_steps
            from jupyter_ack.ops import runs
            from jupyter_ack.ops.rerun import rerun

            args = parse(self.ack_rerun, line)
            source = runs.get(self._cluster(args), args.run)
            values = parse_assignments(args.parameter)
            steps = parse_steps(args.steps)

            def work(on_event: Any) -> SubmitResult:
                return rerun(
                    source,
                    parameters=values,
                    from_step=args.from_step,
                    steps=steps,
                    on_event=on_event,
                )

            submission = Submission(
                source.definition(), work, name=args.run, panel=True, card=False
            )
            self.last = submission
            submission.start()
        except JupyterAckError as e:
            _error(e)

    @magic_arguments()
    @argument("--namespace", "-n", help="Kubernetes namespace")
    @argument("--context", help="kubeconfig context")
    @line_magic
    def ack_list(self, line: str) -> None:
        """The namespace's pipelines and runs (newest first), as ``kubectl get`` lists them."""
        try:
            args = parse(self.ack_list, line)
            display(HTML(list_html(self._cluster(args))))
        except JupyterAckError as e:
            _error(e)

    @magic_arguments()
    @argument("run", help="the PipelineExecution to stop")
    @argument("--namespace", "-n", help="Kubernetes namespace")
    @argument("--context", help="kubeconfig context")
    @line_magic
    def ack_stop(self, line: str) -> None:
        """Stop a run: delete its PipelineExecution, and ACK stops it in SageMaker (unless
        its deletion policy is retain, which this says)."""
        try:
            from jupyter_ack.ops import runs

            args = parse(self.ack_stop, line)
            result = runs.get(self._cluster(args), args.run).stop()
            warning = problem_html(result.warning) if result.warning else ""
            display(HTML(f"{warning}<div>{esc(result.message)}</div>"))
        except JupyterAckError as e:
            _error(e)

    @line_magic("ack_config")
    def ack_config_line(self, line: str) -> None:
        """Show the defaults, or set them: ``%ack_config bucket=B namespace=ml`` (an empty
        value restores the default). Keys: bucket, prefix, namespace, context, role_arn,
        kms_key_id, kubeconfig. Also from ``JUPYTER_ACK_<KEY>`` and ``c.AckConfig.<key>``."""
        try:
            try:
                pairs = shlex.split(line)
            except ValueError as e:
                raise JupyterAckError(f"{e}: close the quote") from None
            for pair in pairs:
                key, sep, value = pair.partition("=")
                if not sep:
                    raise JupyterAckError(f"expected KEY=VALUE, got {pair!r}")
                self.settings.set(key, value)
            display(HTML(settings_html(self.settings)))
        except JupyterAckError as e:
            _error(e)

    @cell_magic("ack_config")
    def ack_config_cell(self, line: str, cell: str) -> None:
        """Set defaults from a YAML mapping in the cell body (``bucket: B``)."""
        import yaml

        try:
            try:
                doc = yaml.safe_load(cell) or {}
            except yaml.YAMLError as e:
                raise JupyterAckError(f"not valid YAML: {' '.join(str(e).split())}") from None
            if not isinstance(doc, dict):
                raise JupyterAckError("expected a YAML mapping such as `bucket: my-bucket`")
            for key, value in doc.items():
                self.settings.set(str(key), value)
            display(HTML(settings_html(self.settings)))
        except JupyterAckError as e:
            _error(e)


def settings_html(settings: AckConfig) -> str:
    rows = "".join(
        f"<tr><th style='text-align:left'>{esc(k)}</th>"
        f"<td><code>{esc(getattr(settings, k) or '')}</code></td></tr>"
        for k in KEYS
    )
    return f'<table class="jack-settings">{rows}</table>'


def list_html(cluster: Cluster) -> str:
    """Pipelines and runs of the cluster's namespace (runs only SageMaker still has
    included, marked) as two escaped tables."""
    from jupyter_ack.ops import runs

    seen = runs.overview(cluster)
    p_rows = "".join(
        f"<tr><td>{esc(p.name)}</td><td>{esc(p.pipeline)}</td><td>{esc(p.status)}</td></tr>"
        for p in seen.pipelines
    )
    r_rows = "".join(
        f"<tr><td>{esc(r.name)}</td><td>{esc(r.pipeline)}</td><td>{esc(r.status)}</td>"
        f"<td>{esc(r.problem or r.failure_reason or '')}</td>"
        f"<td>{'' if r.in_cluster else 'object gone'}</td></tr>"
        for r in seen.runs
    )
    note = f"<div>{esc(seen.history_note)}</div>" if seen.history_note else ""
    return (
        f"<div>namespace {esc(cluster.namespace)}</div>"
        "<table class='jack-pipelines'><tr><th>pipeline</th><th>SageMaker name</th>"
        f"<th>status</th></tr>{p_rows}</table>"
        "<table class='jack-runs'><tr><th>run</th><th>pipeline</th><th>status</th>"
        f"<th>failure</th><th></th></tr>{r_rows}</table>{note}"
    )


class Submission:
    """One ``%ack_submit`` (or ``%ack_rerun``): its displays (log, card, panel), drawn from the
    events of the operation ``work`` runs (``ops.submit.submit``, ``ops.rerun.rerun``)."""

    def __init__(
        self,
        definition: PipelineDefinition | None,
        work: Callable[[OnEvent], SubmitResult] | None = None,
        *,
        name: str | None = None,
        panel: bool = False,
        card: bool = True,
    ) -> None:
        self.definition = definition
        self.work = work
        self.wants_panel = panel
        self.wants_card = card
        self.name = name
        self.result: SubmitResult | None = None
        self.card: str | None = None
        self.error: str | None = None
        self.lines: list[str] = []
        self.panel: StatusPanel | None = None
        self.done = threading.Event()
        self._log: Any = None
        self._card: Any = None

    @property
    def published(self) -> Any:
        return self.result.published if self.result else None

    @classmethod
    def of_panel(cls, panel: StatusPanel) -> Submission:
        made = cls(panel.definition)
        made.panel = panel
        made.done.set()
        return made

    def start(self, background: bool = True) -> None:
        """Show the placeholders now; fill them from a thread (or right here)."""
        self._log = display(HTML(self._log_html()), display_id=True)
        if self.wants_card:
            placeholder = HTML("<div class='jack-card'>publishing\u2026</div>")
            self._card = display(placeholder, display_id=True)
        if self.wants_panel:
            from jupyter_ack.notebook.panel import StatusPanel

            self.panel = StatusPanel(self.definition)
            self.panel.message = "waiting for the cluster\u2026"
            display(self.panel)
        if background:
            threading.Thread(target=self._work, name="jupyter-ack-submit", daemon=True).start()
        else:
            self._work()

    def wait(self, timeout: float | None = None) -> RunStatus | None:
        """Block until the submission's work and its run (if any) have finished."""
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        self.done.wait(timeout)
        if self.panel is None or self.panel.lease is None:
            return None
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        return self.panel.wait(left)

    def _say(self, message: str) -> None:
        self.lines.append(message)
        if self._log is not None:
            self._log.update(HTML(self._log_html()))

    def _log_html(self) -> str:
        body = "".join(f"<div>{esc(line)}</div>" for line in self.lines)
        error = problem_html(self.error) if self.error else ""
        return f'<div class="jack-log" style="color:{theme.MUTED}">{body}{error}</div>'

    def _work(self) -> None:
        assert self.work is not None  # a Submission made by a magic always has work
        try:
            self.result = self.work(self._on_event)
            self._finish(self.result)
        except JupyterAckError as e:
            self._fail(e.message + (f" ({e.hint})" if e.hint else ""))
        except Exception as e:  # a bug or an unexpected library error: one line, no traceback
            self._fail(f"{type(e).__name__}: {' '.join(str(e).split())[:300]}")
        finally:
            self.done.set()

    def _on_event(self, event: SubmitEvent) -> None:
        result = event.result
        self.result = result
        shown_elsewhere = event.stage == "validated" or (event.stage == "ready" and self.wants_card)
        if not shown_elsewhere:  # the definition's display and the card say those
            self._say(event.message)
        if event.stage == "ready" and result.manifests is not None and self.wants_card:
            self._show_card(result)
        elif event.stage == "handoff" and self.panel is not None:
            self.panel.message = event.message
        elif event.stage == "run_created" and self.panel is not None and result.applied:
            cluster, run = result.cluster, result.run_name
            if cluster is not None and run is not None:
                self.panel.message = ""
                self.panel.follow(cluster, run)

    def _show_card(self, result: SubmitResult) -> None:
        from jupyter_ack.notebook.card import card_data, card_html, copy_card

        assert result.manifests is not None
        if result.cluster is None:
            note = f"the handoff is the result: {result.handoff_reason}"
        else:
            note = f"applying to {result.cluster.where}, namespace {result.namespace}"
        data = card_data(result, note=note)
        self.card = card_html(data)
        self._card.update(copy_card(data, self.card))

    def _finish(self, result: SubmitResult) -> None:
        if self.panel is None or result.cluster is None:
            return
        if result.dry_run:
            self.panel.message = "dry run: nothing was applied"
        elif result.run_name is None:
            self.panel.message = "applied; no run (--execute)"

    def _fail(self, message: str) -> None:
        self.error = message
        if self._log is not None:
            self._log.update(HTML(self._log_html()))
        if self.card is None and self._card is not None:
            self._card.update(HTML(problem_html("no handoff: " + message)))
        if self.panel is not None:
            self.panel.message = message

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """The card and the panel's current snapshot, e.g. after ``wait()``."""
        parts = [self.card or "", problem_html(self.error) if self.error else ""]
        if self.panel is not None:
            parts.append(self.panel.snapshot())
        return {"text/html": "".join(parts), "text/plain": repr(self)}

    def __repr__(self) -> str:
        run = self.panel.latest if self.panel else None
        state = run.status if run else ("done" if self.done.is_set() else "working")
        return f"<Submission {self.name or ''}: {state}>"


_magics: AckMagics | None = None


def last_submission() -> Submission | None:
    """The latest ``%ack_submit`` / ``%ack_status`` of this kernel (to ``wait()`` on it)."""
    return None if _magics is None else _magics.last


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """``%load_ext jupyter_ack``: register the magics (nothing heavy is imported)."""
    global _magics
    _magics = AckMagics(ipython)
    ipython.register_magics(_magics)
