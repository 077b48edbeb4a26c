"""Plots the chapters share: training curves, image grids, feature maps.

In a notebook a figure appears below the cell. In a plain script each function
opens a window when matplotlib has an interactive backend; on a headless machine it
says so and asks for ``path=...``, which saves the figure instead (any format
matplotlib writes: ``.png``, ``.svg``, ``.pdf``).

>>> curves(history, path="curves.png")      # doctest: +SKIP
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter

from cnnlab import checks
from cnnlab.files import atomic_write
from cnnlab.predictions import Predictions
from cnnlab.train import EpochStats, History

__all__ = ["show", "curves", "reference_curves", "images", "feature_maps", "predictions", "confusion_matrix",
           "save_figure", "panels"]

# matplotlib's built-in backends that draw to files only, never to a window.
_FILE_ONLY_BACKENDS = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}


def save_figure(fig, path: str | os.PathLike) -> Path:
    """Save ``fig`` to ``path`` atomically (a temporary file, then a rename): an
    interrupted save never leaves half a file where an older figure was."""
    checks.instance("save_figure", "fig", fig, Figure, "a matplotlib Figure",
                    "ax.figure")
    path = _check_path("save_figure", path)
    return atomic_write(path, lambda f: fig.savefig(f, format=path.suffix[1:].lower(),
                                                    bbox_inches="tight", dpi=150))


def _check_path(func: str, path) -> Path | None:
    """``path`` where a figure can be saved, in a format matplotlib writes (nothing is created)."""
    checked = checks.path(func, "path", path, "'figure.png'", write=True, none="no file")
    formats = FigureCanvasBase.get_supported_filetypes()
    if checked is not None and checked.suffix and checked.suffix[1:].lower() not in formats:
        checks.refuse(func, "path", path, f"a file name ending in a format matplotlib writes "
                      f"({', '.join('.' + f for f in sorted(formats))})", "'figure.png'")
    return checked


def _check_axis(func: str, ax, title, path) -> None:
    """The arguments the one-axis plots share."""
    checks.instance(func, "ax", ax, Axes, "a matplotlib Axes", "plt.subplots()[1]",
                    none="a new figure")
    checks.instance(func, "title", title, str, "a str", "'ResNet-18'", none="no title")
    _check_path(func, path)


def _check_figure(func: str, ncols, scale, path) -> None:
    """The arguments the grids share."""
    checks.positive_int(func, "ncols", ncols, 8)
    checks.positive_float(func, "scale", scale, 1.3)
    _check_path(func, path)


def panels(func: str, axes, shape: int | tuple[int, int], path=None, **subplots_kwargs):
    """The panels a several-panel plot draws into, and their figure.

    Every plot of the package takes ``path=`` (save there) and returns its figure; a
    one-panel plot takes ``ax=``, a several-panel plot ``axes=``: ``shape`` (a count, or
    ``(rows, cols)``) Axes in any sequence or array, e.g. ``plt.subplots(1, 3)[1]``, or
    None for a new figure (``plt.subplots(rows, cols, **subplots_kwargs)``). Returns
    ``(figure, axes)``, the axes flat for a count and ``rows × cols`` for a pair.

    >>> fig, axes = panels("example", None, 3)
    >>> len(axes), axes[0].figure is fig
    (3, True)
    >>> panels("example", axes[:2], 3)
    Traceback (most recent call last):
    ...
    ValueError: example(axes=<ndarray of shape (2,)>): axes must be 3 matplotlib Axes, e.g. axes=plt.subplots(1, 3)[1], or None for a new figure.
    """
    rows, cols = (1, shape) if isinstance(shape, int) else shape
    _check_path(func, path)
    if axes is None:
        fig, found = plt.subplots(rows, cols, squeeze=False, **subplots_kwargs)
    else:
        found = np.asarray(axes, dtype=object).reshape(-1)
        if len(found) != rows * cols or not all(isinstance(a, Axes) for a in found):
            checks.refuse(func, "axes", axes, f"{rows * cols} matplotlib Axes",
                          f"plt.subplots({rows}, {cols})[1]", none="a new figure")
        found = found.reshape(rows, cols)
        fig = found[0, 0].figure
    return fig, (found.reshape(-1) if isinstance(shape, int) else found)


def show(fig, path: str | os.PathLike | None = None) -> None:
    """Deliver a finished figure: save it to ``path`` (atomically), else let the notebook
    show it, else open a window. Every plot of the package ends with it."""
    if path is not None:
        save_figure(fig, path)
        return
    if "ipykernel" in sys.modules:      # Jupyter: the inline backend displays it
        return
    backend = matplotlib.get_backend().lower()
    if backend in _FILE_ONLY_BACKENDS:
        warnings.warn(f"matplotlib's backend {backend!r} cannot open a window, so this figure "
                      "is not shown: pass path='figure.png' to save it to a file.", stacklevel=3)
    else:
        plt.show()


def curves(history, ax=None, title: str | None = None,
           path: str | os.PathLike | None = None, metric: str = "test_acc"):
    """Training curves of one run, or one metric of several runs to compare.

    ``history`` is a :class:`cnnlab.train.History`: its training loss, training
    accuracy and test accuracy per epoch on one axis. Or a list of them: ``metric``
    (default ``"test_acc"``; any :class:`cnnlab.train.EpochStats` field) per epoch, one
    line per run, named by each history's ``label``. ``path`` saves the figure there
    (see the module's docstring). Returns the figure.

    >>> curves([quick, full], metric="train_loss")   # doctest: +SKIP
    """
    runs = history if isinstance(history, (list, tuple)) else [history]
    for run in runs:
        checks.instance("curves", "history", run, History,
                        "a cnnlab.train.History or a list of them", "fit(...)")
    checks.one_of("curves", "metric", metric, [f for f in EpochStats.__dataclass_fields__
                                                if f not in ("epoch", "device")])
    _check_axis("curves", ax, title, path)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    runs = history if isinstance(history, (list, tuple)) else None
    if runs is not None:
        for i, run in enumerate(runs):
            ax.plot(run.column("epoch"), run.column(metric), marker="o",
                    label=getattr(run, "label", None) or f"run {i + 1}")
        ax.set_ylabel(metric.replace("_acc", " accuracy").replace("_", " "))
    else:
        epochs = history.column("epoch")
        ax.plot(epochs, history.column("train_loss"), marker="o", label="train loss")
        ax.plot(epochs, history.column("train_acc"), marker="o", linestyle="--", label="train acc")
        ax.plot(epochs, history.column("test_acc"), marker="o", linestyle="-.", label="test acc")
    ax.set_xlabel("epoch")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    show(ax.figure, path)
    return ax.figure


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def _images_per_epoch(train_per_class: int | None) -> int:
    return train_per_class * 10 if train_per_class else 60_000


def reference_curves(history, profile, records: Sequence[dict], d2l: dict | None = None,
                     ax=None, title: str | None = None, path: str | os.PathLike | None = None):
    """The reader's run beside the recorded reference runs and d2l's published figure.

    Test accuracy against the training images seen so far (log scale), so a quick run
    on a subset and a reference run on all 60,000 images share one axis. ``history``
    and ``profile`` are the reader's run; ``records`` the chapter's recorded runs
    (:func:`cnnlab.results.recorded_runs`); ``d2l`` its ``D2L_PUBLISHED`` (a star at
    d2l's epochs × 60,000 images). Returns the figure.
    """
    checks.instance("reference_curves", "history", history, History, "a cnnlab.train.History",
                    "fit(...)")
    _check_axis("reference_curves", ax, title, path)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.6))
    per_epoch = _images_per_epoch(profile.train_per_class)
    ax.plot([e * per_epoch for e in history.column("epoch")], history.column("test_acc"),
            marker="o", label=f"your run: profile '{profile.name}' ({per_epoch:,} images/epoch, "
                              f"{profile.resize or 28} px)")
    for r in records:
        s = r["settings"]
        seen = [row["epoch"] * _images_per_epoch(s["train_per_class"]) for row in r["history"]]
        ax.plot(seen, [row["test_acc"] for row in r["history"]], marker="s", linestyle="--",
                label=(f"recorded '{r['profile']}' run, seed {r['seed']} "
                       f"({s['resize'] or 28} px, {_duration(r['wall_seconds'])})"))
    if d2l is not None:
        ax.scatter([d2l["epochs"] * 60_000], [d2l["test_acc"]], marker="*", s=140, color="black",
                   zorder=3, label=f"d2l, published ({d2l['epochs']} epochs, {d2l['resize']} px)")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:g}k"))
    ax.xaxis.set_minor_formatter(NullFormatter())  # log-scale minor labels overlap
    ax.set_xlabel("training images seen")
    ax.set_ylabel("test accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    if title:
        ax.set_title(title)
    show(ax.figure, path)
    return ax.figure


def images(x: torch.Tensor, labels: Sequence[str] | None = None, ncols: int = 8,
           scale: float = 1.3, cmap: str = "gray", path: str | os.PathLike | None = None):
    """A grid of images (``(N, H, W)`` or ``(N, C, H, W)``, any value range) with titles.

    ``path`` saves the figure there. Returns the figure."""
    checks.tensor("images", "x", x, (3, 4), "shaped (N, H, W) or (N, C, H, W)",
                  "torch.rand(8, 28, 28)")
    if labels is not None and len(labels) < len(x):
        checks.refuse("images", "labels", labels, f"one title for each of the {len(x)} images",
                      none="no titles")
    _check_figure("images", ncols, scale, path)
    x = x.detach().float().cpu()
    if x.dim() == 4:
        x = x[:, 0] if x.shape[1] == 1 else x.permute(0, 2, 3, 1)
    n = len(x)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, min(n, ncols), figsize=(scale * min(n, ncols), scale * nrows),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            img = x[i]
            ax.imshow(((img - img.min()) / (img.max() - img.min() + 1e-8)).numpy(), cmap=cmap)
            if labels is not None:
                ax.set_title(str(labels[i]), fontsize=8)
    fig.tight_layout()
    show(fig, path)
    return fig


def feature_maps(maps: torch.Tensor, n: int = 16, ncols: int = 8, scale: float = 1.1,
                 path: str | os.PathLike | None = None):
    """The first ``n`` channels of one feature map ``(C, H, W)`` (or ``(1, C, H, W)``)."""
    checks.tensor("feature_maps", "maps", maps, (3, 4), "shaped (C, H, W) or (1, C, H, W)",
                  "net[0](x)[0]")
    checks.positive_int("feature_maps", "n", n, 16)
    _check_figure("feature_maps", ncols, scale, path)
    maps = maps.detach().float().cpu()
    if maps.dim() == 4:
        maps = maps[0]
    return images(maps[:n], labels=[f"ch {i}" for i in range(min(n, len(maps)))],
                  ncols=ncols, scale=scale, cmap="viridis", path=path)


def predictions(preds, indices: Sequence[int] | torch.Tensor | None = None, ncols: int = 8,
                scale: float = 1.5, path: str | os.PathLike | None = None):
    """Test images with their predicted and true classes: each title reads
    ``predicted (confidence)`` over ``true``, red where the prediction is wrong.

    ``preds`` is a :class:`cnnlab.predictions.Predictions`; ``indices`` picks the images
    (default: the first ``ncols``), e.g. ``preds.mistakes(8)``. Returns the figure."""
    checks.instance("predictions", "preds", preds, Predictions,
                    "a cnnlab.predictions.Predictions", "predictions.collect(net, data)")
    _check_figure("predictions", ncols, scale, path)
    idx = torch.as_tensor(list(range(min(ncols, len(preds)))) if indices is None else indices)
    if idx.dim() != 1 or (idx.is_floating_point() and len(idx)) or not all(
            0 <= i < len(preds) for i in idx.tolist()):
        checks.refuse("predictions", "indices", indices, f"a list of image indices from 0 to "
                      f"{len(preds) - 1}", "preds.mistakes(8)", none="the first ncols")
    idx = idx.long()
    n = len(idx)
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(nrows, max(1, min(n, ncols)),
                             figsize=(scale * max(1, min(n, ncols)), 1.35 * scale * nrows),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, idx.tolist()):
        img = preds.images[i].float()
        img = img[0] if img.shape[0] == 1 else img.permute(1, 2, 0) / 255
        ax.imshow(img.numpy(), cmap="gray")
        wrong = preds.predicted[i] != preds.labels[i]
        ax.set_title(f"{preds.classes[preds.predicted[i]]} ({preds.confidence[i]:.0%})\n"
                     f"true: {preds.classes[preds.labels[i]]}", fontsize=7.5,
                     color="tab:red" if wrong else "black")
    fig.tight_layout()
    show(fig, path)
    return fig


def confusion_matrix(preds, normalize: bool = True, ax=None, title: str | None = None,
                     path: str | os.PathLike | None = None):
    """The confusion matrix of a :class:`cnnlab.predictions.Predictions`: rows are the
    true classes, columns the predicted ones; ``normalize`` shows each row's fractions
    (recall on the diagonal). Returns the figure."""
    checks.instance("confusion_matrix", "preds", preds, Predictions,
                    "a cnnlab.predictions.Predictions", "predictions.collect(net, data)")
    checks.flags("confusion_matrix", normalize=normalize)
    _check_axis("confusion_matrix", ax, title, path)
    cm = preds.confusion().float()
    if normalize:
        cm = cm / cm.sum(1, keepdim=True).clamp(min=1)
    if ax is None:
        _, ax = plt.subplots(figsize=(5.6, 4.8))
    im = ax.imshow(cm.numpy(), cmap="Blues", vmin=0)
    c = len(preds.classes)
    ax.set_xticks(range(c), preds.classes, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(c), preds.classes, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(c):
        for j in range(c):
            value = cm[i, j].item()
            if value:
                ax.text(j, i, f"{value:.2f}" if normalize else str(int(value)), ha="center",
                        va="center", fontsize=6.5,
                        color="white" if value > 0.5 * cm.max().item() else "black")
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    if title:
        ax.set_title(title)
    ax.figure.tight_layout()
    show(ax.figure, path)
    return ax.figure
