"""IPython magics: ``%ack_submit``, ``%ack_handoff``, ``%ack_status``, ``%ack_list``,
``%ack_stop`` and ``%ack_config`` / ``%%ack_config``. Load with ``%load_ext jupyter_ack``.

Thin shells over the core (load, validate, publish, manifests, submit, follow). Loading
imports only IPython pieces already in memory; boto3, kubernetes and anywidget are imported
by the magic that needs them. Every problem the user can act on is shown as a short escaped
message in the cell, never a traceback. ``%ack_submit`` returns at once: publishing,
applying and following run on a background thread that updates the cell's displays.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import HTML, display
from traitlets import Unicode

from .errors import JupyterAckError
from .render import esc

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from .cluster import Cluster
    from .definition import PipelineDefinition
    from .publish import Published
    from .status import RunStatus
    from .widgets.panel import StatusPanel

ENV_PREFIX = "JUPYTER_ACK_"


@dataclass
class Settings:
    """Defaults every magic starts from; a flag given to a magic wins over them."""

    bucket: str | None = None
    prefix: str | None = None
    namespace: str | None = None
    context: str | None = None
    role_arn: str | None = None
    kms_key_id: str | None = None
    kubeconfig: str | None = None

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def set(self, key: str, value: Any) -> None:
        """Set one default (``role-arn`` and ``role_arn`` both work); '' or None clears it."""
        name = key.strip().replace("-", "_").lower()
        if name not in self.names():
            raise JupyterAckError(
                f"no setting {key!r}", hint=f"settings: {', '.join(self.names())}"
            )
        setattr(self, name, None if value in (None, "") else str(value))


def _problem(message: str, hint: str | None = None) -> None:
    """A short message in the cell instead of a traceback."""
    display(HTML(problem_html(message, hint)))


def problem_html(message: str, hint: str | None = None) -> str:
    tip = f'<div style="color:#64748b">{esc(hint)}</div>' if hint else ""
    return (
        '<div class="jack-error" style="color:#b91c1c;margin:4px 0">'
        f"\u2717 {esc(message)}{tip}</div>"
    )


def _error(e: JupyterAckError) -> None:
    _problem(e.message, e.hint)


@magics_class
class AckMagics(Magics):  # type: ignore[misc]
    """The ``%ack_*`` magics. Defaults: traitlets config (``c.AckMagics.bucket = ...``),
    then ``JUPYTER_ACK_BUCKET`` and friends, then ``%ack_config``; flags win over all."""

    bucket = Unicode(None, allow_none=True, help="S3 bucket to publish to").tag(config=True)
    prefix = Unicode(None, allow_none=True, help="S3 key prefix").tag(config=True)
    namespace = Unicode(None, allow_none=True, help="Kubernetes namespace").tag(config=True)
    context = Unicode(None, allow_none=True, help="kubeconfig context").tag(config=True)
    role_arn = Unicode(None, allow_none=True, help="SageMaker execution role").tag(config=True)
    kms_key_id = Unicode(None, allow_none=True, help="KMS key for S3").tag(config=True)
    kubeconfig = Unicode(None, allow_none=True, help="kubeconfig file").tag(config=True)

    def __init__(self, shell: InteractiveShell | None = None, **kwargs: Any) -> None:
        super().__init__(shell, **kwargs)
        self.settings = Settings()
        for key in Settings.names():
            env = os.environ.get(ENV_PREFIX + key.upper())
            configured = getattr(self, key)
            self.settings.set(key, configured if configured is not None else env)
        self.last: Submission | None = None

    # helpers ------------------------------------------------------------------------------

    def _pick(self, args: Any, key: str) -> str | None:
        value = getattr(args, key, None)
        if value is None:
            value = getattr(self.settings, key)
        return None if value is None else str(value)

    def _definition(self, var: str, name: str | None) -> PipelineDefinition | None:
        """The variable's pipeline, shown with its diagnostics; None (and why) when unusable."""
        from .definition import load

        if not var.isidentifier() or var not in self.shell.user_ns:
            _problem(
                f"no variable {var!r} in the notebook",
                "pass the name of the variable holding your SageMaker Pipeline",
            )
            return None
        defn = load(self.shell.user_ns[var], name=name)
        display(defn)
        if not defn.ok:
            errors = sum(d.severity == "error" for d in defn.validate())
            _problem(
                f"{errors} error(s) in the definition: nothing was published or applied",
                "fix the errors listed above and run the cell again",
            )
            return None
        return defn

    def _cluster(self, args: Any) -> Cluster:
        from .cluster import connect

        cluster = connect(
            context=self._pick(args, "context"),
            namespace=self._pick(args, "namespace"),
            kubeconfig=self.settings.kubeconfig or os.environ.get("KUBECONFIG"),
        )
        cluster.check()
        return cluster

    def _role(self, args: Any, defn: PipelineDefinition) -> str | None:
        from .publish import infer_role_arn

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
        background and updates this cell."""
        try:
            args = parse_argstring(self.ack_submit, line)
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
            args = parse_argstring(self.ack_handoff, line)
            args.execute, args.dry_run, args.context = True, False, None
            self._submit(args, cluster=False, background=False)
        except JupyterAckError as e:
            _error(e)

    def _submit(self, args: Any, *, cluster: bool, background: bool = True) -> None:
        from .manifests import parse_assignments

        defn = self._definition(args.pipeline, args.name)
        if defn is None:
            return
        role = self._role(args, defn)
        if role is None:
            return
        submission = Submission(
            defn,
            name=args.name or defn.name,
            role_arn=role,
            bucket=self._pick(args, "bucket"),
            prefix=self._pick(args, "prefix") or "jupyter-ack",
            kms_key_id=self._pick(args, "kms_key_id"),
            parameters=parse_assignments(args.parameter),
            execute=args.execute,
            dry_run=args.dry_run,
            connect=(lambda: self._cluster(args)) if cluster else None,
            namespace=self._pick(args, "namespace"),
        )
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
            args = parse_argstring(self.ack_status, line)
            cluster = self._cluster(args)
            from .follow import latest_run
            from .widgets.panel import StatusPanel

            name = args.run or latest_run(cluster)
            obj = cluster.get("pipelineexecutions", name)
            if obj is None:
                _problem(f"no run {name!r} in namespace {cluster.namespace}", "%ack_list")
                return
            panel = StatusPanel(_definition_of(cluster, obj))
            display(panel.follow(cluster, name))
            self.last = Submission.of_panel(panel)
        except JupyterAckError as e:
            _error(e)

    @magic_arguments()
    @argument("--namespace", "-n", help="Kubernetes namespace")
    @argument("--context", help="kubeconfig context")
    @line_magic
    def ack_list(self, line: str) -> None:
        """The namespace's pipelines and runs, as ``kubectl get`` would list them."""
        try:
            args = parse_argstring(self.ack_list, line)
            cluster = self._cluster(args)
            display(HTML(list_html(cluster)))
        except JupyterAckError as e:
            _error(e)

    @magic_arguments()
    @argument("run", help="the PipelineExecution to stop")
    @argument("--namespace", "-n", help="Kubernetes namespace")
    @argument("--context", help="kubeconfig context")
    @line_magic
    def ack_stop(self, line: str) -> None:
        """Stop a run: delete its PipelineExecution, and ACK stops it in SageMaker."""
        try:
            args = parse_argstring(self.ack_stop, line)
            cluster = self._cluster(args)
            if cluster.get("pipelineexecutions", args.run) is None:
                _problem(f"no run {args.run!r} in namespace {cluster.namespace}", "%ack_list")
                return
            cluster.delete("pipelineexecutions", args.run)
            display(
                HTML(
                    f"<div>deleted pipelineexecutions/{esc(args.run)}; ACK stops the run "
                    "(the SageMaker record stays)</div>"
                )
            )
        except JupyterAckError as e:
            _error(e)

    @line_magic("ack_config")
    def ack_config_line(self, line: str) -> None:
        """Show the defaults, or set them: ``%ack_config bucket=B namespace=ml`` (empty
        value clears). Keys: bucket, prefix, namespace, context, role_arn, kms_key_id,
        kubeconfig. Also from ``JUPYTER_ACK_<KEY>`` and ``c.AckMagics.<key>``."""
        try:
            for pair in line.split():
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


