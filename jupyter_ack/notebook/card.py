"""The handoff card: what DevOps need to take the pipeline from here.

One description (:func:`card_data`) drawn twice: by :class:`CopyCard` (an anywidget with a
copy button per command, since notebook front ends strip scripts from HTML outputs) and as
static HTML with ``<details>``/``<pre>`` blocks for front ends without widgets. Every value
is text: escaped in the HTML, ``textContent`` in the widget.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jupyter_ack.render import theme
from jupyter_ack.render.svg import esc

if TYPE_CHECKING:
    from jupyter_ack.ops.submit import SubmitResult


def _block(label: str, text: str, open_: bool = False) -> str:
    return (
        f'<details class="jack-copy"{" open" if open_ else ""}><summary>{esc(label)}</summary>'
        f'<pre style="user-select:all;white-space:pre-wrap;margin:2px 0 6px">{esc(text)}</pre>'
        "</details>"
    )


def card_data(result: SubmitResult, note: str | None = None) -> dict[str, Any]:
    """What the card says, as data: the HTML below and the copy-button widget both draw it.

    The manifests are the objects the submission applies (or hands off), as built once.
    """
    from jupyter_ack.bundle.format import devops_commands

    published, built = result.published, result.manifests
    assert built is not None
    rows: list[list[str]] = []
    if published is not None:
        rows += [
            ["S3 URL", published.s3_uri],
            ["version", published.version_id or "bucket not versioned"],
            ["sha256", published.sha256],
            ["encryption", " ".join(filter(None, (published.encryption, published.kms_key_id)))],
            ["handoff", published.handoff_uri],
            ["console", published.console_url],
        ]
        commands = published.commands()
    else:
        rows.append(["S3", "not published: no bucket (give --bucket or %ack_config bucket=B)"])
        pipeline_object = built.pipeline["metadata"]["name"]
        commands = devops_commands(None, result.namespace, pipeline_object)
    if built.execution is not None:
        rows.append(["run", built.execution["metadata"]["name"]])
    blocks = [{"label": what, "text": cmd, "open": True} for what, cmd in commands]
    files = " + ".join(f"{d['kind']} {d['metadata']['name']}" for d in built.documents)
    blocks.append({"label": f"manifests ({files})", "text": built.to_yaml(), "open": False})
    return {
        "title": f"handoff \u00b7 pipeline {result.pipeline_name} \u00b7 namespace "
        f"{result.namespace}",
        "rows": rows,
        "note": note or "",
        "blocks": blocks,
    }


def card_html(data: dict[str, Any]) -> str:
    """The card as static HTML (the widget's fallback, and what nbconvert keeps)."""
    table = "".join(
        f'<tr><th style="text-align:left;padding-right:8px">{esc(k)}</th>'
        f'<td><code style="user-select:all">{esc(v)}</code></td></tr>'
        for k, v in data["rows"]
    )
    blocks = "".join(_block(b["label"], b["text"], open_=b["open"]) for b in data["blocks"])
    note = data["note"]
    notes = f'<p class="jack-card-note">{esc(note)}</p>' if note else ""
    return (
        f'<div class="jack-card" style="border:1px solid {theme.IDLE[1]};border-radius:6px;'
        'padding:6px 10px;margin:4px 0">'
        f"<div><strong>{esc(data['title'])}</strong></div><table>{table}</table>{notes}{blocks}"
        "</div>"
    )


def copy_card(data: dict[str, Any], fallback_html: str) -> Any:
    """The card as a widget with copy buttons, falling back to ``fallback_html``."""
    from jupyter_ack.notebook.copycard import CopyCard

    return CopyCard(data, fallback_html)
