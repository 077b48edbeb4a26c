"""Show the package's own code in a notebook, so the book never prints a drifting copy."""

from __future__ import annotations

import inspect
import textwrap
from typing import Any


def source_of(obj: Any) -> str:
    """The source code of a function, class or module, dedented."""
    return textwrap.dedent(inspect.getsource(obj))


def show_source(obj: Any):
    """Display ``obj``'s source with syntax highlighting (plain text outside Jupyter).

    Example (in a notebook)::

        from cnnlab.chapters.resnet import Residual
        cnnlab.show_source(Residual)
    """
    code = source_of(obj)
    try:
        from IPython.display import Code
    except ImportError:  # plain Python: return the text
        return code
    return Code(code, language="python")
