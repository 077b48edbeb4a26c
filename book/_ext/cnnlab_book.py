"""Sphinx extension for the cnnlab book: execution statistics, build versions, clean pages.

- ``nbmake`` executes the notebooks once in ``make test`` (see ``tests/support/notebook_run.py``,
  which writes each notebook's run time into its metadata under ``cnnlab.execution``);
  the site is then built with execution off. This extension hands those run times to
  myst-nb, so its ``{nb-exec-table}`` lists them just as it lists the notebooks that
  myst-nb executes itself in ``make book``.
- ``{cnnlab-build-versions}`` is a table of the Python and package versions of the
  build (the same environment that executed the notebooks).
- sphinx-thebe adds its configuration script twice to every page (``const
  THEBE_JS_URL`` declared twice is a JavaScript error on every page); identical
  scripts are kept once.
"""

from __future__ import annotations

import json
import platform
import sys
from importlib import metadata
from pathlib import Path

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

# What a reader needs to reproduce a page: the interpreter and the packages that run it.
_PACKAGES = ("cnnlab", "torch", "torchvision", "numpy", "matplotlib", "jupyter-book",
             "myst-nb", "sphinx", "nbmake", "ipykernel")


def _nbmake_exec_data(app, doctree) -> None:
    """Give myst-nb the run time nbmake recorded, when myst-nb executed nothing."""
    from myst_nb.sphinx_ import NbMetadataCollector

    env = app.env
    path = Path(env.doc2path(env.docname))
    if path.suffix != ".ipynb" or NbMetadataCollector.get_exec_data(env, env.docname):
        return
    run = json.loads(path.read_text(encoding="utf8")).get("metadata", {}) \
        .get("cnnlab", {}).get("execution")
    if run:
        NbMetadataCollector.set_exec_data(env, env.docname, {
            "mtime": run["mtime"], "runtime": run["runtime"], "method": run["method"],
            "succeeded": run["succeeded"], "error": None, "traceback": None})


class BuildVersions(SphinxDirective):
    """``{cnnlab-build-versions}``: a two-column table, component and version."""

    def run(self) -> list[nodes.Node]:
        rows = [("Python", f"{platform.python_version()} ({sys.implementation.name})"),
                ("Platform", f"{platform.system()} {platform.machine()}")]
        for name in _PACKAGES:
            try:
                rows.append((name, metadata.version(name)))
            except metadata.PackageNotFoundError:
                rows.append((name, "not installed"))
        table = nodes.table(classes=["colwidths-auto"])
        group = nodes.tgroup(cols=2)
        table += group
        group += [nodes.colspec(colwidth=50), nodes.colspec(colwidth=50)]
        head = nodes.thead()
        group += head
        body = nodes.tbody()
        group += body
        for section, cells in ((head, [("Component", "Version")]), (body, rows)):
            for left, right in cells:
                row = nodes.row()
                row += nodes.entry("", nodes.paragraph(text=left))
                row += nodes.entry("", nodes.paragraph(text=right))
                section += row
        return [table]


def _drop_repeated_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts, seen = [], set()
    for script in context.get("script_files", []):
        # An inline script is registered with filename None or "" depending on the caller.
        key = (getattr(script, "filename", script) or "",
               tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            scripts.append(script)
    context["script_files"][:] = scripts   # in place: it is the builder's own list


def setup(app):
    app.connect("doctree-read", _nbmake_exec_data)
    # Early: Sphinx stops calling handlers at the first one that returns a template.
    app.connect("html-page-context", _drop_repeated_scripts, priority=100)
    app.add_directive("cnnlab-build-versions", BuildVersions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
