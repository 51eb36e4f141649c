"""One configuration (AckConfig) for the CLI, the magics and the server: where values come
from, in which order, and what a broken config file gets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from jupyter_ack.config import AckConfig
from jupyter_ack.errors import UsageError
from jupyter_ack.examples import example_path

ROLE = "arn:aws:iam::123456789012:role/SageMakerPipelineRole"
EXAMPLE = str(example_path())


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Jupyter config dir of our own, and no JUPYTER_ACK_* from the caller."""
    folder = tmp_path / "jupyter-config"
    folder.mkdir()
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(folder))
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(folder))
    monkeypatch.setenv("JUPYTER_NO_CONFIG", "")
    for key in ("BUCKET", "PREFIX", "NAMESPACE", "CONTEXT", "ROLE_ARN", "KMS_KEY_ID", "KUBECONFIG"):
        monkeypatch.delenv(f"JUPYTER_ACK_{key}", raising=False)
    return folder


def test_defaults_env_file_and_flag_in_that_order(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert AckConfig.load().prefix == "jupyter-ack"
    assert AckConfig.load().bucket is None
    monkeypatch.setenv("JUPYTER_ACK_BUCKET", "from-env")
    monkeypatch.setenv("JUPYTER_ACK_PREFIX", "env/prefix")
    assert AckConfig.load().bucket == "from-env"
    (config_dir / "jupyter_ack_config.json").write_text(
        json.dumps({"AckConfig": {"bucket": "from-file", "namespace": "ml"}})
    )
    cfg = AckConfig.load()
    assert (cfg.bucket, cfg.prefix, cfg.namespace) == ("from-file", "env/prefix", "ml")
    assert cfg.pick("bucket", "from-flag") == "from-flag"
    assert cfg.pick("bucket", None) == "from-file"


def test_set_takes_either_spelling_and_empty_restores_the_default(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_ACK_ROLE_ARN", ROLE)
    cfg = AckConfig.load()
    cfg.set("role-arn", "arn:aws:iam::123456789012:role/Other")
    assert cfg.role_arn.endswith("/Other")
    cfg.set("role_arn", "")
    assert cfg.role_arn == ROLE
    cfg.set("prefix", None)
    assert cfg.prefix == "jupyter-ack"
    with pytest.raises(UsageError, match="no setting 'colour'"):
        cfg.set("colour", "red")


def test_a_broken_config_file_names_itself(config_dir: Path) -> None:
    (config_dir / "jupyter_ack_config.py").write_text("c.AckConfig.bucket = \n")
    with pytest.raises(UsageError) as caught:
        AckConfig.load()
    assert "jupyter_ack_config.py" in caught.value.message
    assert caught.value.exit_code == 2


def test_cli_takes_defaults_from_env_and_config_files(cli: Any, config_dir: Path) -> None:
    env = {"JUPYTER_CONFIG_DIR": str(config_dir), "JUPYTER_CONFIG_PATH": str(config_dir)}
    missing = cli("manifests", EXAMPLE, env=env)
    assert missing.code == 2
    assert "--role-arn is required" in missing.err
    assert "JUPYTER_ACK_ROLE_ARN" in missing.err
    r = cli("manifests", EXAMPLE, env={**env, "JUPYTER_ACK_ROLE_ARN": ROLE})
    assert r.code == 0, r.err
    assert yaml.safe_load(r.out)["spec"]["roleARN"] == ROLE
    (config_dir / "jupyter_ack_config.py").write_text(
        f"c.AckConfig.role_arn = {ROLE!r}\nc.AckConfig.namespace = 'from-file'\n"
    )
    r = cli("manifests", EXAMPLE, env=env)
    assert r.code == 0, r.err
    assert yaml.safe_load(r.out)["metadata"]["namespace"] == "from-file"
    r = cli("manifests", EXAMPLE, "--namespace", "flag", env=env)
    assert yaml.safe_load(r.out)["metadata"]["namespace"] == "flag"
