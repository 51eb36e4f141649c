"""`import jupyter_ack` stays cheap: no heavy dependency is imported until it is needed."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = [
    "boto3",
    "botocore",
    "kubernetes",
    "sagemaker",
    "ipywidgets",
    "IPython",
    "tornado",
    "jupyter_server",
]


def modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return set(json.loads(out))


def test_import_pulls_in_nothing_heavy() -> None:
    loaded = modules_after("import jupyter_ack")
    assert not [m for m in HEAVY if m in loaded]


def test_loading_and_validating_a_file_pulls_in_nothing_heavy() -> None:
    code = (
        "import jupyter_ack\n"
        "from jupyter_ack.examples import example_path\n"
        "d = jupyter_ack.load(example_path()); d.validate(); d.to_svg(); d._repr_mimebundle_()"
    )
    loaded = modules_after(code)
    assert not [m for m in HEAVY if m in loaded]


def test_cli_validate_pulls_in_nothing_heavy() -> None:
    code = (
        "import io, contextlib\n"
        "from jupyter_ack.cli.main import main\n"
        "from jupyter_ack.examples import example_path\n"
        "with contextlib.redirect_stdout(io.StringIO()): main(['validate', str(example_path())])"
    )
    loaded = modules_after(code)
    assert not [m for m in HEAVY if m in loaded]


def test_validate_does_not_import_the_sandbox() -> None:
    code = (
        "import io, contextlib\n"
        "from jupyter_ack.cli import main\n"
        "from jupyter_ack.examples import example_path\n"
        "with contextlib.redirect_stdout(io.StringIO()): main(['validate', str(example_path())])"
    )
    loaded = modules_after(code)
    assert not [m for m in loaded if m.startswith("jupyter_ack.sandbox")]
    assert "aiohttp" not in loaded
    assert "moto" not in loaded


def test_every_public_name_resolves_and_errors_carry_exit_codes() -> None:
    import jupyter_ack

    for name in jupyter_ack.__all__:
        assert getattr(jupyter_ack, name) is not None, name
    assert jupyter_ack.SourceError("x").exit_code == 2
    assert jupyter_ack.UsageError("x").exit_code == 2
    assert jupyter_ack.SubmitError("x").exit_code == 1
    assert jupyter_ack.NotFoundError("x").http_status == 404
    assert jupyter_ack.ClusterError("x", http_status=403).http_status == 403
    assert issubclass(jupyter_ack.ManifestError, jupyter_ack.JupyterAckError)