def settings_html(settings: Settings) -> str:
    rows = "".join(
        f"<tr><th style='text-align:left'>{esc(k)}</th>"
        f"<td><code>{esc(getattr(settings, k) or '')}</code></td></tr>"
        for k in Settings.names()
    )
    return f'<table class="jack-settings">{rows}</table>'


def list_html(cluster: Cluster) -> str:
    """Pipelines and runs of the cluster's namespace as two escaped tables."""
    from .status import from_object

    pipelines = cluster.list("pipelines").get("items", [])
    runs = sorted(
        (from_object(o) for o in cluster.list("pipelineexecutions").get("items", [])),
        key=lambda r: r.start or "",
    )
    p_rows = "".join(
        f"<tr><td>{esc(p['metadata']['name'])}</td><td>{esc(p['spec'].get('pipelineName'))}</td>"
        f"<td>{esc((p.get('status') or {}).get('pipelineStatus') or 'Pending')}</td></tr>"
        for p in pipelines
    )
    r_rows = "".join(
        f"<tr><td>{esc(r.name)}</td><td>{esc(r.pipeline)}</td><td>{esc(r.status)}</td>"
        f"<td>{esc(r.problem or r.failure_reason or '')}</td></tr>"
        for r in runs
    )
    return (
        f"<div>namespace {esc(cluster.namespace)}</div>"
        "<table class='jack-pipelines'><tr><th>pipeline</th><th>SageMaker name</th>"
        f"<th>status</th></tr>{p_rows}</table>"
        "<table class='jack-runs'><tr><th>run</th><th>pipeline</th><th>status</th>"
        f"<th>failure</th></tr>{r_rows}</table>"
    )


