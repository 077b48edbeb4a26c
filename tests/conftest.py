"""Shared test setup: the offline Fashion-MNIST copy and quiet, fast runs."""

import os
from pathlib import Path

import matplotlib
import pytest
import torch

# Tests never download: they read ../shared/data (CI sets CNNLAB_DATA to it too).
_SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
if not os.environ.get("CNNLAB_DATA") and _SHARED.is_dir():
    os.environ["CNNLAB_DATA"] = str(_SHARED)
os.environ["CNNLAB_OFFLINE"] = "1"
os.environ.setdefault("CNNLAB_PROGRESS", "off")
# The unit tests check real training; tests/test_dry_run.py turns the dry run on itself.
os.environ.pop("CNNLAB_DRY_RUN", None)
# Agg for this process only: an MPLBACKEND variable would reach the notebook kernels
# that nbmake starts and stop them from drawing inline figures.
matplotlib.use("Agg")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--site", metavar="HTML_DIR", default=None,
                     help="a built site (e.g. _site-test/_build/html) for tests/site's browser test")


@pytest.fixture(scope="session")
def raw_dir() -> Path:
    """The folder with the four official Fashion-MNIST .gz files."""
    path = Path(os.environ["CNNLAB_DATA"]) / "FashionMNIST" / "raw"
    assert path.is_dir(), f"tests need Fashion-MNIST in {path} (set CNNLAB_DATA)"
    return path


@pytest.fixture(autouse=True)
def _fresh_seed():
    torch.manual_seed(0)
