"""The quickstart notebook, executed with nbclient on a real ipykernel against the sandbox."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "quickstart.ipynb"


def _html(cell: Any) -> str:
    return "\n".join(
        str(o.get("data", {}).get("text/html", "")) + str(o.get("text", ""))
        for o in cell.get("outputs", [])
    )


def test_repo_copy_has_no_outputs() -> None:
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    assert all(c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")


@pytest.mark.sdk
@pytest.mark.timeout(240)
def test_quickstart_runs_to_a_succeeded_run() -> None:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb,
        timeout=200,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    ).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors

    submit = next(c for c in nb.cells if "%ack_submit" in c.source)
    shown = _html(submit)
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="jack-dag"' in shown  # the DAG
    assert "no problems found" in shown or "jack-diagnostics" in shown
    widget = [
        o for o in submit.outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert widget, "the live panel is displayed"

    final = next(c for c in nb.cells if "submission.wait" in c.source)
    text = _html(final)
    assert "final status: Succeeded" in text
    assert re.search(
        r"s3://quickstart-bucket/jupyter-ack/[\w-]+/[0-9a-f]{64}/definition\.json", text
    )
    assert 'class="jack-card"' in text  # the handoff card
    assert 'data-status="Succeeded"' in text  # the status-coloured DAG
    assert 'data-status="Failed"' not in text

    stop = next(c for c in nb.cells if "sb.stop()" in c.source)
    assert not [o for o in stop.outputs if o.get("name") == "stderr"]  # no watch left behind
