"""The book's configuration and its notebook run (tests/support/notebook_run.py)."""

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_notebook

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support.notebook_run import toc_notebooks  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf8"))
BOOK_NOTEBOOKS = sorted(toc_notebooks(ROOT / "_toc.yml"))


def test_the_toc_lists_the_chapter_notebooks():
    assert ROOT / "notebooks/modern-cnns/06-resnet.ipynb" in BOOK_NOTEBOOKS
    every = set(ROOT.glob("notebooks/**/*.ipynb")) - set(ROOT.glob("notebooks/**/.ipynb_checkpoints/*"))
    assert every == set(BOOK_NOTEBOOKS), "a notebook under notebooks/ is missing from _toc.yml"


@pytest.mark.parametrize("path", BOOK_NOTEBOOKS, ids=lambda p: p.stem)
def test_install_cell_installs_from_the_configured_repository(path):
    """_config.yml names the repository once; the hidden Colab cell installs from it."""
    first = nbformat.read(path, as_version=4).cells[0]
    assert "remove-cell" in first.metadata.get("tags", [])
    assert f'"cnnlab[notebooks] @ git+{CONFIG["repository"]["url"]}"' in first.source


@pytest.mark.parametrize("path", BOOK_NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs_and_with_cell_ids(path):
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, cell.source[:60]
    # nbformat 4.5 wants a unique id on every cell (read() would only warn and invent one)
    raw = json.loads(path.read_text("utf8"))["cells"]
    ids = [c.get("id") for c in raw]
    assert None not in ids and len(set(ids)) == len(ids), [
        "".join(c["source"])[:40] for c in raw if "id" not in c]


# A role inside a code literal is no role: `{glue:text}`name`` shows "{glue:text}" raw.
RAW_ROLE = re.compile(r"`\{(glue|cite|ref|numref|eq|doc)(:[a-z]+)?\}")
INTERNAL_NOTE = re.compile(r"project's target|TODO|FIXME|XXX")


@pytest.mark.parametrize("path", BOOK_NOTEBOOKS, ids=lambda p: p.stem)
def test_markdown_has_no_role_in_a_code_literal_and_no_internal_note(path):
    for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
        if cell.cell_type == "markdown":
            assert not RAW_ROLE.search(cell.source), f"cell {i}: {RAW_ROLE.search(cell.source)[0]}"
        assert not INTERNAL_NOTE.search(cell.source), f"cell {i}: {INTERNAL_NOTE.search(cell.source)[0]}"


@pytest.mark.parametrize("path", BOOK_NOTEBOOKS, ids=lambda p: p.stem)
def test_no_cell_echoes_a_glued_value(path):
    """glue() returns its value: as a cell's last expression it would print a bare number."""
    for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
        if cell.cell_type != "code" or cell.source.rstrip().endswith(";"):
            continue
        code = "\n".join(l for l in cell.source.splitlines() if not l.lstrip().startswith(("%", "!")))
        body = ast.parse(code).body
        if body and isinstance(body[-1], ast.Expr) and isinstance(body[-1].value, ast.Call):
            func = body[-1].value.func
            assert getattr(func, "attr", getattr(func, "id", None)) != "glue", \
                f"cell {i} ends with a glue() call: end it with ';'"


def test_math_is_served_from_the_site():
    config = CONFIG["sphinx"]["config"]
    static = [ROOT / p for p in config["html_static_path"]]
    assert any((p / config["mathjax_path"]).is_file() for p in static), \
        "run tools/vendor_mathjax.sh: mathjax_path must point into html_static_path"
    assert not config["mathjax_path"].startswith(("http:", "https:", "//"))


# ---------------------------------------------------------------- the notebook run itself

def _notebook(path: Path, *sources: str) -> Path:
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def _toc(book: Path, *files: str) -> Path:
    toc = {"format": "jb-book", "root": "intro",
           "chapters": [{"file": f} for f in files]}
    (book / "intro.md").write_text("# Intro\n")
    (book / "_toc.yml").write_text(yaml.safe_dump(toc))
    return book / "_toc.yml"


def _run(book: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "tests.support.notebook_run", "--nbmake",
                           "-p", "no:cacheprovider", "--book-toc", str(book / "_toc.yml"),
                           *args, str(book / "notebooks")],
                          cwd=book, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_a_notebook_run_records_each_run_time(tmp_path):
    nb = _notebook(tmp_path / "notebooks" / "ok.ipynb", "print(6 * 7)")
    _toc(tmp_path, "notebooks/ok")
    run = _run(tmp_path, "--overwrite")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "nbmake executed 1 of the 1 notebooks" in run.stdout
    executed = json.loads(nb.read_text())
    assert "".join(executed["cells"][0]["outputs"][0]["text"]) == "42\n"
    record = executed["metadata"]["cnnlab"]["execution"]
    assert record["method"] == "nbmake" and record["succeeded"] and record["runtime"] > 0


@pytest.mark.slow
def test_a_failing_cell_fails_the_run(tmp_path):
    _notebook(tmp_path / "notebooks" / "broken.ipynb", "x = 1", "raise RuntimeError('boom')")
    _toc(tmp_path, "notebooks/broken")
    run = _run(tmp_path)
    assert run.returncode == 1, run.stdout
    assert "boom" in run.stdout and "FAILED" in run.stdout


@pytest.mark.slow
def test_a_notebook_of_the_toc_that_nbmake_skips_fails_the_run(tmp_path):
    """nbmake collects nothing under a folder named _build: the run must not pass."""
    _notebook(tmp_path / "notebooks" / "ok.ipynb", "1 + 1")
    _notebook(tmp_path / "notebooks" / "_build" / "hidden.ipynb", "1 + 1")
    _toc(tmp_path, "notebooks/ok", "notebooks/_build/hidden")
    run = _run(tmp_path)
    assert run.returncode == 1, run.stdout
    assert "listed in" in run.stdout and "not executed" in run.stdout
    assert "_build/hidden.ipynb" in run.stdout


@pytest.mark.slow
def test_notebook_kernels_draw_inline_even_if_mplbackend_leaked(tmp_path):
    """Anything imported earlier in the run may set MPLBACKEND=Agg; the kernels must
    still draw inline, or no figure reaches the site."""
    _notebook(tmp_path / "notebooks" / "fig.ipynb",
              "import matplotlib\nassert 'inline' in matplotlib.get_backend(), matplotlib.get_backend()")
    _toc(tmp_path, "notebooks/fig")
    env_leak = {**os.environ, "MPLBACKEND": "Agg"}
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "tests.support.notebook_run", "--nbmake",
                          "-p", "no:cacheprovider", "--book-toc", str(tmp_path / "_toc.yml"),
                          str(tmp_path / "notebooks")],
                         cwd=tmp_path, env={**env_leak, "PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout
