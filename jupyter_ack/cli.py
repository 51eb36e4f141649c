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
from typing import IO, TYPE_CHECKING, Any

from ._version import __version__
from .errors import JupyterAckError

if TYPE_CHECKING:
    from .definition import PipelineDefinition
    from .diagnostics import Diagnostic

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

    p = sub.add_parser("demo", help="validate and draw the bundled example pipeline")
    p.add_argument("--output-dir", default="demo-output", help="where to write the drawings")
    p.set_defaults(run=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
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
    except BrokenPipeError:  # e.g. `jupyter-ack graph ... | head`
        sys.stderr.close()
        return EXIT_OK


def _is_source_error(e: JupyterAckError) -> bool:
    from .errors import SourceError

    return isinstance(e, SourceError) or type(e).__name__ == "AwsError"


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


def cmd_demo(args: argparse.Namespace) -> int:
    """The main job on the bundled example: validate it, draw it, show where the files are."""
    from .definition import load
    from .examples import example_path

    out_dir = args.output_dir
    os.makedirs(out_dir, exist_ok=True)
    path = example_path()
    defn = load(path)
    out = sys.stdout
    c = Colours(out)
    out.write(c.bold(f"jupyter-ack demo: the bundled example pipeline ({path.name})") + "\n\n")
    write_diagnostics(out, defn, defn.validate())
    out.write("\n" + c.bold("steps and edges") + "\n")
    for node in defn.dag.nodes.values():
        nested = f"  ({node.branch} branch of {node.parent})" if node.parent else ""
        out.write(f"  {node.name:<28} {node.type:<14}{nested}\n")
    for edge in defn.dag.edges:
        out.write(f"  {edge.source} -> {edge.target}  [{edge.kind}]\n")
    files = {
        "pipeline.svg": defn.to_svg() + "\n",
        "pipeline.mmd": defn.to_mermaid(),
        "pipeline.dot": defn.to_dot(),
        "graph.json": json.dumps(defn.graph_json(), indent=2) + "\n",
    }
    for name, text in files.items():
        with open(os.path.join(out_dir, name), "w", encoding="utf-8") as fh:
            fh.write(text)
    out.write(f"\nwrote {', '.join(files)} to {out_dir}/\n")
    out.write(
        "next: `jupyter-ack validate YOUR.json`, `jupyter-ack graph notebook.py:pipeline "
        "--format svg -o dag.svg`\n"
    )
    return EXIT_OK if defn.ok else EXIT_ERRORS


# output -----------------------------------------------------------------------------------


class Colours:
    """ANSI colours when writing to a terminal (NO_COLOR and FORCE_COLOR are honoured)."""

    def __init__(self, stream: IO[str]) -> None:
        if os.environ.get("NO_COLOR"):
            self.on = False
        elif os.environ.get("FORCE_COLOR"):
            self.on = True
        else:
            self.on = bool(getattr(stream, "isatty", lambda: False)())

    def _wrap(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.on else text

    def red(self, text: str) -> str:
        return self._wrap("1;31", text)

    def yellow(self, text: str) -> str:
        return self._wrap("1;33", text)

    def blue(self, text: str) -> str:
        return self._wrap("1;34", text)

    def green(self, text: str) -> str:
        return self._wrap("1;32", text)

    def dim(self, text: str) -> str:
        return self._wrap("2", text)

    def bold(self, text: str) -> str:
        return self._wrap("1", text)


def format_diagnostic(d: Diagnostic, source: str, c: Colours) -> str:
    """``file:line:col: error CODE: message [step S] · hint``, as compilers print them."""
    where = source
    if d.line is not None:
        where += f":{d.line}:{d.column}"
    sev = {"error": c.red, "warning": c.yellow, "info": c.blue}[d.severity](d.severity)
    parts = [f"{where}: {sev} {c.bold(d.code)}: {_one_line(d.message)}"]
    if d.step:
        parts.append(f"[step {_one_line(d.step)}]")
    if d.line is None and d.path:
        parts.append(f"at {_one_line(d.path)}")
    if d.hint:
        parts.append(c.dim("\u00b7 " + _one_line(d.hint)))
    return " ".join(parts)


def write_diagnostics(
    out: IO[str], defn: PipelineDefinition, diagnostics: list[Diagnostic]
) -> None:
    from .diagnostics import summary

    c = Colours(out)
    for d in diagnostics:
        out.write(format_diagnostic(d, defn.source, c) + "\n")
    errors = any(d.severity == "error" for d in diagnostics)
    mark = c.red("\u2717") if errors else c.green("\u2713")
    facts = [summary(diagnostics)]
    if defn.data is not None and isinstance(defn.data, dict):
        n = len(defn.dag.nodes)
        facts.append(f"{n} step{'s' * (n != 1)}, {len(defn.parameters)} parameters")
    if defn.sha256:
        facts.append(f"sha256 {defn.sha256[:12]}")
    sep = " \u00b7 "
    out.write(f"{mark} {_one_line(defn.source)}: {sep.join(facts)}\n")


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _one_line(text: object) -> str:
    """Text safe for one terminal line: control characters (escape sequences) are shown."""
    return _CONTROL.sub(lambda m: repr(m.group(0))[1:-1], str(text))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
