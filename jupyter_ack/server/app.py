"""The extension app: made by jupyter_server at start, it owns the server's one
:class:`~jupyter_ack.server.service.Service` and its live feeds, and closes them at stop."""

from __future__ import annotations

import importlib
import threading

from jupyter_server.extension.application import ExtensionApp

from jupyter_ack.config import AckConfig
from jupyter_ack.server.feed import Feeds
from jupyter_ack.server.handlers import API, ROUTES
from jupyter_ack.server.service import Service


class AckExtension(ExtensionApp):
    name = "jupyter_ack"
    load_other_extensions = True

    def initialize_settings(self) -> None:
        assert self.serverapp is not None  # set before the settings are made
        self.service = Service(AckConfig.load(self.serverapp.config))
        self.feeds = Feeds(self.service.cluster)
        self.settings.update(jupyter_ack_service=self.service, jupyter_ack_feeds=self.feeds)
        # the first sidebar opened should not wait for the Kubernetes client's import
        threading.Thread(target=_warm_up, name="jupyter-ack-warm-up", daemon=True).start()

    def initialize_handlers(self) -> None:
        self.handlers.extend((f"/{API}{path}/?", handler) for path, handler in ROUTES)

    async def stop_extension(self) -> None:
        self.feeds.close()


def _warm_up() -> None:
    for module in ("kubernetes.client", "kubernetes.config", "jupyter_ack.status.follow"):
        importlib.import_module(module)
