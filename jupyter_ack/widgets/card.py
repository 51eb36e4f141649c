"""The handoff card: what DevOps need to take the pipeline from here.

One description (:func:`card_data`) drawn twice: by :class:`CopyCard` (an anywidget with a
copy button per command, since notebook front ends strip scripts from HTML outputs) and as
static HTML with ``<details>``/``<pre>`` blocks for front ends without widgets. Every value
is text: escaped in the HTML, ``textContent`` in the widget.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..render import esc

if TYPE_CHECKING:
    from ..publish import Published


def commands(published: Published | None, namespace: str) -> list[tuple[str, str]]:
    """(what, command) pairs for the DevOps side, in the order one would run them."""
    ns = f" -n {namespace}"
    if published is None:
        return [
            ("apply the objects below", f"kubectl apply{ns} -f pipeline.yaml"),
            ("watch the run", f"kubectl get pipelineexecutions{ns} -w"),
        ]
    folder = published.handoff_uri.rsplit("/", 1)[0] + "/"
    bundle = published.bundle
    return [
        ("verify the bundle", f"jupyter-ack handoff {folder}"),
        ("verify, apply and follow", f"jupyter-ack handoff {folder} --apply --wait{ns}"),
        (
            "or with kubectl",
            f"aws s3 cp {bundle.get('pipeline.yaml', folder + 'pipeline.yaml')} - "
            f"| kubectl apply{ns} -f -\n"
            f"aws s3 cp {bundle.get('pipeline-execution.yaml', folder + 'pipeline-execution.yaml')}"
            f" - | kubectl create{ns} -f -",
        ),
        ("watch the run", f"kubectl get pipelineexecutions{ns} -w"),
    ]


def _block(label: str, text: str, open_: bool = False) -> str:
    return (
        f'<details class="jack-copy"{" open" if open_ else ""}><summary>{esc(label)}</summary>'
        f'<pre style="user-select:all;white-space:pre-wrap;margin:2px 0 6px">{esc(text)}</pre>'
        "</details>"
    )


def card_data(
    published: Published | None,
    manifests_yaml: str,
    *,
    pipeline: str,
    namespace: str,
    note: str | None = None,
) -> dict[str, Any]:
    """What the card says, as data: the HTML below and the copy-button widget both draw it."""
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
    else:
        rows.append(["S3", "not published: no bucket (give --bucket or %ack_config bucket=B)"])
    blocks = [
        {"label": what, "text": cmd, "open": True} for what, cmd in commands(published, namespace)
    ]
    blocks.append(
        {
            "label": "manifests (pipeline.yaml + pipeline-execution.yaml)",
            "text": manifests_yaml,
            "open": False,
        }
    )
    return {
        "title": f"handoff \u00b7 pipeline {pipeline} \u00b7 namespace {namespace}",
        "rows": rows,
        "note": note or "",
        "blocks": blocks,
    }


def card_html(
    published: Published | None,
    manifests_yaml: str,
    *,
    pipeline: str,
    namespace: str,
    note: str | None = None,
) -> str:
    """The card as static HTML (the widget's fallback, and what nbconvert keeps)."""
    data = card_data(published, manifests_yaml, pipeline=pipeline, namespace=namespace, note=note)
    table = "".join(
        f'<tr><th style="text-align:left;padding-right:8px">{esc(k)}</th>'
        f'<td><code style="user-select:all">{esc(v)}</code></td></tr>'
        for k, v in data["rows"]
    )
    blocks = "".join(_block(b["label"], b["text"], open_=b["open"]) for b in data["blocks"])
    notes = f'<p class="jack-card-note">{esc(note)}</p>' if note else ""
    return (
        '<div class="jack-card" style="border:1px solid #cbd5e1;border-radius:6px;'
        'padding:6px 10px;margin:4px 0">'
        f"<div><strong>handoff</strong> pipeline {esc(pipeline)} \u00b7 namespace "
        f"{esc(namespace)}</div><table>{table}</table>{notes}{blocks}</div>"
    )


def copy_card(data: dict[str, Any], fallback_html: str) -> Any:
    """The card as a widget with copy buttons, falling back to ``fallback_html``."""
    from .copycard import CopyCard

    return CopyCard(data, fallback_html)
