"""The consoles the circfin command prints through: data is never markup or a terminal escape.

:class:`SafeConsole` is a rich Console that reads no markup and no emoji codes
unless a call asks for them (``markup=True`` with a literal string of ours),
and shows every control or bidi character that reaches it in text as an escape
(:func:`circfin.safe.visible`). The renderers escape data before layout (so
tables stay aligned); this is the net under them, for every print.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.text import Text

from ..safe import visible

__all__ = ["SafeConsole", "plain"]


def plain(text: Any, style: str = "") -> Text:
    """Data as rich Text: never parsed as markup, control characters shown escaped."""
    return Text(visible(text), style=style)


class SafeConsole(Console):
    """A Console that never lets text drive the terminal (see the module's docstring)."""

    def __init__(self, **kw: Any) -> None:
        kw.setdefault("markup", False)
        kw.setdefault("emoji", False)
        kw.setdefault("highlight", False)
        super().__init__(**kw)

    def render(self, renderable: RenderableType,
               options: ConsoleOptions | None = None) -> Iterable[Segment]:
        for seg in super().render(renderable, options):
            if seg.control or not seg.text:
                yield seg
            else:
                text = visible(seg.text, keep="\n")
                yield seg if text == seg.text else Segment(text, seg.style, seg.control)
