"""What the terminal shows: coloured diagnostics, tables, and a live view of a run.

Everything a user's terminal prints passes through :func:`one_line`, so names from a
definition or the cluster can never inject escape sequences, break the line, or reorder what
follows them (bidirectional controls). The symbols (\u2713, \u2717, \u00b7, ...) are the
ones below; on a terminal whose encoding lacks them, :func:`fit_encoding` prints
:data:`ASCII_SYMBOLS` instead.
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from jupyter_ack.pipeline.definition import PipelineDefinition
    from jupyter_ack.pipeline.diagnostics import Diagnostic

CHECK, CROSS = "\u2713", "\u2717"

# What each symbol the views print becomes on a terminal that cannot show it (an ASCII or
# Latin-1 locale, PYTHONIOENCODING=ascii): the one place the fallback is chosen.
ASCII_SYMBOLS = {
    CHECK: "ok",
    CROSS: "x",
    "\u00b7": "*",  # a separator, a pending step
    "\u25b6": ">",  # executing
    "\u25b7": ">",  # starting
    "\u25a0": "#",  # stopping, stopped
    "\u2192": "->",
    "\u2026": "...",
    "\u2014": "--",
}
ENCODE_ERRORS = "jupyter-ack-symbols"


def _ascii_symbols(error: UnicodeError) -> tuple[str, int]:
    """Encoding error handler: a known symbol as its ASCII stand-in, any other character the
    stream cannot encode as a ``\\uXXXX`` escape (still valid inside JSON strings)."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    out = []
    for ch in error.object[error.start : error.end]:
        stand_in = ASCII_SYMBOLS.get(ch)
        if stand_in is None:
            code = ord(ch)
            if code > 0xFFFF:  # as JSON writes it: a surrogate pair
                code -= 0x10000
                stand_in = f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
            else:
                stand_in = f"\\u{code:04x}"
        out.append(stand_in)
    return "".join(out), error.end


codecs.register_error(ENCODE_ERRORS, _ascii_symbols)


def fit_encoding(stream: IO[str]) -> None:
    """Make ``stream`` print what its encoding lacks as ASCII instead of failing mid-output.

    A terminal whose encoding has the symbols is left alone; otherwise the stream's error
    handler becomes :func:`_ascii_symbols` ("ok" for \u2713, "x" for \u2717, ...).
    """
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        "".join(ASCII_SYMBOLS).encode(encoding)
        return
    except (UnicodeEncodeError, LookupError):
        pass
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors=ENCODE_ERRORS)


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
    parts = [f"{where}: {sev} {c.bold(d.code)}: {one_line(d.message)}"]
    if d.step:
        parts.append(f"[step {one_line(d.step)}]")
    if d.line is None and d.path:
        parts.append(f"at {one_line(d.path)}")
    if d.hint:
        parts.append(c.dim("\u00b7 " + one_line(d.hint)))
    return " ".join(parts)


def write_diagnostics(
    out: IO[str], defn: PipelineDefinition, diagnostics: list[Diagnostic]
) -> None:
    from jupyter_ack.pipeline.diagnostics import has_errors, summary

    c = Colours(out)
    for d in diagnostics:
        out.write(format_diagnostic(d, defn.source, c) + "\n")
    mark = c.red(CROSS) if has_errors(diagnostics) else c.green(CHECK)
    facts = [summary(diagnostics)]
    if defn.data is not None and isinstance(defn.data, dict):
        n = len(defn.dag.nodes)
        facts.append(f"{n} step{'s' * (n != 1)}, {len(defn.parameters)} parameters")
    if defn.sha256:
        facts.append(f"sha256 {defn.sha256[:12]}")
    sep = " \u00b7 "
    out.write(f"{mark} {one_line(defn.source)}: {sep.join(facts)}\n")


# Bidirectional controls: invisible, they reorder the text around them, so a step name could
# read as another (CVE-2021-42574, "Trojan Source").
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
# C0 and C1 controls (escape sequences, line breaks), line and paragraph separators, and the
# bidirectional controls: each is shown as its escape (\x1b, \n, \u2028, \u202e)
CONTROL = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029{BIDI_CONTROLS}]")


def one_line(text: object) -> str:
    """Text safe for one terminal line: control, line-separator and bidirectional-control
    characters are shown as escapes (``\\x1b``, ``\\u202e``) instead of acting."""
    return CONTROL.sub(lambda m: repr(m.group(0))[1:-1], str(text))


def table(out: IO[str], rows: Sequence[tuple[str, ...]]) -> None:
    """Columns padded like kubectl's."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        out.write("   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


class RunView:
    """A live terminal view of a run, redrawn in place on a terminal (lines otherwise)."""

    SYMBOLS: ClassVar[dict[str, str]] = {
        "Succeeded": "\u2713",
        "Failed": "\u2717",
        "Executing": "\u25b6",
        "Starting": "\u25b7",
        "Stopping": "\u25a0",
        "Stopped": "\u25a0",
    }

    def __init__(self, out: IO[str], live: bool = True) -> None:
        self.out = out
        self.c = Colours(out)
        self.tty = bool(getattr(out, "isatty", lambda: False)()) and live
        self.drawn = 0
        self.last_line = ""

    def render(self, run: Any) -> list[str]:
        colour = {"Succeeded": self.c.green, "Failed": self.c.red, "Stopped": self.c.yellow}.get(
            run.status, self.c.blue
        )
        took = duration(run.duration_seconds())
        head = f"{run.name}  {colour(run.status)}  pipeline {run.pipeline}  {took}"
        lines = [head]
        if run.problem:
            lines.append(f"  {self.c.red('ACK')}: {one_line(run.problem)}")
        if run.unreachable:
            lines.append(f"  {self.c.yellow('cluster unreachable')}: {one_line(run.unreachable)}")
            lines.append("  retrying; the last known state is shown")
        for s in run.steps:
            mark = self.SYMBOLS.get(s.status, "\u00b7")
            reason = f"  {one_line(s.failure_reason)}" if s.failure_reason else ""
            lines.append(f"  {mark} {one_line(s.name):<32} {s.status}{reason}")
        if run.steps_source not in ("sagemaker", "not polled", "off"):
            lines.append(f"  {self.c.dim('steps ' + run.steps_source)}")
        return lines

    def update(self, run: Any) -> None:
        lines = self.render(run)
        if self.tty:
            if self.drawn:
                self.out.write(f"\x1b[{self.drawn}F\x1b[J")
            self.out.write("\n".join(lines) + "\n")
            self.drawn = len(lines)
        else:  # a log: one line per change
            steps = ", ".join(f"{s.name}={s.status}" for s in run.steps)
            line = f"{run.name}: {run.status}" + (f" [{steps}]" if steps else "")
            if run.unreachable:
                line += f" (cluster unreachable: {run.unreachable}; retrying)"
            if line != self.last_line:
                self.out.write(one_line(line) + "\n")
                self.last_line = line
        self.out.flush()

    def finish(self, run: Any) -> None:
        if not self.tty:
            self.drawn = 0
            for line in self.render(run):
                self.out.write(line + "\n")
        else:
            self.update(run)
        failed = run.failed_step
        if run.status == "Failed":
            where = f"step {failed.name}: {failed.failure_reason}" if failed else run.failure_reason
            self.out.write(f"{self.c.red('failed')} at {one_line(where or 'unknown step')}\n")
        elif run.synced == "terminal":
            self.out.write(f"{self.c.red('not started')}: {one_line(run.problem or '')}\n")
