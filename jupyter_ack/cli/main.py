"""The ``jupyter-ack`` command (also ``jupyter ack``): a thin shell over the core.

Exit codes are a contract: 0 success (warnings allowed), 1 errors in the definition or a
failed operation, 2 bad usage or an unreadable input (each error class carries its own, see
``jupyter_ack.errors``). Problems are printed as one line each, never as a traceback.
Defaults for flags come from :class:`~jupyter_ack.config.AckConfig` (config files and
``JUPYTER_ACK_*``); a flag wins.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from jupyter_ack._version import __version__
from jupyter_ack.errors import EXIT_ERRORS, EXIT_OK, EXIT_USAGE, JupyterAckError, UsageError
from jupyter_ack.render.text import (
    CHECK,
    CROSS,
    Colours,
    RunView,
    duration,
    fit_encoding,
    one_line,
    table,
    write_diagnostics,
)

if TYPE_CHECKING:
    from jupyter_ack.ack.cluster import Cluster
    from jupyter_ack.config import AckConfig
    from jupyter_ack.ops.submit import SubmitEvent
    from jupyter_ack.pipeline.definition import PipelineDefinition

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
    p.add_argument("--bucket", help="the S3 bucket (versioning recommended; default: config)")
    p.add_argument("--prefix", help="key prefix (default jupyter-ack)")
    p.add_argument("--name", help="the pipeline name (default: the SDK pipeline's name)")
    p.add_argument("--role-arn", help="the role SageMaker assumes (default: the steps' role)")
    p.add_argument("--namespace", help="namespace for the bundle's manifests (default: default)")
    _parameter_option(p, "a parameter value for the bundle's execution (repeatable)")
    p.add_argument("--kms-key-id", help="encrypt with this KMS key (default: SSE-S3)")
    p.add_argument(
        "--sign",
        metavar="KMS_KEY_ID",
        help="sign handoff.json with this asymmetric KMS key (key usage SIGN_VERIFY)",
    )
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
    p.add_argument("--role-arn", help="the role SageMaker assumes (default: config)")
    p.add_argument("--namespace", help="the objects' namespace (default: default)")
    p.add_argument("--execute", action="store_true", help="add a PipelineExecution")
    _parameter_option(p)
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
    p.add_argument(
        "--signed-by",
        metavar="KMS_KEY_ID",
        help="require a valid signature of handoff.json by this KMS key",
    )
    _cluster_options(p)
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(run=cmd_handoff)

    p = sub.add_parser("submit", help="publish (optional), apply the ACK objects, and run")
    p.add_argument("definition", metavar="DEF", help=DEF_HELP)
    p.add_argument("--name", help="the SageMaker pipeline name (default: the SDK pipeline's)")
    p.add_argument("--role-arn", help="the role SageMaker assumes (default: config)")
    p.add_argument("--bucket", help="publish the definition and handoff bundle here first")
    p.add_argument("--prefix", help="key prefix (default jupyter-ack)")
    p.add_argument("--kms-key-id")
    p.add_argument("--execute", action="store_true", help="start a run (PipelineExecution)")
    _parameter_option(p)
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

    p = sub.add_parser(
        "diff",
        help="what changed between two definitions (steps, parameters, edges)",
        description="Compare definition A (older) with B (newer). With A alone, an s3:// "
        "object: its two newest versions. Exit 0 same, 1 different, 2 bad input.",
    )
    p.add_argument("a", metavar="A", help=DEF_HELP + "; s3://...?versionId=V picks a version")
    p.add_argument(
        "b", metavar="B", nargs="?", help="the newer definition (default: see A alone, above)"
    )
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(run=cmd_diff)

    p = sub.add_parser("stop", help="stop a run (deletes its PipelineExecution; ACK stops it)")
    p.add_argument("run_name", metavar="RUN")
    _cluster_options(p)
    p.set_defaults(run=cmd_stop)

    p = sub.add_parser(
        "rerun", help="a new run of a run's pipeline: its parameters, -p overrides, some steps"
    )
    p.add_argument("source", metavar="RUN", help="the run to take the pipeline and values from")
    _parameter_option(p)
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--from-step", metavar="STEP", help="run STEP and every step downstream of it"
    )
    which.add_argument("--steps", metavar="A,B", help="run only these steps")
    p.add_argument("--run-name", help="the new run's object name (default: unique, by time)")
    p.add_argument("--wait", action="store_true", help="follow it; exit 0 only if it succeeds")
    p.add_argument("--timeout", type=float, default=None, help="give up waiting after SECONDS")
    _cluster_options(p)
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(run=cmd_rerun)

    p = sub.add_parser(
        "history", help="every run SageMaker knows for a pipeline, stopped and deleted included"
    )
    p.add_argument("pipeline", metavar="PIPELINE", help="the SageMaker name or the object's")
    p.add_argument("--limit", type=int, default=50, help="at most this many runs (default 50)")
    _cluster_options(p)
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(run=cmd_history)

    p = sub.add_parser(
        "events",
        help="push step status through EventBridge and SQS instead of polling SageMaker",
        description="SageMaker sends pipeline step and execution status changes to "
        "EventBridge; with a queue receiving them, followers get steps pushed (docs/events.md).",
    )
    p.set_defaults(run=cmd_events)
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = actions.add_parser(
        "setup",
        help="make the SQS queue, the EventBridge rule and its target, the queue policy",
    )
    q.add_argument("--queue", default=None, metavar="NAME", help="queue name (jupyter-ack-events)")
    q.add_argument(
        "--rule", default=None, metavar="NAME", help="rule name (default bus; default: the queue's)"
    )
    q.add_argument("--region", help="AWS region (default: the profile's or AWS_DEFAULT_REGION)")
    q.add_argument(
        "--dry-run",
        "--print",
        dest="dry_run",
        action="store_true",
        help="make nothing: print the rule's pattern, the queue policy and the IAM policies",
    )
    q.add_argument("--format", choices=("text", "json"), default="text")
    q = actions.add_parser("check", help="read the events queue as a follower would")
    q.add_argument("--queue", metavar="URL", help="the queue URL or name (default: config)")
    q.add_argument("--region", help="AWS region (default: the queue URL's, else the profile's)")
    q.add_argument("--format", choices=("text", "json"), default="text")

    from jupyter_ack.cli.sandbox import add_parser as add_sandbox_parser

    add_sandbox_parser(sub)

    p = sub.add_parser("demo", help="the whole flow on the bundled example, on the sandbox")
    p.add_argument("--output-dir", default="demo-output", help="where to write the drawings")
    p.add_argument("--offline", action="store_true", help="only validate and draw (no sandbox)")
    p.set_defaults(run=cmd_demo)
    return parser


def _parameter_option(
    p: argparse.ArgumentParser, help: str = "a parameter value for the execution (repeatable)"
) -> None:
    p.add_argument("-p", "--parameter", action="append", default=[], metavar="K=V", help=help)


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
    if "jupyter_ack.ack.watch" in sys.modules:
        from jupyter_ack.ack.watch import stop_all

        stop_all()
    if "jupyter_ack.aws.events" in sys.modules:
        from jupyter_ack.aws.events import stop_all as stop_consumers

        stop_consumers()
    sys.stdout.flush()


def _main(argv: Sequence[str] | None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a non-UTF-8 terminal gets ASCII symbols
        fit_encoding(stream)
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
        return e.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except BrokenPipeError:  # e.g. `jupyter-ack graph ... | head`: the reader has had enough
        _stdout_gone()
        return EXIT_OK
    except OSError as e:  # the disk, a permission, a file: the system's words, one line
        where = f" ({e.filename})" if e.filename else ""
        _problem(f"{one_line(e.strerror or e)}{one_line(where)}", None)
        return EXIT_ERRORS
    except Exception as e:  # a library failed in a way we did not foresee: still one line
        if os.environ.get("JUPYTER_ACK_DEBUG"):
            raise
        _problem(
            f"unexpected {type(e).__name__}: {one_line(str(e))[:500]}",
            "this is a bug in jupyter-ack; JUPYTER_ACK_DEBUG=1 shows the traceback",
        )
        return EXIT_ERRORS
    finally:
        try:  # here, not at exit: output still buffered for a reader that has gone
            sys.stdout.flush()
        except BrokenPipeError:
            _stdout_gone()


def _stdout_gone() -> None:
    """Point stdout at /dev/null: what is still buffered for a reader that has gone (and the
    flush at exit) must not fail again, nor print a traceback."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _problem(message: str, hint: str | None) -> None:
    c = Colours(sys.stderr)
    sys.stderr.write(f"{c.red('error')}: {message}\n")
    if hint:
        sys.stderr.write(f"  {c.dim('hint: ' + hint)}\n")


