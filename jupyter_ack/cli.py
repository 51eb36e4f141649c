"""The ``jupyter-ack`` command (also ``jupyter ack``): a thin shell over the core.

Exit codes are a contract: 0 success (warnings allowed), 1 errors in the definition or a
failed operation, 2 bad usage or an unreadable input. Problems are printed as one line each,
never as a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import JupyterAckError
from .terminal import CHECK, Colours, RunView, duration, one_line, table, write_diagnostics

if TYPE_CHECKING:
    from .definition import PipelineDefinition

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2

DEF_HELP = (
    "the definition: a JSON file, '-' for stdin, s3://bucket/key, or file.py:NAME / "
    "package.module:NAME naming a SageMaker Pipeline, a dict, JSON text or a function"
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line and exit 2, as argparse does, plus a pointer
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n(see '{self.prog} --help')\n")
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="jupyter-ack",
        description="Check, draw, publish and run SageMaker pipelines through ACK on Kubernetes.",
    )
    parser.add_argument("--version", action="version", version=f"jupyter-ack {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("validate", help="check a definition and list its problems")
    p.add_argument("definition", metavar="DEF", help=DEF_HELP)
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--name", help="the pipeline name to check as well (SageMaker's rules)")
    p.set_defaults(run=cmd_validate)

    p = sub.add_parser("graph", help="print the step graph")
    p.add_argument("definition", metavar="DEF", help=DEF_HELP)
    p.add_argument("--format", choices=("json", "mermaid", "dot", "svg"), default="json")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.set_defaults(run=cmd_graph)

    p = sub.add_parser("publish", help="upload the definition and a handoff bundle to S3")
    p.add_argument("definition", metavar="DEF", help=DEF_HELP)
    p.add_argument("--bucket", required=True, help="the S3 bucket (versioning recommended)")
    p.add_argument("--prefix", default="jupyter-ack", help="key prefix (default jupyter-ack)")
    p.add_argument("--name", help="the pipeline name (default: the SDK pipeline's name)")
    p.add_argument("--role-arn", help="the role SageMaker assumes (default: the steps' role)")
    p.add_argument("--namespace", default="default", help="namespace for the bundle's manifests")
    p.add_argument(
        "-p",
        "--parameter",
        action="append",
        default=[],
        metavar="K=V",
        help="a parameter value for the bundle's execution (repeatable)",
    )
    p.add_argument("--kms-key-id", help="encrypt with this KMS key (default: SSE-S3)")
    p.add_argument(
        "--presign",
        type=int,
        nargs="?",
        const=3600,
        metavar="SECONDS",
        help="also give a presigned URL (default 3600 s, at most 7 days)",
    )
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(run=cmd_publish)

    p = sub.add_parser("manifests", help="print the ACK Pipeline (and PipelineExecution) objects")
    p.add_argument("definition", metavar="DEF", help=DEF_HELP)
    p.add_argument("--name", help="the SageMaker pipeline name (default: the SDK pipeline's)")
    p.add_argument("--role-arn", required=True, help="the role SageMaker assumes")
    p.add_argument("--namespace", default="default")
    p.add_argument("--execute", action="store_true", help="add a PipelineExecution")
    p.add_argument(
        "-p",
        "--parameter",
        action="append",
        default=[],
        metavar="K=V",
        help="a parameter value for the execution (repeatable)",
    )
    p.add_argument("--display-name")
    p.add_argument("--description")
    p.add_argument("--run-name", help="the PipelineExecution's name (default: unique, by time)")
    p.add_argument("--run-display-name")
    p.add_argument("--run-description")
    p.add_argument("--max-parallel-steps", type=int)
    p.add_argument(
        "--selected-step",
        action="append",
        default=[],
        metavar="STEP",
        help="selective execution: run only these steps (repeatable)",
    )
    p.add_argument("--source-execution-arn", help="selective execution: take the others from here")
    p.add_argument("-o", "--output", choices=("yaml", "json"), default="yaml")
    p.set_defaults(run=cmd_manifests)

    p = sub.add_parser("handoff", help="fetch and verify a handoff bundle (--apply: and apply it)")
    p.add_argument("uri", metavar="S3_URI", help="the bundle's folder or its handoff.json")
    p.add_argument("--apply", action="store_true", help="apply the verified bundle to the cluster")
    p.add_argument("--no-run", action="store_true", help="with --apply: the Pipeline only")
    p.add_argument("--wait", action="store_true", help="with --apply: follow the run to its end")
    p.add_argument("--dry-run", action="store_true", help="with --apply: the API server's dry run")
    _cluster_options(p)
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(run=cmd_handoff)

    p = sub.add_parser("submit", help="publish (optional), apply the ACK objects, and run")
    p.add_argument("definition", metavar="DEF", help=DEF_HELP)
    p.add_argument("--name", help="the SageMaker pipeline name (default: the SDK pipeline's)")
    p.add_argument("--role-arn", required=True, help="the role SageMaker assumes")
    p.add_argument("--bucket", help="publish the definition and handoff bundle here first")
    p.add_argument("--prefix", default="jupyter-ack")
    p.add_argument("--kms-key-id")
    p.add_argument("--execute", action="store_true", help="start a run (PipelineExecution)")
    p.add_argument("-p", "--parameter", action="append", default=[], metavar="K=V")
    p.add_argument("--run-name", help="the run's object name (default: unique, by time)")
    p.add_argument("--wait", action="store_true", help="follow the run; exit 0 only if it succeeds")
    p.add_argument("--dry-run", action="store_true", help="the API server's dry run: write nothing")
    p.add_argument("--timeout", type=float, default=None, help="give up waiting after SECONDS")
    _cluster_options(p)
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(run=cmd_submit)

    p = sub.add_parser("status", help="a run's status and steps (live with --watch)")
    p.add_argument(
        "run_name", metavar="RUN", nargs="?", help="the PipelineExecution (default: latest)"
    )
    p.add_argument("--watch", "-w", action="store_true", help="follow it until it finishes")
    p.add_argument("--no-steps", action="store_true", help="do not ask SageMaker for the steps")
    _cluster_options(p)
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(run=cmd_status)

    p = sub.add_parser("list", help="pipelines and runs, like kubectl get")
    _cluster_options(p)
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(run=cmd_list)

    p = sub.add_parser("stop", help="stop a run (deletes its PipelineExecution; ACK stops it)")
    p.add_argument("run_name", metavar="RUN")
    _cluster_options(p)
    p.set_defaults(run=cmd_stop)

    from .sandbox.cli import add_parser as add_sandbox_parser

    add_sandbox_parser(sub)

    p = sub.add_parser("demo", help="the whole flow on the bundled example, on the sandbox")
    p.add_argument("--output-dir", default="demo-output", help="where to write the drawings")
    p.add_argument("--offline", action="store_true", help="only validate and draw (no sandbox)")
    p.set_defaults(run=cmd_demo)
    return parser


def _cluster_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--context", help="kubeconfig context (default: the current one)")
    p.add_argument("--namespace", "-n", help="namespace (default: the context's, else default)")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    finally:
        _shutdown()


def _shutdown() -> None:
    """Stop watch and poller threads before the interpreter exits (a daemon thread caught
    writing at exit aborts the process)."""
    if "jupyter_ack.watch" in sys.modules:
        from .watch import stop_all

        stop_all()
    sys.stdout.flush()


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        code: int = args.run(args)
        return code
    except JupyterAckError as e:
        _problem(e.message, e.hint)
        return EXIT_USAGE if _is_source_error(e) else EXIT_ERRORS
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except Exception as e:  # a library failed in a way we did not foresee: still one line
        if os.environ.get("JUPYTER_ACK_DEBUG"):
            raise
        _problem(
            f"unexpected {type(e).__name__}: {one_line(str(e))[:500]}",
            "this is a bug in jupyter-ack; JUPYTER_ACK_DEBUG=1 shows the traceback",
        )
        return EXIT_ERRORS
    except BrokenPipeError:  # e.g. `jupyter-ack graph ... | head`
        sys.stderr.close()
        return EXIT_OK


def _is_source_error(e: JupyterAckError) -> bool:
    from .errors import SourceError

    return isinstance(e, SourceError)


def _problem(message: str, hint: str | None) -> None:
    c = Colours(sys.stderr)
    sys.stderr.write(f"{c.red('error')}: {message}\n")
    if hint:
        sys.stderr.write(f"  {c.dim('hint: ' + hint)}\n")


# commands ---------------------------------------------------------------------------------


def cmd_validate(args: argparse.Namespace) -> int:
    from .definition import load

    defn = load(args.definition, name=args.name)
    diagnostics = defn.validate()
    errors = any(d.severity == "error" for d in diagnostics)
    if args.format == "json":
        doc = {
            "ok": not errors,
            "sha256": defn.sha256,
            "diagnostics": [d.to_json() for d in diagnostics],
        }
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    else:
        write_diagnostics(sys.stdout, defn, diagnostics)
    return EXIT_ERRORS if errors else EXIT_OK


def cmd_graph(args: argparse.Namespace) -> int:
    from .definition import load

    defn = load(args.definition)
    diagnostics = defn.validate()
    errors = [d for d in diagnostics if d.severity == "error"]
    if defn.data is None or not isinstance(defn.data, dict) or not defn.dag.nodes:
        write_diagnostics(sys.stderr, defn, diagnostics or errors)
        return EXIT_ERRORS
    if args.format == "json":
        text = json.dumps(defn.graph_json(), indent=2, ensure_ascii=False) + "\n"
    elif args.format == "mermaid":
        text = defn.to_mermaid()
    elif args.format == "dot":
        text = defn.to_dot()
    else:
        text = defn.to_svg() + "\n"
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    if errors:
        write_diagnostics(sys.stderr, defn, errors)
        return EXIT_ERRORS
    return EXIT_OK


def _valid_definition(source: str, name: str | None = None) -> PipelineDefinition | None:
    """Load and validate; print the diagnostics and return None when there are errors.

    The pipeline is named by ``name``, else by the SDK object, else after the file.
    """
    from dataclasses import replace

    from .definition import load

    defn = load(source, name=name)
    stem = None if defn.name else _stem(source)
    if stem:
        defn = replace(defn, name=stem)
    diagnostics = defn.validate()
    if any(d.severity == "error" for d in diagnostics):
        write_diagnostics(sys.stderr, defn, diagnostics)
        return None
    return defn


def cmd_publish(args: argparse.Namespace) -> int:
    from .manifests import parse_assignments
    from .publish import publish

    defn = _valid_definition(args.definition, args.name)
    if defn is None:
        sys.stderr.write("nothing was uploaded\n")
        return EXIT_ERRORS
    result = publish(
        defn,
        bucket=args.bucket,
        prefix=args.prefix,
        name=defn.name,
        role_arn=args.role_arn,
        namespace=args.namespace,
        parameters=parse_assignments(args.parameter),
        kms_key_id=args.kms_key_id,
        presign_seconds=args.presign,
    )
    if args.format == "json":
        sys.stdout.write(json.dumps(result.to_json(), indent=2) + "\n")
        return EXIT_OK
    c = Colours(sys.stdout)
    what = "uploaded" if result.uploaded else "unchanged, already at"
    version = f" (version {result.version_id})" if result.version_id else " (bucket not versioned)"
    lines = [
        f"{c.green(CHECK)} {what} {result.s3_uri}{version}",
        f"  sha256      {result.sha256}",
        f"  encryption  {result.encryption}{' ' + result.kms_key_id if result.kms_key_id else ''}",
        f"  https       {result.https_url}",
        f"  console     {result.console_url}",
    ]
    if result.presigned_url:
        lines.append(f"  presigned   {result.presigned_url}")
    lines.append(f"  handoff     {result.handoff_uri}")
    folder = result.handoff_uri.rsplit("/", 1)[0]
    lines.append(f"next (DevOps): jupyter-ack handoff {folder}/")
    sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_OK


def _stem(source: str) -> str | None:
    """A pipeline name from a file name (``abalone.json`` -> ``abalone``), when it is valid."""

    from .manifests import PIPELINE_NAME

    stem = re.sub(r"[^A-Za-z0-9-]+", "-", os.path.basename(source).split(".")[0]).strip("-")
    return stem if stem and PIPELINE_NAME.match(stem) else None


def cmd_manifests(args: argparse.Namespace) -> int:
    from .manifests import manifests, parse_assignments

    defn = _valid_definition(args.definition, args.name)
    if defn is None:
        return EXIT_ERRORS
    built = manifests(
        defn,
        name=defn.name,
        role_arn=args.role_arn,
        namespace=args.namespace,
        execute=args.execute,
        parameters=parse_assignments(args.parameter),
        display_name=args.display_name,
        description=args.description,
        execution_name=args.run_name,
        execution_display_name=args.run_display_name,
        execution_description=args.run_description,
        max_parallel_steps=args.max_parallel_steps,
        selected_steps=args.selected_step,
        source_execution_arn=args.source_execution_arn,
    )
    sys.stdout.write(built.to_yaml() if args.output == "yaml" else built.to_json())
    return EXIT_OK


def cmd_handoff(args: argparse.Namespace) -> int:
    from .handoff import fetch

    bundle = fetch(args.uri)
    if args.format == "json":
        sys.stdout.write(json.dumps(bundle.summary(), indent=2) + "\n")
        return EXIT_OK if bundle.ok else EXIT_ERRORS
    c = Colours(sys.stdout)
    h = bundle.handoff
    mark = c.green("\u2713 verified") if bundle.ok else c.red("\u2717 does not verify")
    out = [
        f"{mark}: pipeline {h.get('pipeline_name')} ({h.get('steps')} steps) in {bundle.folder}/",
        f"  sha256      {h.get('sha256')}",
        f"  version     {h.get('definition_version_id') or 'unversioned'}",
        f"  published   {h.get('published_at')} by {h.get('published_by')}",
        f"  namespace   {h.get('namespace')}",
    ]
    for p in h.get("parameters") or []:
        out.append(
            f"  parameter   {p.get('name')} ({p.get('type')}, default {p.get('default_value')!r})"
        )
    out += [f"  {c.red('problem')}     {one_line(p)}" for p in bundle.problems]
    sys.stdout.write("\n".join(out) + "\n")
    if not bundle.ok:
        if args.apply:
            sys.stdout.write("nothing was applied\n")
        return EXIT_ERRORS
    if not args.apply:
        return EXIT_OK
    return _apply_bundle(args, bundle)


def _apply_bundle(args: argparse.Namespace, bundle: Any) -> int:
    """The DevOps path: the verified bundle's objects, applied as ``submit`` would."""
    from .cluster import connect
    from .submit import apply_objects

    cluster = connect(
        context=args.context, namespace=args.namespace or bundle.handoff.get("namespace")
    )
    cluster.check()
    pipeline = json.loads(json.dumps(bundle.pipeline))
    execution = None if args.no_run else json.loads(json.dumps(bundle.execution))
    for doc in (pipeline, execution):
        if doc is not None:
            doc["metadata"]["namespace"] = cluster.namespace
    view = RunView(sys.stdout)
    result = apply_objects(
        cluster,
        pipeline,
        execution,
        dry_run=args.dry_run,
        wait=args.wait,
        say=_say,
        on_status=view.update,
    )
    if result.run is not None:
        view.finish(result.run)
        return EXIT_OK if result.run.succeeded else EXIT_ERRORS
    return EXIT_OK


