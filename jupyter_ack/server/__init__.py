"""The jupyter_server extension behind the JupyterLab sidebar: routes under
``/jupyter-ack/api`` (docs/server.md), thin shells over the core.

Enabled on install by ``jupyter-config/server-config/jupyter_ack.json``; configured through
the same :class:`~jupyter_ack.config.AckConfig` as the CLI (``c.AckConfig.namespace`` in
``jupyter_server_config.py`` works too).
"""