def _definition_of(cluster: Cluster, execution: dict[str, Any]) -> PipelineDefinition | None:
    """The run's definition from its Pipeline object, to draw the DAG; None when not inline."""
    from .definition import load

    wanted = (execution.get("spec") or {}).get("pipelineName")
    for p in cluster.list("pipelines").get("items", []):
        spec = p.get("spec") or {}
        if spec.get("pipelineName") == wanted and isinstance(spec.get("pipelineDefinition"), str):
            defn = load(spec["pipelineDefinition"], name=wanted)
            return defn if defn.data is not None else None
    return None


class Submission:
    """One ``%ack_submit``: its displays (progress, card, panel) and its background work."""

    def __init__(
        self,
        definition: PipelineDefinition | None,
        *,
        name: str | None = None,
        role_arn: str = "",
        bucket: str | None = None,
        prefix: str = "jupyter-ack",
        kms_key_id: str | None = None,
        parameters: dict[str, str] | None = None,
        execute: bool = False,
        dry_run: bool = False,
        connect: Any = None,
        namespace: str | None = None,
    ) -> None:
        self.definition = definition
        self.name = name
        self.role_arn = role_arn
        self.bucket, self.prefix, self.kms_key_id = bucket, prefix, kms_key_id
        self.parameters = parameters or {}
        self.execute, self.dry_run = execute, dry_run
        self.connect = connect
        self.namespace = namespace
        self.published: Published | None = None
        self.card: str | None = None
        self.error: str | None = None
        self.lines: list[str] = []
        self.panel: StatusPanel | None = None
        self.done = threading.Event()
        self._log: Any = None
        self._card: Any = None

    @classmethod
    def of_panel(cls, panel: StatusPanel) -> Submission:
        made = cls(panel.definition)
        made.panel = panel
        made.done.set()
        return made

    def start(self, background: bool = True) -> None:
        """Show the placeholders now; fill them from a thread (or right here)."""
        self._log = display(HTML(self._log_html()), display_id=True)
        self._card = display(HTML("<div class='jack-card'>publishing\u2026</div>"), display_id=True)
        if self.connect is not None:
            from .widgets.panel import StatusPanel

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
        if self.panel is None or self.panel.follower is None:
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
        return f'<div class="jack-log" style="color:#475569">{body}{error}</div>'

    def _work(self) -> None:
        try:
            self._run()
        except JupyterAckError as e:
            self._fail(e.message + (f" ({e.hint})" if e.hint else ""))
        except Exception as e:  # a bug or an unexpected library error: one line, no traceback
            self._fail(f"{type(e).__name__}: {' '.join(str(e).split())[:300]}")
        finally:
            self.done.set()

    def _fail(self, message: str) -> None:
        self.error = message
        if self._log is not None:
            self._log.update(HTML(self._log_html()))
        if self.card is None and self._card is not None:
            self._card.update(HTML(problem_html("no handoff: " + message)))
        if self.panel is not None:
            self.panel.message = message

    def _run(self) -> None:
        from .manifests import manifests
        from .publish import publish
        from .submit import submit

        defn = self.definition
        assert defn is not None  # a Submission made by a magic always has one
        cluster: Cluster | None = None
        why = "the handoff is the result: --no-cluster (or %ack_handoff) applies nothing"
        if self.connect is not None:
            try:
                cluster = self.connect()
            except JupyterAckError as e:
                why = f"the handoff is the result: no cluster to apply to ({e.message})"
                if self.panel is not None:
                    self.panel.message = why
        namespace = cluster.namespace if cluster else (self.namespace or "default")
        if self.bucket and not self.dry_run:
            self.published = publish(
                defn,
                bucket=self.bucket,
                prefix=self.prefix,
                name=self.name,
                role_arn=self.role_arn,
                namespace=namespace,
                parameters=self.parameters,
                kms_key_id=self.kms_key_id,
            )
            state = "published" if self.published.uploaded else "unchanged"
            self._say(f"{state}: {self.published.s3_uri}")
        built = manifests(
            defn,
            name=self.name,
            role_arn=self.role_arn,
            namespace=namespace,
            execute=self.execute or cluster is None,
            parameters=self.parameters,
            s3_uri=self.published.s3_uri if self.published else None,
            version_id=self.published.version_id if self.published else None,
        )
        note = why if cluster is None else f"applying to {cluster.where}, namespace {namespace}"
        self.card = card_for(self.published, built.to_yaml(), self.name or "", namespace, note)
        self._card.update(
            card_widget_for(self.published, built.to_yaml(), self.name or "", namespace, note)
        )
        if cluster is None:
            return
        result = submit(
            defn,
            name=self.name,
            role_arn=self.role_arn,
            bucket=self.bucket,
            prefix=self.prefix,
            kms_key_id=self.kms_key_id,
            execute=self.execute,
            parameters=self.parameters,
            dry_run=self.dry_run,
            cluster=cluster,
            progress=self._say,
        )
        assert self.panel is not None
        run = result.run_name
        if run and not self.dry_run:
            self.panel.message = ""
            self.panel.follow(cluster, run)
        else:
            self.panel.message = (
                "dry run: nothing was applied" if self.dry_run else "applied; no run (--execute)"
            )

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


def card_for(
    published: Published | None, yaml_text: str, pipeline: str, namespace: str, note: str
) -> str:
    from .widgets.card import card_html

    return card_html(published, yaml_text, pipeline=pipeline, namespace=namespace, note=note)


def card_widget_for(
    published: Published | None, yaml_text: str, pipeline: str, namespace: str, note: str
) -> Any:
    """The same card as a widget with copy buttons (static HTML where widgets cannot show)."""
    from .widgets.card import card_data, card_html, copy_card

    data = card_data(published, yaml_text, pipeline=pipeline, namespace=namespace, note=note)
    html = card_html(published, yaml_text, pipeline=pipeline, namespace=namespace, note=note)
    return copy_card(data, html)


_magics: AckMagics | None = None


def last_submission() -> Submission | None:
    """The latest ``%ack_submit`` / ``%ack_status`` of this kernel (to ``wait()`` on it)."""
    return None if _magics is None else _magics.last


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """``%load_ext jupyter_ack``: register the magics (nothing heavy is imported)."""
    global _magics
    _magics = AckMagics(ipython)
    ipython.register_magics(_magics)
