"""A SageMaker pipeline definition: its data, identity (canonical JSON and sha256),
parameters, and what is derived from it on demand (DAG, layout, diagnostics, drawings).

Loading lives in :mod:`jupyter_ack.pipeline.sources`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from jupyter_ack.pipeline.diagnostics import Diagnostic, errors, has_errors

if TYPE_CHECKING:
    from jupyter_ack.pipeline.dag import Dag
    from jupyter_ack.pipeline.diff import DefinitionDiff
    from jupyter_ack.pipeline.layout import Layout


@dataclass(frozen=True)
class Parameter:
    """A pipeline parameter as declared in the definition's ``Parameters``."""

    name: str
    type: str
    default_value: Any = None
    enum_values: tuple[Any, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type}
        out["default_value"] = self.default_value
        if self.enum_values is not None:
            out["enum_values"] = list(self.enum_values)
        return out


@dataclass(frozen=True, eq=False)
class PipelineDefinition:
    """A parsed pipeline definition with its identity (canonical JSON and sha256) and DAG.

    ``data`` is ``None`` when the text was not valid JSON; ``load_diagnostics`` then says why.
    ``text`` is the original text when there was one, used to give line and column.
    """

    data: Any
    source: str = "<object>"
    text: str | None = None
    name: str | None = None
    load_diagnostics: tuple[Diagnostic, ...] = field(default=())

    # identity -----------------------------------------------------------------------------

    @cached_property
    def canonical_json(self) -> str | None:
        """Sorted keys, no spaces, non-ASCII kept: the text that is hashed and published."""
        if self.data is None:
            return None
        return canonical_json(self.data)

    @cached_property
    def canonical_bytes(self) -> bytes | None:
        text = self.canonical_json
        return None if text is None else _encode(text)

    @cached_property
    def sha256(self) -> str | None:
        raw = self.canonical_bytes
        return None if raw is None else hashlib.sha256(raw).hexdigest()

    # content ------------------------------------------------------------------------------

    @cached_property
    def parameters(self) -> list[Parameter]:
        """The declared parameters that are well formed enough to read (see ``validate``)."""
        params = self.data.get("Parameters") if isinstance(self.data, dict) else None
        out: list[Parameter] = []
        if not isinstance(params, list):
            return out
        for p in params:
            if isinstance(p, dict) and isinstance(p.get("Name"), str):
                enum = p.get("EnumValues")
                out.append(
                    Parameter(
                        name=p["Name"],
                        type=str(p.get("Type", "String")),
                        default_value=p.get("DefaultValue"),
                        enum_values=tuple(enum) if isinstance(enum, list) else None,
                    )
                )
        return out

    @cached_property
    def dag(self) -> Dag:
        from jupyter_ack.pipeline.dag import build_dag

        return build_dag(self.data)

    @property
    def steps(self) -> list[str]:
        return list(self.dag.nodes)

    def validate(self) -> list[Diagnostic]:
        """All diagnostics, errors first, then in the order they appear in the text."""
        return list(self._diagnostics)

    @cached_property
    def _diagnostics(self) -> tuple[Diagnostic, ...]:
        from jupyter_ack.pipeline.validate import validate

        return tuple(validate(self))

    @property
    def ok(self) -> bool:
        """True when there are no errors (warnings allowed)."""
        return self.data is not None and not has_errors(self._diagnostics)

    def problem(self, consequence: str) -> str | None:
        """Why this definition cannot be published or applied, as one line ending in
        ``consequence`` (``"nothing was uploaded"``); None when it can."""
        if self.ok:
            return None
        found = errors(self._diagnostics)
        first = f" (first: {found[0].code}: {found[0].message})" if found else ""
        n = len(found)
        return f"the definition has {n} error{'s' * (n != 1)}{first}; {consequence}"

    def diff(self, other: Any) -> DefinitionDiff:
        """What changed from this definition to ``other`` (the newer one): steps, parameters
        and edges, so a change can be reviewed before it is published or applied.

        ``other`` is a definition or anything ``load`` accepts (``"s3://b/k?versionId=V"``,
        a file, an SDK pipeline).
        """
        from jupyter_ack.pipeline.diff import diff

        if not isinstance(other, PipelineDefinition):
            from jupyter_ack.pipeline.sources import load

            other = load(other)
        return diff(self, other)

    # drawing ------------------------------------------------------------------------------

    @cached_property
    def layout(self) -> Layout:
        from jupyter_ack.pipeline.layout import layout

        return layout(self.dag)

    def graph_json(self) -> dict[str, Any]:
        return self.dag.to_json()

    def to_svg(self, status: dict[str, str] | None = None) -> str:
        from jupyter_ack.render.svg import svg

        return svg(self.layout, status=status, diagnostics=self._diagnostics, title=self.name)

    def to_mermaid(self) -> str:
        from jupyter_ack.render.svg import mermaid

        return mermaid(self.dag)

    def to_dot(self) -> str:
        from jupyter_ack.render.svg import dot

        return dot(self.dag, title=self.name)

    # notebook display ---------------------------------------------------------------------

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None, **kwargs: Any
    ) -> dict[str, Any]:
        """The DAG and diagnostics as HTML.

        The raw definition is offered as ``application/json`` only when asked for
        (``display(defn, include=["application/json"])`` or ``defn.json``): JupyterLab ranks
        its JSON viewer above HTML and would otherwise hide the drawing.
        """
        from jupyter_ack.render.html import definition_html

        bundle: dict[str, Any] = {"text/html": definition_html(self), "text/plain": repr(self)}
        if include and "application/json" in include and self.data is not None:
            bundle["application/json"] = self.data
        return bundle

    @property
    def json(self) -> JsonView:
        """The definition as ``application/json``: JupyterLab shows it as a collapsible tree."""
        return JsonView(self.data, root=self.name or "definition")

    def __repr__(self) -> str:
        if self.data is None:
            return f"<PipelineDefinition from {self.source}: not valid JSON>"
        sha = (self.sha256 or "")[:12]
        name = f"{self.name!r} " if self.name else ""
        n = len(self.dag.nodes)
        return (
            f"<PipelineDefinition {name}from {self.source}: {n} step{'s' * (n != 1)}, "
            f"{len(self.parameters)} parameters, sha256 {sha}>"
        )


@dataclass(frozen=True)
class JsonView:
    """Displays JSON data with JupyterLab's JSON viewer."""

    data: Any
    root: str = "definition"

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None, **kwargs: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        return (
            {
                "application/json": self.data,
                "text/plain": json.dumps(self.data, indent=2, ensure_ascii=False),
            },
            {"application/json": {"expanded": False, "root": self.root}},
        )


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_of(data: Any) -> str:
    """The identity of parsed definition data: sha256 of its canonical JSON (UTF-8)."""
    return hashlib.sha256(_encode(canonical_json(data))).hexdigest()


def _encode(text: str) -> bytes:
    # surrogatepass: a lone surrogate is reported by validate, it must not crash hashing
    return text.encode("utf-8", "surrogatepass")
