"""Figures: saved atomically where asked, shown in a notebook, explained on a headless machine."""

import warnings

import matplotlib.pyplot as plt
import pytest
import torch

from cnnlab import plot
from cnnlab.train import EpochStats, History


def _history():
    return History([EpochStats(epoch=e, train_loss=1.0 / e, train_acc=0.5 + 0.1 * e,
                               test_acc=0.4 + 0.1 * e, examples_per_s=100.0, seconds=1.0,
                               lr=1e-3, device="cpu") for e in range(1, 4)])


def test_curves_compares_labelled_histories(tmp_path):
    a, b = _history(), _history()
    a.label, b.label = "lr 0.1", "lr 0.01"
    ax = plot.curves([a, b], metric="train_loss", path=tmp_path / "runs.png").axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["lr 0.1", "lr 0.01"]
    assert list(ax.lines[0].get_ydata()) == a.column("train_loss")
    assert ax.get_ylabel() == "train loss" and (tmp_path / "runs.png").is_file()
    plt.close("all")


def test_path_saves_a_png(tmp_path):
    out = plot.images(torch.rand(4, 1, 8, 8), ["a", "b", "c", "d"], path=tmp_path / "grid.png")
    assert (tmp_path / "grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary file left"
    plt.close(out)


def test_headless_script_is_told_how_to_save(monkeypatch):
    import sys
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    with pytest.warns(UserWarning, match="path='figure.png'"):
        fig = plot.curves(_history())
    plt.close(fig)


def test_in_a_notebook_the_figure_is_left_to_the_inline_backend(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "ipykernel", sys.modules[__name__])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = plot.curves(_history(), title="t").axes[0]
    assert [line.get_label() for line in ax.get_lines()] == ["train loss", "train acc", "test acc"]
    plt.close(ax.figure)


def test_prediction_grid_marks_wrong_predictions_red_and_confusion_matrix_draws():
    from cnnlab.predictions import Predictions
    p = Predictions(images=torch.randint(0, 255, (4, 1, 8, 8), dtype=torch.uint8),
                    labels=torch.tensor([0, 1, 1, 0]), predicted=torch.tensor([0, 0, 1, 0]),
                    confidence=torch.tensor([0.9, 0.8, 0.7, 0.6]), classes=("cat", "dog"))
    import sys
    with pytest.MonkeyPatch.context() as m:
        m.setitem(sys.modules, "ipykernel", sys.modules[__name__])
        fig = plot.predictions(p, [0, 1])
        titles = [ax.get_title() for ax in fig.axes]
        colors = [ax.title.get_color() for ax in fig.axes]
        assert titles == ["cat (90%)\ntrue: cat", "cat (80%)\ntrue: dog"]
        assert colors == ["black", "tab:red"]
        ax = plot.confusion_matrix(p).axes[0]
        assert [t.get_text() for t in ax.texts] == ["1.00", "0.50", "0.50"]
    plt.close("all")


def test_panels_are_made_or_taken_and_checked(tmp_path):
    fig, axes = plot.panels("f", None, (2, 3))
    assert axes.shape == (2, 3) and axes[1, 2].figure is fig
    given, mine = plt.subplots(2, 2)
    fig, axes = plot.panels("f", mine, 4)  # any layout of the right count, flat
    assert fig is given and list(axes) == list(mine.ravel())
    with pytest.raises(ValueError, match=r"f\(axes=.*axes must be 3 matplotlib Axes"):
        plot.panels("f", mine, 3)
    with pytest.raises(ValueError, match="axes must be 2 matplotlib Axes"):
        plot.panels("f", [mine[0, 0], "not an axis"], 2)
    with pytest.raises(ValueError, match="path"):
        plot.panels("f", None, 2, path=tmp_path / "figure.unknownformat")
