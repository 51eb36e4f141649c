"""``python -m jupyter_ack.cli``: the same as the ``jupyter-ack`` command."""

from jupyter_ack.cli import main

raise SystemExit(main())
