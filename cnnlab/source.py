"""Book helpers: show the package's own code in a notebook, so the book never prints a
drifting copy, and glue a run's numbers into the prose, so no number is typed by hand."""

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


def glue(name: str, value: Any, display: bool = False) -> Any:
    """Make ``value`` available to the page's prose as ``{glue:text}`name``` (myst-nb's
    glue), so the text states what this run measured, under any profile.

    ``display`` also shows it below the cell. Where myst-nb is not installed (Colab, a
    plain Jupyter), the value is only returned (and shown when ``display``)::

        acc = glue("alexnet_test_acc", history[-1].test_acc)
        # in a markdown cell: reached {glue:text}`alexnet_test_acc:.3f`
    """
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        if display:
            try:
                from IPython.display import display as show
                show(value)
            except ImportError:
                print(value)
        return value
    myst_glue(name, value, display=display)
    return value
