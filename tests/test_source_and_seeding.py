"""The book helpers (cnnlab.source: show_source, glue) and seeding (cnnlab.seeding)."""

import random
import sys

import numpy as np
import pytest
import torch

import cnnlab
from cnnlab import seeding, source
from cnnlab.chapters import resnet


def test_show_source_shows_the_packages_own_code():
    code = cnnlab.show_source(resnet.Residual)
    text = code.data if hasattr(code, "data") else code  # IPython's Code, else the text
    assert text.startswith("class Residual(nn.Module):")
    assert "def forward(self, x" in text
    assert text == source.source_of(resnet.Residual)  # dedented, nothing added


def test_show_source_without_ipython_returns_the_text(monkeypatch):
    monkeypatch.setitem(sys.modules, "IPython.display", None)  # import fails
    text = cnnlab.show_source(resnet.resnet18_fmnist)  # the decorator is shown too
    assert text.startswith("@register(\"resnet18_fmnist\"") and "def resnet18_fmnist(" in text


def test_glue_hands_the_value_to_myst_nb_and_returns_it(monkeypatch):
    glued = {}
    fake = type(sys)("myst_nb")
    fake.glue = lambda name, value, display: glued.update({name: (value, display)})
    monkeypatch.setitem(sys.modules, "myst_nb", fake)
    assert cnnlab.glue("acc", 0.912) == 0.912
    assert glued == {"acc": (0.912, False)}


def test_glue_without_myst_nb_returns_and_optionally_prints(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "myst_nb", None)
    monkeypatch.setitem(sys.modules, "IPython.display", None)
    assert cnnlab.glue("epochs", 3) == 3 and capsys.readouterr().out == ""
    assert cnnlab.glue("epochs", 3, display=True) == 3 and capsys.readouterr().out == "3\n"


def test_seed_everything_repeats_python_numpy_and_torch():
    def draw():
        g = seeding.seed_everything(7)
        return (random.random(), np.random.rand(), torch.rand(3).tolist(),
                torch.rand(2, generator=g).tolist())
    first, second = draw(), draw()
    assert first == second
    seeding.seed_everything(8)
    assert torch.rand(3).tolist() != first[2]


def test_seed_everything_can_ask_for_deterministic_kernels():
    try:
        seeding.seed_everything(0, deterministic=True)
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    finally:
        torch.use_deterministic_algorithms(False)
        torch.backends.cudnn.deterministic = False


@pytest.mark.parametrize("seed", [0, 2**32 + 5])
def test_seed_everything_takes_seeds_beyond_numpys_range(seed):
    seeding.seed_everything(seed)  # NumPy's seeds stop at 2**32 - 1
