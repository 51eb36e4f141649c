"""One configuration for the CLI, the magics and the server: :class:`AckConfig`.

Where a value comes from, the later winning: the built-in default; ``JUPYTER_ACK_<KEY>`` in
the environment; the config files ``jupyter_ack_config.json`` / ``jupyter_ack_config.py`` in
Jupyter's config path (``jupyter --paths``), or the IPython / Jupyter server config holding
``c.AckConfig.<key>``; ``%ack_config`` in a notebook; and a flag given to one command.
"""

from __future__ import annotations

import os
from typing import Any

from traitlets import Unicode, default
from traitlets.config import Config, Configurable

from jupyter_ack.bundle.format import DEFAULT_PREFIX
from jupyter_ack.errors import UsageError

ENV_PREFIX = "JUPYTER_ACK_"
CONFIG_FILE = "jupyter_ack_config"
KEYS = (
    "bucket",
    "prefix",
    "namespace",
    "context",
    "role_arn",
    "kms_key_id",
    "kubeconfig",
    "events_queue",
)


def _from_env(key: str) -> str | None:
    return os.environ.get(ENV_PREFIX + key.upper()) or None


class AckConfig(Configurable):
    """Defaults every command, magic and route starts from."""

    bucket = Unicode(None, allow_none=True, help="S3 bucket to publish to").tag(config=True)
    prefix = Unicode(DEFAULT_PREFIX, help="S3 key prefix of the published bundles").tag(config=True)
    namespace = Unicode(None, allow_none=True, help="Kubernetes namespace").tag(config=True)
    context = Unicode(None, allow_none=True, help="kubeconfig context").tag(config=True)
    role_arn = Unicode(None, allow_none=True, help="the role SageMaker assumes").tag(config=True)
    kms_key_id = Unicode(None, allow_none=True, help="KMS key for the S3 objects").tag(config=True)
    kubeconfig = Unicode(None, allow_none=True, help="kubeconfig file").tag(config=True)
    events_queue = Unicode(
        None,
        allow_none=True,
        help="SQS queue (URL) receiving SageMaker's pipeline events: steps are pushed, not "
        "polled (`jupyter-ack events setup` makes it)",
    ).tag(config=True)

    @default("bucket")
    def _bucket(self) -> str | None:
        return _from_env("bucket")

    @default("prefix")
    def _prefix(self) -> str:
        return _from_env("prefix") or DEFAULT_PREFIX

    @default("namespace")
    def _namespace(self) -> str | None:
        return _from_env("namespace")

    @default("context")
    def _context(self) -> str | None:
        return _from_env("context")

    @default("role_arn")
    def _role_arn(self) -> str | None:
        return _from_env("role_arn")

    @default("kms_key_id")
    def _kms_key_id(self) -> str | None:
        return _from_env("kms_key_id")

    @default("kubeconfig")
    def _kubeconfig(self) -> str | None:
        return _from_env("kubeconfig")

    @default("events_queue")
    def _events_queue(self) -> str | None:
        return _from_env("events_queue")

    @classmethod
    def load(cls, config: Config | None = None) -> AckConfig:
        """Defaults from the environment and Jupyter's config files (``config`` on top).

        The events queue of what is loaded becomes the process's (the followers read it)."""
        merged = _files()
        if config is not None:
            merged.merge(config)
        loaded = cls(config=merged)
        loaded._use_events_queue()
        return loaded

    def _use_events_queue(self) -> None:
        from jupyter_ack.status.events import use_queue

        use_queue(self.events_queue)

    def set(self, key: str, value: Any) -> None:
        """Set one value (``role-arn`` and ``role_arn`` both work); '' or None restores the
        default (the environment's, else the built-in one)."""
        name = key.strip().replace("-", "_").lower()
        if name not in KEYS:
            raise UsageError(f"no setting {key!r}", hint=f"settings: {', '.join(KEYS)}")
        if value in (None, ""):
            self.set_trait(name, self.trait_defaults(name))
        else:
            self.set_trait(name, str(value))
        if name == "events_queue":
            self._use_events_queue()

    def pick(self, key: str, given: str | None) -> str | None:
        """A flag's value when given, else this configuration's."""
        if given not in (None, ""):
            return given
        value: str | None = getattr(self, key)
        return value

    def to_json(self) -> dict[str, str | None]:
        return {k: getattr(self, k) for k in KEYS}


def _files() -> Config:
    """``jupyter_ack_config.{json,py}`` from every Jupyter config dir, the user's last."""
    from jupyter_core.paths import jupyter_config_path
    from traitlets.config.loader import (
        ConfigFileNotFound,
        JSONFileConfigLoader,
        PyFileConfigLoader,
    )

    merged = Config()
    for folder in reversed(jupyter_config_path()):
        for loader in (
            JSONFileConfigLoader(f"{CONFIG_FILE}.json", folder),
            PyFileConfigLoader(f"{CONFIG_FILE}.py", folder),
        ):
            try:
                merged.merge(loader.load_config())
            except ConfigFileNotFound:
                continue
            except Exception as e:  # a syntax error in the user's file: say which file
                where = os.path.join(folder, loader.filename)
                raise UsageError(
                    f"{where}: cannot read the config file ({' '.join(str(e).split())[:200]})",
                    hint="fix or remove the file",
                ) from None
    return merged
