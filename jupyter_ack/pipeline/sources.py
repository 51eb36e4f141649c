"""Load a pipeline definition from wherever the user has it.

:func:`load` accepts what people actually hold: an SDK ``Pipeline`` (v2 or v3, anything with a
``definition()`` method; the SDK is never imported here), a dict, JSON text, a file, stdin, an
``s3://`` object, or ``file.py:NAME`` / ``package.module:NAME``. Text that is not valid JSON
still loads: the result carries a ``JSON_SYNTAX`` diagnostic with line and column, so a
notebook or the CLI can show where the paste went wrong instead of a traceback.

An ``s3://bucket/key?versionId=V`` URI reads that version of the object (what a handoff
records, and what ``jupyter-ack diff`` compares); :func:`latest_versions` names the two
newest versions of an object, to compare what was published last with what came before.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jupyter_ack.errors import SourceError
from jupyter_ack.pipeline.definition import PipelineDefinition
from jupyter_ack.pipeline.diagnostics import Diagnostic
from jupyter_ack.render.text import one_line

_PY_FILE_REF = re.compile(r"^(?P<file>.+\.py):(?P<name>[A-Za-z_][\w.]*)$")
# the last "?versionId=" (an S3 key may itself hold "?"); a version id is printable ASCII
_S3_VERSION = re.compile(r"^(?P<uri>s3://.+)\?versionId=(?P<version>[^&?]*)$")
_VERSION_ID = re.compile(r"[!-~]{1,1024}")
_MODULE_REF = re.compile(
    r"^(?P<module>[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*):(?P<name>[A-Za-z_][\w.]*)$"
)


def load(source: Any, *, name: str | None = None) -> PipelineDefinition:
    """Load a pipeline definition from any of the sources named in the module docstring.

    Raises :class:`~jupyter_ack.errors.SourceError` when the source cannot be read at all (no
    such file, a module that fails to import, an S3 error). A source that can be read but is
    not valid JSON loads with a ``JSON_SYNTAX`` diagnostic instead.
    """
    if isinstance(source, PipelineDefinition):
        return source
    if isinstance(source, Path):
        return _load_file(source, name)
    if isinstance(source, bytes | bytearray):
        return from_text(_decode(bytes(source), "<bytes>"), source="<bytes>", name=name)
    if isinstance(source, str):
        return _load_str(source, name)
    return _load_object(source, "<object>", name)


def from_text(text: str, *, source: str = "<text>", name: str | None = None) -> PipelineDefinition:
    """Parse JSON text; invalid JSON gives a definition whose diagnostics say where."""
    data, problem = _parse(text)
    if problem is not None:
        return PipelineDefinition(
            None, source=source, text=text, name=name, load_diagnostics=(problem,)
        )
    if isinstance(data, str) and data.lstrip().startswith("{"):
        # A JSON-encoded string (what `jq -r tojson` or a YAML pipelineDefinition field holds).
        inner, inner_problem = _parse(data)
        if inner_problem is None:
            note = Diagnostic(
                "info",
                "ENCODED_STRING",
                "the definition was a JSON string holding JSON; it was decoded once",
                path="",
                hint="pass the JSON object itself (this is what .spec.pipelineDefinition holds)",
            )
            return PipelineDefinition(
                inner, source=source, text=data, name=name, load_diagnostics=(note,)
            )
    return PipelineDefinition(data, source=source, text=text, name=name)


def _load_str(source: str, name: str | None) -> PipelineDefinition:
    stripped = source.lstrip()
    if not stripped or stripped[0] in ("{", "[", '"') or "\n" in source or len(source) > 4096:
        return from_text(source, source="<text>", name=name)
    if source == "-":
        return from_text(_decode(sys.stdin.buffer.read(), "<stdin>"), source="<stdin>", name=name)
    if source.startswith("s3://"):
        return _load_s3(source, name)
    path = Path(source).expanduser()
    try:
        path.stat()
    except (OSError, ValueError) as e:  # too long, NUL byte, ...: not a usable path
        if not isinstance(e, FileNotFoundError | NotADirectoryError):
            return from_text(source, source="<text>", name=name)
    if path.is_file() and path.suffix != ".py":
        return _load_file(path, name)
    m = _PY_FILE_REF.match(source)
    if m:
        return _load_py_file(Path(m["file"]).expanduser(), m["name"], name)
    m = _MODULE_REF.match(source)
    if m and not path.exists():
        return _load_module(m["module"], m["name"], name)
    if path.is_dir():
        raise SourceError(f"{source} is a directory, not a definition file")
    if path.suffix == ".py":
        return _load_file(path, name)
    if _parse(source)[1] is None:  # a bare JSON scalar such as `null`: validate says why not
        return from_text(source, source="<text>", name=name)
    raise SourceError(
        f"{source}: no such file",
        hint="give a JSON file, '-' for stdin, s3://bucket/key, or file.py:NAME / module:NAME",
    )


def _load_file(path: Path, name: str | None) -> PipelineDefinition:
    if path.suffix == ".py":
        raise SourceError(
            f"{path}: name the pipeline object in the file",
            hint=f"use {path}:NAME, where NAME is a Pipeline, a dict or a function returning one",
        )
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SourceError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise SourceError(f"{path} is a directory, not a definition file") from None
    except OSError as e:
        raise SourceError(f"{path}: cannot read ({e.strerror or e})") from None
    return from_text(_decode(raw, str(path)), source=str(path), name=name)


def _decode(raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SourceError(
            f"{where}: not UTF-8 text (byte {e.start}: {raw[e.start : e.start + 1]!r})",
            hint="a pipeline definition is JSON, which must be UTF-8",
        ) from None


def split_version(uri: str) -> tuple[str, str | None]:
    """``s3://bucket/key?versionId=V`` -> (``s3://bucket/key``, ``V``); any other URI -> (it,
    None). Raises :class:`SourceError` for a version id S3 could not have issued (empty, or
    with spaces or control characters), before any request is made."""
    from urllib.parse import unquote

    m = _S3_VERSION.match(uri)
    if m is None:
        return uri, None
    version = unquote(m["version"])
    if not _VERSION_ID.fullmatch(version):
        raise SourceError(
            f"{one_line(uri)}: {one_line(version)!r} is not an S3 version id",
            hint=f"list the versions with `aws s3api list-object-versions` ({one_line(m['uri'])})",
        )
    return m["uri"], version


def latest_versions(uri: str) -> tuple[str, str]:
    """The two newest versions of an S3 object as ``?versionId=`` URIs, (older, newer).

    Raises :class:`SourceError` when the object has fewer than two versions: there is
    nothing to compare, and the message says why (no such object, or no versioning).
    """
    from jupyter_ack.aws.clients import s3_latest_versions
    from jupyter_ack.errors import JupyterAckError

    base, version = split_version(uri)
    if version is not None:
        raise SourceError(
            f"{one_line(uri)} names one version; give the object without ?versionId=",
            hint="or give two definitions to compare",
        )
    try:
        found = s3_latest_versions(base, 2)
    except JupyterAckError as e:
        raise SourceError(one_line(e.message), e.hint and one_line(e.hint)) from None
    if len(found) < 2:
        if not found:
            why, hint = "no versions found", "check the key: `aws s3 ls` lists what is there"
        elif found == ["null"]:
            why = "one version only (the bucket is not versioned)"
            hint = "turn on versioning (`aws s3api put-bucket-versioning`) to keep each publish"
        else:
            why, hint = "one version only: nothing to compare it with", None
        raise SourceError(f"{one_line(base)}: {why}", hint=hint or "give two definitions: A B")
    newer, older = found
    return f"{base}?versionId={older}", f"{base}?versionId={newer}"


def _load_s3(uri: str, name: str | None) -> PipelineDefinition:
    from jupyter_ack.aws.clients import s3_get_text
    from jupyter_ack.errors import JupyterAckError

    base, version = split_version(uri)
    try:
        text = s3_get_text(base, version)
    except JupyterAckError as e:  # for a reader of definitions, an S3 failure is unreadable input
        raise SourceError(one_line(e.message), e.hint and one_line(e.hint)) from None
    return from_text(text, source=uri, name=name)


def _load_py_file(path: Path, attr: str, name: str | None) -> PipelineDefinition:
    import runpy

    if not path.is_file():
        raise SourceError(f"{path}: no such file")
    where = f"{path}:{attr}"
    try:
        namespace = runpy.run_path(str(path), run_name="__jupyter_ack__")
    except SystemExit as e:
        raise SourceError(f"{path} exited (code {e.code}) while being run") from None
    except BaseException as e:  # the user's code may raise anything
        if isinstance(e, KeyboardInterrupt):
            raise
        raise SourceError(f"{path} raised {type(e).__name__}: {e}") from None
    return _load_object(_lookup(namespace, attr, where), where, name)


def _load_module(module: str, attr: str, name: str | None) -> PipelineDefinition:
    where = f"{module}:{attr}"
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name and module.startswith(e.name):
            raise SourceError(
                f"{where}: no module named {e.name!r} (and no file named {where})",
                hint="check the module is importable from here (PYTHONPATH) or give a file path",
            ) from None
        raise SourceError(f"{where}: importing {module} failed: {e}") from None
    except Exception as e:
        raise SourceError(f"{where}: importing {module} raised {type(e).__name__}: {e}") from None
    return _load_object(_lookup(vars(mod), attr, where), where, name)


def _lookup(namespace: dict[str, Any], attr: str, where: str) -> Any:
    head, *rest = attr.split(".")
    if head not in namespace:
        raise SourceError(f"{where}: no name {head!r} there")
    obj = namespace[head]
    for part in rest:
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise SourceError(f"{where}: {type(obj).__name__} has no attribute {part!r}") from None
    return obj


def _load_object(obj: Any, where: str, name: str | None) -> PipelineDefinition:
    definition = getattr(obj, "definition", None)
    if callable(definition):  # an SDK Pipeline, v2 or v3
        pipeline_name = name or _str_or_none(getattr(obj, "name", None))
        try:
            text = definition()
        except Exception as e:
            raise SourceError(
                f"{where}: the pipeline's definition() raised {type(e).__name__}: {e}",
                hint="the SDK builds the definition here; fix the error it reports",
            ) from None
        if not isinstance(text, str):
            raise SourceError(
                f"{where}: definition() returned {type(text).__name__}, not JSON text"
            )
        src = (
            where
            if where != "<object>"
            else f"<{type(obj).__name__} {pipeline_name or ''}>".replace(" >", ">")
        )
        return from_text(text, source=src, name=pipeline_name)
    if isinstance(obj, dict | list):  # a list is JSON too: validate says why it is wrong
        src = where if where != "<object>" else f"<{type(obj).__name__}>"
        return PipelineDefinition(obj, source=src, name=name)
    if isinstance(obj, str):
        return from_text(obj, source=where if where != "<object>" else "<text>", name=name)
    if isinstance(obj, bytes | bytearray):
        return from_text(_decode(bytes(obj), where), source=where, name=name)
    if callable(obj) and where != "<object>":
        try:
            produced = _call(obj)
        except Exception as e:
            raise SourceError(f"{where}() raised {type(e).__name__}: {e}") from None
        if callable(produced) and not hasattr(produced, "definition"):
            raise SourceError(f"{where}() returned another function, not a pipeline")
        return _load_object(produced, where, name)
    raise SourceError(
        f"{where}: a {type(obj).__name__} is not a pipeline definition",
        hint="give a SageMaker Pipeline (anything with .definition()), a dict or JSON text",
    )


def _call(fn: Callable[[], Any]) -> Any:
    return fn()


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class _Constant(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _Constant(name)


def _parse(text: str) -> tuple[Any, Diagnostic | None]:
    try:
        return json.loads(text, parse_constant=_reject_constant), None
    except json.JSONDecodeError as e:
        return None, Diagnostic(
            "error",
            "JSON_SYNTAX",
            f"not valid JSON: {_syntax_message(e, text)}",
            line=e.lineno,
            column=e.colno,
            hint=_syntax_hint(e, text),
        )
    except _Constant as e:
        return None, Diagnostic(
            "error",
            "JSON_SYNTAX",
            f"not valid JSON: {e} is not a JSON value",
            hint="JSON has no NaN or Infinity; use a number or a string",
        )
    except RecursionError:
        return None, Diagnostic("error", "JSON_SYNTAX", "not valid JSON: nested too deeply to read")
    except ValueError as e:  # e.g. integers longer than Python's digit limit
        return None, Diagnostic("error", "JSON_SYNTAX", f"not valid JSON: {e}")


_SYNTAX_MESSAGES = {
    "Unterminated string starting at": "a string is never closed",
    "Expecting value": "expected a value",
    "Expecting property name enclosed in double quotes": "expected a key in double quotes",
    "Expecting ',' delimiter": "expected ',' between items",
    "Expecting ':' delimiter": "expected ':' after a key",
    "Extra data": "more text after the end of the JSON value",
}


def _syntax_message(e: json.JSONDecodeError, text: str) -> str:
    if e.msg.startswith("Invalid control character"):
        if text[e.pos : e.pos + 1] in ("\n", "\r"):
            return "the line ends inside a string"
        return f"a string holds a raw control character ({text[e.pos : e.pos + 1]!r})"
    return _SYNTAX_MESSAGES.get(e.msg, e.msg.removesuffix(" at"))


def _syntax_hint(e: json.JSONDecodeError, text: str) -> str | None:
    msg = e.msg
    if not text.strip():
        return "the input is empty"
    if msg.startswith("Unterminated string"):
        return "a string is cut off: the text was probably truncated when copied; copy it again"
    if msg.startswith("Invalid control character"):
        if text[e.pos : e.pos + 1] in ("\n", "\r"):
            return (
                "the string was cut off when copied (or holds a raw line break): "
                "close the quote, or write the break as \\n"
            )
        return "write control characters as escapes such as \\t or \\u0001"
    if msg.startswith("Expecting property name enclosed in double quotes"):
        before = text[: e.pos].rstrip()
        if before.endswith(","):
            return "remove the trailing comma before the closing brace"
        return "JSON keys need double quotes (this looks like Python or JavaScript)"
    if msg.startswith("Expecting value"):
        before = text[: e.pos].rstrip()
        if before.endswith(","):
            return "remove the trailing comma"
        if text[e.pos : e.pos + 1] == "'":
            return "JSON strings need double quotes, not single quotes"
        if e.pos >= len(text.rstrip()):
            return "the text ends too early: it was probably truncated when copied"
        return None
    if msg.startswith("Extra data"):
        return "there is more after the end of the JSON value; keep a single definition"
    if msg.startswith(("Expecting ',' delimiter", "Expecting ':' delimiter")):
        if e.pos >= len(text.rstrip()):
            return "the text ends too early: it was probably truncated when copied"
        return "a comma or colon is missing just before this place"
    return None