# commands ---------------------------------------------------------------------------------


def cmd_validate(args: argparse.Namespace) -> int:
    from jupyter_ack.pipeline.diagnostics import has_errors
    from jupyter_ack.pipeline.sources import load

    defn = load(args.definition, name=args.name)
    diagnostics = defn.validate()
    errors = has_errors(diagnostics)
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
    from jupyter_ack.pipeline.diagnostics import errors as errors_of
    from jupyter_ack.pipeline.sources import load

    if args.output:
        _check_output_file(args.output, "-o")
    defn = load(args.definition)
    diagnostics = defn.validate()
    errors = errors_of(diagnostics)
    if defn.data is None or not isinstance(defn.data, dict) or not defn.dag.nodes:
        write_diagnostics(sys.stderr, defn, diagnostics)
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
        _write_output_file(args.output, "-o", text)
    else:
        _write_data(text)
    if errors:
        write_diagnostics(sys.stderr, defn, errors)
        return EXIT_ERRORS
    return EXIT_OK


def _check_output_file(path: str, flag: str) -> None:
    """Refuse (exit 2, before any work) an output path that cannot be a file to write."""
    if os.path.isdir(path):
        raise UsageError(f"{flag} {path} is a folder; give a file name, e.g. {path}/pipeline.svg")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        what = "is not a folder" if os.path.exists(folder) else "does not exist"
        raise UsageError(f"{flag} {path}: the folder {folder} {what}")


