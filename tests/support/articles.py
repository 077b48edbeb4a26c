"""The source articles' code (``tests/article_code``), loaded for the tests that check it.

``load_article`` executes one listing as a fresh module; ``keras_shim`` is the tests'
PyTorch stand-in for the Keras layers the articles' Keras listings call.
"""

import ast
import sys
import types
from pathlib import Path

ARTICLES = Path(__file__).parent.parent / "article_code"


def load_article(name: str, *, defs_only: bool = False, names: dict | None = None,
              replace: tuple[str, str] | None = None, run_name: str | None = None
              ) -> types.ModuleType:
    """Execute tests/article_code/<name>.py as a fresh module and return it.

    defs_only: run only the imports, functions and classes (skip top-level script
        lines, e.g. the training run of *Residual networks (ResNet)* and the print of
        *ResNet's architecture explained*).
    names: globals to provide first (the Keras stand-ins of keras_shim).
    replace: (old, new) applied to the source first: used only to show a fix.
    run_name: the module's __name__ (default: the file name, so `if __name__ ==
        "__main__"` blocks do not run).
    """
    path = ARTICLES / f"{name}.py"
    source = path.read_text(encoding="utf-8")
    if replace is not None:
        assert replace[0] in source
        source = source.replace(*replace)
    tree = ast.parse(source, str(path))
    if defs_only:
        keep = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)
        tree.body = [node for node in tree.body if isinstance(node, keep)]
    module = types.ModuleType(run_name or name)
    module.__file__ = str(path)
    module.__dict__.update(names or {})
    exec(compile(tree, str(path), "exec"), module.__dict__)
    return module


def keras_shim():
    sys.path.insert(0, str(ARTICLES))
    try:
        import keras_shim as shim
    finally:
        sys.path.remove(str(ARTICLES))
    shim.reset()
    return shim
