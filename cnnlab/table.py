"""A small table that a notebook shows as HTML or Markdown and ``print`` shows as text.

Chapters build their tables from measured values with it (the comparison chapter's
costs and accuracies, the deep dive's layer maps and families), so no table of the
book is typed by hand.
"""

from __future__ import annotations

import html
from typing import Any, Sequence

__all__ = ["Table"]


class Table:
    """A small table a notebook shows as Markdown (and ``print`` as text).

    >>> print(Table(["a", "b"], [[1, "x"]]))
    a | b
    1 | x
    """

    def __init__(self, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.header = list(header)
        self.rows = [[str(v) for v in row] for row in rows]

    def _repr_markdown_(self) -> str:
        lines = ["| " + " | ".join(self.header) + " |",
                 "|" + "---|" * len(self.header)]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        # HTML as well: Jupyter Book renders a notebook's Markdown output as CommonMark,
        # which has no tables; `code` spans become <code>.
        def cell(text: str, tag: str) -> str:
            parts = html.escape(text).split("`")
            body = "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
            return f"<{tag}>{body}</{tag}>"

        head = "<tr>" + "".join(cell(h, "th") for h in self.header) + "</tr>"
        body = "".join("<tr>" + "".join(cell(v, "td") for v in row) + "</tr>"
                       for row in self.rows)
        return f"<table><thead>{head}</thead><tbody>{body}</tbody></table>"

    def __str__(self) -> str:
        return "\n".join(" | ".join(row) for row in [self.header, *self.rows])
