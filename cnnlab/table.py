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

    ``print`` aligns the columns (numbers right, text left):

    >>> print(Table(["network", "accuracy"], [["ResNet-18", 0.912], ["NiN", "0.85"]]))
    network    accuracy
    ---------  --------
    ResNet-18     0.912
    NiN            0.85
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
        columns = list(zip(self.header, *self.rows)) if self.header else []
        widths = [max(len(v) for v in col) for col in columns]
        numeric = [all(_looks_numeric(v) for v in col[1:]) and len(col) > 1 for col in columns]

        def line(row):
            return "  ".join(v.rjust(w) if num else v.ljust(w)
                             for v, w, num in zip(row, widths, numeric)).rstrip()

        rule = "  ".join("-" * w for w in widths)
        return "\n".join([line(self.header), rule, *map(line, self.rows)])

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Table) and self.header == other.header
                and self.rows == other.rows)


def _looks_numeric(text: str) -> bool:
    """A cell that reads as a number (``0.912``, ``1,000``, ``+1.4 pt``, ``—``): right-aligned."""
    core = text.replace(",", "").replace("±", " ").replace("%", "").replace("pt", "").split()
    return bool(core) and all(c in ("—", "-") or c.lstrip("+-").replace(".", "", 1).isdigit()
                              for c in core)