def _write_output_file(path: str, flag: str, text: str) -> None:
    """Write ``text`` to ``path`` as UTF-8; a failure is one line (exit 2), not a traceback."""
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as e:
        raise UsageError(f"{flag} {path}: cannot write it ({e.strerror or e})") from None


def _write_data(text: str) -> None:
    """A document (JSON, SVG, dot, Mermaid) on stdout, as UTF-8 whatever the terminal's
    encoding: it is a file's content, for a pipe or a redirect, not text for a person."""
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        sys.stdout.write(text)
        return
    sys.stdout.flush()
    buffer.write(text.encode("utf-8", "backslashreplace"))
    buffer.flush()


def _config() -> AckConfig:
    from jupyter_ack.config import AckConfig

    return AckConfig.load()


def _valid_definition(
    source: str, name: str | None = None, nothing: str | None = None
) -> PipelineDefinition | None:
    """Load and validate; print the diagnostics (and ``nothing``: what was therefore not
    done) and return None when there are errors.

    The pipeline is named by ``name``, else by the SDK object, else after the file.
    """
    from dataclasses import replace

    from jupyter_ack.pipeline.sources import load

    defn = load(source, name=name)
    stem = None if defn.name else _stem(source)
    if stem:
        defn = replace(defn, name=stem)
    if not defn.ok:
        write_diagnostics(sys.stderr, defn, defn.validate())
        if nothing:
            sys.stderr.write(nothing + "\n")
        return None
    return defn


def _stem(source: str) -> str | None:
    """A pipeline name from a file name (``abalone.json`` -> ``abalone``), when it is valid."""
    from jupyter_ack.pipeline.rules import is_pipeline_name

    stem = re.sub(r"[^A-Za-z0-9-]+", "-", os.path.basename(source).split(".")[0]).strip("-")
    return stem if is_pipeline_name(stem) else None


def _required(value: str | None, flag: str, key: str) -> str:
    if not value:
        raise UsageError(
            f"{flag} is required",
            hint=f"give {flag}, or set it once: JUPYTER_ACK_{key.upper()}=... or "
            f"c.AckConfig.{key} in jupyter_ack_config.py",
        )
    return value


