"""The handoff card widget: the card's data drawn by ``card.js`` with a copy button per
value and command; static HTML for front ends without widgets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget
import traitlets

HERE = Path(__file__).parent


class CopyCard(anywidget.AnyWidget):  # type: ignore[misc]
    _esm = HERE / "card.js"
    _css = HERE / "panel.css"

    card = traitlets.Dict().tag(sync=True)

    def __init__(self, card: dict[str, Any], fallback_html: str, **kwargs: Any) -> None:
        super().__init__(card=card, **kwargs)
        self.fallback_html = fallback_html

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The widget view plus the static card for front ends without widgets."""
        bundle = super()._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        if isinstance(data, dict):
            data["text/html"] = self.fallback_html
        return bundle