def cmd_submit(args: argparse.Namespace) -> int:
    from .manifests import parse_assignments
    from .submit import submit

    defn = _valid_definition(args.definition, args.name)
    if defn is None:
        sys.stderr.write("nothing was published or applied\n")
        return EXIT_ERRORS
    quiet = args.format == "json"
    view = None if quiet else RunView(sys.stdout)
    result = submit(
        defn,
        name=defn.name,
        role_arn=args.role_arn,
        bucket=args.bucket,
        prefix=args.prefix,
        kms_key_id=args.kms_key_id,
        execute=args.execute,
        parameters=parse_assignments(args.parameter),
        run_name=args.run_name,
        wait=args.wait,
        context=args.context,
        namespace=args.namespace,
        dry_run=args.dry_run,
        wait_timeout=args.timeout,
        progress=None if quiet else _say,
        on_status=None if view is None else view.update,
    )
    if quiet:
        sys.stdout.write(json.dumps(result.to_json(), indent=2) + "\n")
    elif view is not None and result.run is not None:
        view.finish(result.run)
    if result.run is not None and not result.run.succeeded:
        return EXIT_ERRORS
    return EXIT_OK


def _say(message: str) -> None:
    sys.stdout.write(f"  {one_line(message)}\n")
    sys.stdout.flush()


