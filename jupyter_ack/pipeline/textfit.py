"""How wide a label is drawn, and how to cut it to fit: step 3 of the layout.

The layout runs in Python, without the fonts the front ends draw with, yet a label must fit
its box in every one of them: so widths are estimated from the advance widths of a
sans-serif, erring on the wide side. A step's box is as wide as its name needs (bold), between
``NODE_WIDTH`` and ``MAX_NODE_WIDTH``; past that, the name is cut with an ellipsis in the box's
label (the full name stays in ``NodeBox.name`` for a tooltip). Group labels are cut alike.
"""

from __future__ import annotations

import math
import unicodedata
from functools import lru_cache

NODE_WIDTH = 200.0  # the narrowest box; a box grows to fit its label, up to MAX_NODE_WIDTH
MAX_NODE_WIDTH = 300.0
LABEL_SIZE = 12.5  # px, bold: the step name
SUBTITLE_SIZE = 11.0  # px: the step type under it
LABEL_LEFT = 14.0  # the label starts this far into its box (after the type band)
LABEL_RIGHT = 22.0  # and ends at least this far from its right edge (room for the error badge)
GROUP_LABEL_SIZE = 11.0

# Advance widths (1/1000 em) of printable ASCII (U+0020 to U+007E) in a sans-serif, bold (the
# step names) and regular (types, group labels): the wider of DejaVu Sans and Liberation Sans
# (the metrics of Helvetica and Arial), so a label fits wherever the front end draws it.
_BOLD_ADVANCE = (
    348, 456, 521, 838, 696, 1002, 872, 306, 457, 457, 523, 838, 380, 415, 380, 365,
    696, 696, 696, 696, 696, 696, 696, 696, 696, 696, 400, 400, 838, 838, 838, 611,
    1000, 774, 762, 734, 830, 683, 683, 821, 837, 372, 556, 775, 637, 995, 837, 850,
    733, 850, 770, 720, 682, 812, 774, 1103, 771, 724, 725, 457, 365, 457, 838, 556,
    500, 675, 716, 593, 716, 678, 435, 716, 712, 343, 343, 665, 343, 1042, 712, 687,
    716, 716, 493, 595, 478, 712, 652, 924, 645, 652, 582, 712, 365, 712, 838,
)  # fmt: skip
_REGULAR_ADVANCE = (
    318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337,
    636, 636, 636, 636, 636, 636, 636, 636, 636, 636, 337, 337, 838, 838, 838, 556,
    1015, 684, 686, 722, 770, 667, 611, 778, 752, 295, 500, 667, 557, 863, 748, 787,
    667, 787, 722, 667, 611, 732, 684, 989, 685, 667, 685, 390, 337, 390, 838, 556,
    500, 613, 635, 550, 635, 615, 352, 635, 634, 278, 278, 579, 278, 974, 634, 612,
    635, 635, 411, 521, 392, 634, 592, 818, 592, 592, 525, 636, 337, 636, 838,
)  # fmt: skip
_MIDDLE_DOT_ADVANCE = 380  # U+00B7, between a group's parent and branch
_WIDE_ADVANCE = 1000  # full-width (CJK) characters, U+FFFD, the ellipsis
_OTHER_ADVANCE = 800  # any other character: wider than most letters
_ESCAPE_ADVANCE = 6 * 700  # a format control (bidi override) is drawn as its escape, \u202e
ELLIPSIS = "\u2026"


@lru_cache(maxsize=4096)
def _advance(ch: str, bold: bool = True) -> int:
    """The advance width of one character, in 1/1000 em, erring on the wide side."""
    code = ord(ch)
    if 32 <= code < 127:
        return (_BOLD_ADVANCE if bold else _REGULAR_ADVANCE)[code - 32]
    if ch == "\u00b7":
        return _MIDDLE_DOT_ADVANCE
    category = unicodedata.category(ch)
    if category in ("Mn", "Me"):  # combining marks sit on the previous character
        return 0
    if category == "Cf":
        return _ESCAPE_ADVANCE
    if category[0] == "C" or unicodedata.east_asian_width(ch) in ("W", "F"):
        return _WIDE_ADVANCE  # controls are drawn as U+FFFD
    decomposed = unicodedata.normalize("NFKD", ch)
    if decomposed != ch:  # an accented letter, a ligature: as wide as its parts
        return sum(_advance(c, bold) for c in decomposed)
    return _WIDE_ADVANCE if ch == ELLIPSIS else _OTHER_ADVANCE


def text_width(text: str, size: float = LABEL_SIZE, *, bold: bool = True) -> float:
    """The estimated width in px of ``text`` in a sans-serif of ``size`` px."""
    return sum(_advance(ch, bold) for ch in text) * size / 1000


def fit_text(text: str, room: float, size: float = LABEL_SIZE, *, bold: bool = True) -> str:
    """``text`` if it fits in ``room`` px, else its longest prefix that fits with "…" after."""
    if text_width(text, size, bold=bold) <= room:
        return text
    budget = room * 1000 / size - _advance(ELLIPSIS, bold)
    used, cut = 0, 0
    for i, ch in enumerate(text):
        used += _advance(ch, bold)
        if used > budget:
            break
        cut = i + 1
    return text[:cut].rstrip() + ELLIPSIS


def truncate(name: str, width: float = NODE_WIDTH) -> str:
    """The label of a step named ``name`` in a box ``width`` px wide."""
    return fit_text(name, width - LABEL_LEFT - LABEL_RIGHT)


def box_size(name: str, type_: str = "") -> tuple[str, float]:
    """(label, width) of a step's box: wide enough for its name (and type) within
    [``NODE_WIDTH``, ``MAX_NODE_WIDTH``]; the label is the name, cut to fit past that."""
    subtitle = text_width(type_, SUBTITLE_SIZE, bold=False)
    need = max(text_width(name), subtitle) + LABEL_LEFT + LABEL_RIGHT
    width = float(min(MAX_NODE_WIDTH, max(NODE_WIDTH, math.ceil(need))))
    return truncate(name, width), width


def group_label(parent: str, branch: str | None, room: float) -> str:
    """``"<parent> · <branch>"`` in ``room`` px: the parent's name is cut if need be, so that
    the branch stays readable."""
    tail = f" \u00b7 {branch}" if branch else ""
    size = GROUP_LABEL_SIZE
    if text_width(parent + tail, size, bold=False) <= room:
        return parent + tail
    rest = room - text_width(tail, size, bold=False)
    if rest < text_width("M" + ELLIPSIS, size, bold=False):
        return fit_text(parent + tail, room, size, bold=False)
    return fit_text(parent, rest, size, bold=False) + tail