def cmd_publish(args: argparse.Namespace) -> int:
    from jupyter_ack.ack.manifests import parse_assignments
    from jupyter_ack.bundle.format import check_location
    from jupyter_ack.bundle.publish import publish

    cfg = _config()
    bucket = _required(cfg.pick("bucket", args.bucket), "--bucket", "bucket")
    prefix = cfg.pick("prefix", args.prefix) or ""
    check_location(bucket, prefix, args.name)  # before the definition is even read: exit 2
    defn = _valid_definition(args.definition, args.name, "nothing was uploaded")
    if defn is None:
        return EXIT_ERRORS
    result = publish(
        defn,
        bucket=bucket,
        prefix=prefix,
        name=defn.name,
        role_arn=cfg.pick("role_arn", args.role_arn),
        namespace=cfg.pick("namespace", args.namespace) or "default",
        parameters=parse_assignments(args.parameter),
        kms_key_id=cfg.pick("kms_key_id", args.kms_key_id),
        sign_key_id=args.sign,
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
    if result.signed_by:
        lines.append(f"  signed      {result.signed_by} ({result.signing_algorithm})")
    lines.append(f"next (DevOps): {result.commands()[0][1]}")
    sys.stdout.write("\n".join(one_line(line) for line in lines) + "\n")
    return EXIT_OK


def cmd_manifests(args: argparse.Namespace) -> int:
    from jupyter_ack.ack.manifests import manifests, parse_assignments

    cfg = _config()
    role = _required(cfg.pick("role_arn", args.role_arn), "--role-arn", "role_arn")
    defn = _valid_definition(args.definition, args.name)
    if defn is None:
        return EXIT_ERRORS
    built = manifests(
        defn,
        name=defn.name,
        role_arn=role,
        namespace=cfg.pick("namespace", args.namespace) or "default",
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
    from jupyter_ack.bundle.verify import fetch

    bundle = fetch(args.uri, signed_by=args.signed_by)
    if args.format == "json":
        sys.stdout.write(json.dumps(bundle.summary(), indent=2) + "\n")
        return EXIT_OK if bundle.ok else EXIT_ERRORS
    c = Colours(sys.stdout)
    h = bundle.handoff
    mark = c.green(f"{CHECK} verified") if bundle.ok else c.red(f"{CROSS} does not verify")
    head = f"pipeline {h.get('pipeline_name')} ({h.get('steps')} steps) in {bundle.folder}/"
    out = [
        f"  sha256      {h.get('sha256')}",
        f"  version     {h.get('definition_version_id') or 'unversioned'}",
        f"  published   {h.get('published_at')} by {h.get('published_by')}",
        f"  namespace   {h.get('namespace')}",
    ]
    for label in ("files", "manifests"):
        if label in bundle.notes:
            out.append(f"  {label:<11} {bundle.notes[label]}")
    out.append(f"  signature   {_signature_note(bundle.signature)}")
    for p in h.get("parameters") or []:
        out.append(
            f"  parameter   {p.get('name')} ({p.get('type')}, default {p.get('default_value')!r})"
        )
    # names and URIs in handoff.json are user text: one_line, each
    out = [f"{mark}: {one_line(head)}", *(one_line(line) for line in out)]
    out += [f"  {c.red('problem')}     {one_line(p)}" for p in bundle.problems]
    sys.stdout.write("\n".join(out) + "\n")
    if not bundle.ok:
        if args.apply:
            sys.stdout.write("nothing was applied\n")
        return EXIT_ERRORS
    if not args.apply:
        return EXIT_OK
    return _apply_bundle(args, bundle)


def _signature_note(signature: Any) -> str:
    """What ``handoff`` says about handoff.json's signature (the problems say what is wrong)."""
    if signature.status == "valid":
        return f"valid: handoff.json signed by {signature.key_id} ({signature.algorithm})"
    if signature.status == "unsigned":
        return "none: handoff.json is unsigned (publish --sign KMS_KEY_ID signs it)"
    return f"{signature.status.upper()} (see the problems below)"


def _apply_bundle(args: argparse.Namespace, bundle: Any) -> int:
    """The DevOps path: the verified bundle's objects, applied as ``submit`` would."""
    import copy

    from jupyter_ack.ops.submit import apply_objects

    cluster = _connect(args, default_namespace=bundle.handoff.get("namespace"))
    pipeline = copy.deepcopy(bundle.pipeline)
    execution = None if args.no_run else copy.deepcopy(bundle.execution)
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
        on_event=_say,
        on_status=view.update,
    )
    if result.run is not None:
        view.finish(result.run)
        return EXIT_ERRORS if result.run.failed else EXIT_OK
    return EXIT_OK


def cmd_submit(args: argparse.Namespace) -> int:
    from jupyter_ack.ack.manifests import parse_assignments
    from jupyter_ack.ops.submit import submit

    cfg = _config()
    role = _required(cfg.pick("role_arn", args.role_arn), "--role-arn", "role_arn")
    defn = _valid_definition(args.definition, args.name, "nothing was published or applied")
    if defn is None:
        return EXIT_ERRORS
    quiet = args.format == "json"
    view = None if quiet else RunView(sys.stdout)
    result = submit(
        defn,
        name=defn.name,
        role_arn=role,
        bucket=cfg.pick("bucket", args.bucket),
        prefix=cfg.pick("prefix", args.prefix) or "",
        kms_key_id=cfg.pick("kms_key_id", args.kms_key_id),
        execute=args.execute,
        parameters=parse_assignments(args.parameter),
        run_name=args.run_name,
        wait=args.wait,
        cluster=_connect(args, cfg, check=False),
        dry_run=args.dry_run,
        wait_timeout=args.timeout,
        on_event=None if quiet else _say,
        on_status=None if view is None else view.update,
    )
    return _outcome(result, view)


def _outcome(result: Any, view: RunView | None) -> int:
    """Print a submit's or re-run's result (JSON when there is no view) and its exit code:
    1 when the run it followed did not succeed."""
    if view is None:
        sys.stdout.write(json.dumps(result.to_json(), indent=2) + "\n")
    elif result.run is not None:
        view.finish(result.run)
    return EXIT_ERRORS if result.run is not None and result.run.failed else EXIT_OK


QUIET_STAGES = ("validated", "finished")  # the diagnostics and the run view say these


def _say(event: SubmitEvent) -> None:
    if event.stage in QUIET_STAGES:
        return
    sys.stdout.write(f"  {one_line(event.message)}\n")
    sys.stdout.flush()


def _connect(
    args: argparse.Namespace,
    cfg: AckConfig | None = None,
    *,
    check: bool = True,
    default_namespace: str | None = None,
) -> Cluster:
    from jupyter_ack.ack.cluster import connect

    cfg = cfg or _config()
    cluster = connect(
        context=cfg.pick("context", args.context),
        namespace=args.namespace or default_namespace or cfg.namespace,
        kubeconfig=cfg.kubeconfig,
    )
    if check:
        cluster.check()
    return cluster


def cmd_status(args: argparse.Namespace) -> int:
    from jupyter_ack.ops import runs

    run = runs.find(_connect(args), args.run_name)
    json_lines = args.format == "json"
    if args.watch and run.in_cluster:
        view = None if json_lines else RunView(sys.stdout, live=True)
        with run.follow(steps=not args.no_steps) as lease:
            for status in lease.updates():
                if view is None:
                    sys.stdout.write(json.dumps(status.to_json()) + "\n")
                    sys.stdout.flush()
                else:
                    view.update(status)
            lease.raise_if_lost()
            last = lease.current or run.status(steps=False)
        if view is not None:
            view.finish(last)
    else:
        last = run.status(steps=not args.no_steps)
        if json_lines:
            sys.stdout.write(json.dumps(last.to_json()) + "\n")
        else:
            RunView(sys.stdout, live=False).finish(last)
    return EXIT_ERRORS if last.failed else EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    from jupyter_ack.ops import runs

    cluster = _connect(args)
    seen = runs.overview(cluster)
    if args.format == "json":
        doc = {
            "namespace": cluster.namespace,
            "pipelines": [p.to_json() for p in seen.pipelines],
            "runs": [r.to_json() for r in seen.runs],
            "note": seen.history_note,
        }
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return EXIT_OK
    rows = [("PIPELINE", "SAGEMAKER NAME", "STATUS")] + [
        (p.name, p.pipeline, p.status) for p in seen.pipelines
    ]
    table(sys.stdout, rows)
    sys.stdout.write("\n")
    _runs_table(list(reversed(seen.runs)))  # oldest first: the newest ends next to the prompt
    if seen.history_note:
        sys.stdout.write(Colours(sys.stdout).dim(one_line(seen.history_note)) + "\n")
    return EXIT_OK


def _runs_table(found: list[Any]) -> None:
    """RUN, PIPELINE, STATUS, DURATION, FAILURE; runs only SageMaker still has are marked."""
    run_rows = [("RUN", "PIPELINE", "STATUS", "DURATION", "FAILURE")]
    for r in found:
        failure = r.problem or r.failure_reason or ""
        name = r.name if r.in_cluster else f"{r.name} (object gone)"
        run_rows.append(
            (name, r.pipeline, r.status, duration(r.duration_seconds()), one_line(failure)[:60])
        )
    table(sys.stdout, [tuple(one_line(c) for c in row) for row in run_rows])


def cmd_history(args: argparse.Namespace) -> int:
    from jupyter_ack.ops import runs

    if args.limit < 1:
        raise UsageError("--limit takes a number of runs, at least 1")
    found = runs.history(_connect(args), args.pipeline, args.limit)
    if args.format == "json":
        sys.stdout.write(json.dumps([r.to_json() for r in found], indent=2) + "\n")
        return EXIT_OK
    if not found:
        sys.stdout.write(f"no runs of {one_line(args.pipeline)} in SageMaker\n")
        return EXIT_OK
    _runs_table(found)
    return EXIT_OK


def cmd_rerun(args: argparse.Namespace) -> int:
    from jupyter_ack.ack.manifests import parse_assignments, parse_steps
    from jupyter_ack.ops import runs
    from jupyter_ack.ops.rerun import rerun

    source = runs.get(_connect(args), args.source)
    quiet = args.format == "json"
    view = None if quiet else RunView(sys.stdout)
    result = rerun(
        source,
        parameters=parse_assignments(args.parameter),
        from_step=args.from_step,
        steps=parse_steps(args.steps),
        run_name=args.run_name,
        wait=args.wait,
        wait_timeout=args.timeout,
        on_event=None if quiet else _say,
        on_status=None if view is None else view.update,
    )
    return _outcome(result, view)


def cmd_stop(args: argparse.Namespace) -> int:
    from jupyter_ack.ops import runs

    result = runs.get(_connect(args), args.run_name).stop()
    if result.warning:
        sys.stdout.write(Colours(sys.stdout).yellow("warning") + f": {result.warning}\n")
    sys.stdout.write(one_line(result.message) + "\n")
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    """``jupyter-ack diff A B``: exit 0 when the definitions are the same, 1 when they differ,
    2 when one cannot be read (or is not JSON).

    With A alone (an ``s3://`` object without ``?versionId=``), its previous version is
    compared with its latest. ``--format json`` prints ``DefinitionDiff.to_json()``:
    ``same``, ``identical`` (same sha256), ``a`` and ``b`` (``source``, ``sha256``),
    ``summary``, ``steps`` (``added``/``removed``: ``name``, ``type``, ``path``, ``parent``,
    ``branch``; ``changed``: ``name``, ``type``, ``path``, ``moved``, ``changes`` of
    ``pointer``, ``op`` add|remove|replace, ``old``, ``new``), ``parameters`` (``added``,
    ``removed``, ``changed`` with ``fields``, ``old``, ``new``), ``edges`` (``added``,
    ``removed``: ``from``, ``to``, ``kind``) and ``other`` (changes outside the steps and
    parameters, each ``pointer``, ``op``, ``old``, ``new``). Values longer than 120
    characters are cut to 120 ending in "…" (see ``DefinitionDiff.to_json``).
    """
    from jupyter_ack.pipeline.sources import latest_versions, load

    if args.b is None:
        if not args.a.startswith("s3://"):
            raise UsageError(
                "diff needs two definitions, A and B",
                hint="or one s3:// object, to compare its two newest versions",
            )
        first, second = latest_versions(args.a)
    else:
        first, second = args.a, args.b
    a, b = load(first), load(second)
    unreadable = [d for d in (a, b) if d.data is None]
    for defn in unreadable:
        write_diagnostics(sys.stderr, defn, defn.validate())
    if unreadable:
        return EXIT_USAGE
    found = a.diff(b)
    if args.format == "json":
        sys.stdout.write(json.dumps(found.to_json(), indent=2, ensure_ascii=False) + "\n")
    else:
        found.write(sys.stdout)
    return EXIT_OK if found.same else EXIT_ERRORS


def cmd_events(args: argparse.Namespace) -> int:
    """``jupyter-ack events setup|check``: see docs/events.md."""
    from jupyter_ack.aws import eventsetup

    if args.action == "check":
        return _events_check(args)
    queue = args.queue or eventsetup.DEFAULT_QUEUE
    rule = eventsetup.rule_for(queue, args.rule)
    eventsetup.check_queue_name(queue)
    if args.dry_run:
        doc = eventsetup.plan(queue, rule, args.region)
        if args.format == "json":
            sys.stdout.write(json.dumps(doc, indent=2) + "\n")
            return EXIT_OK
        parts = [
            ("EventBridge rule (default bus)", doc["rule"]),
            ("SQS queue", doc["queue"]),
            ("queue policy (resource-based)", doc["queue_policy"]),
            ("IAM policy for users following runs", doc["iam_policy_user"]),
            ("IAM policy for `jupyter-ack events setup`", doc["iam_policy_setup"]),
        ]
        text = "\n\n".join(f"# {title}\n{json.dumps(body, indent=2)}" for title, body in parts)
        sys.stdout.write(text + "\n\n# nothing was made (--dry-run)\n")
        return EXIT_OK
    result = eventsetup.setup(queue, rule, args.region)
    if args.format == "json":
        sys.stdout.write(json.dumps(result.to_json(), indent=2) + "\n")
        return EXIT_OK
    c = Colours(sys.stdout)
    lines = [f"{c.green(CHECK)} {change}" for change in result.changes] or [
        f"{c.green(CHECK)} already set up: nothing changed"
    ]
    lines += [
        f"  queue   {result.queue_url}",
        f"  rule    {result.rule_arn} (default event bus)",
        "use it (every view reading this configuration gets steps pushed):",
        f"  export JUPYTER_ACK_EVENTS_QUEUE={result.queue_url}",
        f"  or c.AckConfig.events_queue = {json.dumps(result.queue_url)} in jupyter_ack_config.py",
        "one queue per process that follows runs: a shared queue splits the events "
        "(docs/events.md)",
    ]
    sys.stdout.write("\n".join(one_line(line) for line in lines) + "\n")
    return EXIT_OK


def _events_check(args: argparse.Namespace) -> int:
    from jupyter_ack.aws import eventsetup

    queue = _config().pick("events_queue", args.queue)
    if not queue:
        raise UsageError(
            "no events queue given",
            hint="give --queue URL, or set JUPYTER_ACK_EVENTS_QUEUE (`jupyter-ack events "
            "setup` prints it)",
        )
    found = eventsetup.check(queue, args.region)
    if args.format == "json":
        sys.stdout.write(json.dumps(found, indent=2) + "\n")
        return EXIT_OK
    c = Colours(sys.stdout)
    lines = [
        f"{c.green(CHECK)} the events queue answers: {found['queue_url']}",
        f"  messages waiting {found['messages']}, in flight {found['in_flight']}",
    ]
    if found["rules"]:
        lines += [f"  rule may send   {arn}" for arn in found["rules"]]
    else:
        lines.append(
            f"  {c.yellow('warning')}: no rule may send to it (its policy names none): "
            "run `jupyter-ack events setup`"
        )
    sys.stdout.write("\n".join(one_line(line) for line in lines) + "\n")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """The main job on the bundled example, on the sandbox (see jupyter_ack.cli.demo)."""
    from jupyter_ack.cli.demo import run_demo

    return run_demo(args.output_dir, offline=args.offline)
