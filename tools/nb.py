"""Tiny helper to write a chapter notebook from a list of (kind, text[, tags]) cells.

Used to author notebooks as readable Python; the .ipynb it writes is the source of
truth that readers, Colab and nbmake open (committed without outputs).
"""
from pathlib import Path

import nbformat
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

# The repository is named once, in _config.yml (its launch buttons use it too).
REPOSITORY = yaml.safe_load((Path(__file__).resolve().parents[1] / "_config.yml")
                            .read_text(encoding="utf8"))["repository"]["url"]

COLAB_SETUP = f"""\
# Colab / fresh environments: install cnnlab if it is missing (hidden on the site).
try:
    import cnnlab
except ModuleNotFoundError:
    %pip install -q "cnnlab[notebooks] @ git+{REPOSITORY}"
    import cnnlab"""


def write(path, cells):
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    out = [new_code_cell(COLAB_SETUP, metadata={"tags": ["remove-cell"]})]
    for cell in cells:
        kind, text = cell[0], cell[1].strip("\n")
        tags = cell[2] if len(cell) > 2 else None
        meta = {"tags": tags} if tags else {}
        out.append(new_markdown_cell(text, metadata=meta) if kind == "md"
                   else new_code_cell(text, metadata=meta))
    nb.cells = out
    for i, c in enumerate(nb.cells):
        c["id"] = f"cell-{i:02d}"
    nbformat.validate(nb)
    nbformat.write(nb, path)