def _connect(args: argparse.Namespace) -> Any:
    from .cluster import connect

    cluster = connect(context=args.context, namespace=args.namespace)
    cluster.check()
    return cluster


def cmd_status(args: argparse.Namespace) -> int:
    from .follow import RunFollower
    from .status import from_object

    cluster = _connect(args)
    name = args.run_name or _latest_run(cluster)
    if cluster.get("pipelineexecutions", name) is None:
        raise JupyterAckError(
            f"no run {name!r} in namespace {cluster.namespace}",
            hint="`jupyter-ack list` shows the runs there",
        )
    follower = RunFollower(cluster, name, steps=not args.no_steps).start()
    json_lines = args.format == "json"
    view = None if json_lines else RunView(sys.stdout, live=args.watch)
    last = None
    try:
        for run in follower.updates(timeout=None if args.watch else 5.0):
            last = run
            if json_lines:
                if args.watch:
                    sys.stdout.write(json.dumps(run.to_json()) + "\n")
                    sys.stdout.flush()
            elif args.watch and view is not None:
                view.update(run)
            if not args.watch and (run.steps_source != "not polled" or not run.arn):
                break
    finally:
        follower.stop()
    if last is None:
        obj = cluster.get("pipelineexecutions", name)
        last = from_object(obj) if obj else None
    if last is None:
        raise JupyterAckError(f"run {name!r} disappeared")
    if json_lines and not args.watch:
        sys.stdout.write(json.dumps(last.to_json()) + "\n")
    elif view is not None:
        view.finish(last)
    return (
        EXIT_ERRORS
        if last.status in ("Failed", "Stopped") or last.synced == "terminal"
        else EXIT_OK
    )


def _latest_run(cluster: Any) -> str:
    from .follow import latest_run

    return latest_run(cluster)


def cmd_list(args: argparse.Namespace) -> int:
    from .status import from_object

    cluster = _connect(args)
    pipelines = cluster.list("pipelines").get("items", [])
    runs = [from_object(o) for o in cluster.list("pipelineexecutions").get("items", [])]
    if args.format == "json":
        doc = {
            "namespace": cluster.namespace,
            "pipelines": [
                {
                    "name": p["metadata"]["name"],
                    "pipeline": p["spec"].get("pipelineName"),
                    "status": (p.get("status") or {}).get("pipelineStatus"),
                }
                for p in pipelines
            ],
            "runs": [r.to_json() for r in runs],
        }
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return EXIT_OK
    rows = [("PIPELINE", "SAGEMAKER NAME", "STATUS")] + [
        (
            p["metadata"]["name"],
            str(p["spec"].get("pipelineName")),
            str((p.get("status") or {}).get("pipelineStatus") or "Pending"),
        )
        for p in pipelines
    ]
    table(sys.stdout, rows)
    sys.stdout.write("\n")
    run_rows = [("RUN", "PIPELINE", "STATUS", "DURATION", "FAILURE")]
    for r in sorted(runs, key=lambda r: r.start or ""):
        failure = r.problem or r.failure_reason or ""
        run_rows.append(
            (r.name, r.pipeline, r.status, duration(r.duration_seconds()), one_line(failure)[:60])
        )
    table(sys.stdout, run_rows)
    return EXIT_OK


def cmd_stop(args: argparse.Namespace) -> int:
    cluster = _connect(args)
    obj = cluster.get("pipelineexecutions", args.run_name)
    if obj is None:
        raise JupyterAckError(f"no run {args.run_name!r} in namespace {cluster.namespace}")
    state = (obj.get("status") or {}).get("pipelineExecutionStatus") or "Pending"
    retain = (obj["metadata"].get("annotations") or {}).get("services.k8s.aws/deletion-policy")
    if retain == "retain":
        sys.stdout.write(
            f"{args.run_name} has deletion-policy retain: "
            "deleting the object will NOT stop the run\n"
        )
    else:
        sys.stdout.write(
            f"deleting pipelineexecutions/{args.run_name} ({state}); "
            "ACK stops the run in SageMaker\n"
        )
    cluster.delete("pipelineexecutions", args.run_name)
    sys.stdout.write("deleted; the SageMaker record of the run stays\n")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """The main job on the bundled example, on the sandbox (see jupyter_ack.demo)."""
    from .demo import run_demo

    return run_demo(args.output_dir, offline=args.offline)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
