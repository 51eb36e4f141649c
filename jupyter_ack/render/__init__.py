"""Pictures and text of the core's values: one palette (``theme``), SVG / Mermaid / dot
drawings, HTML for notebooks, and terminal text."""
