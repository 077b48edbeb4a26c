"""Plots the chapters share: training curves, image grids, feature maps."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import torch

__all__ = ["curves", "images", "feature_maps"]


def curves(history, ax=None, title: str | None = None):
    """Training loss, training accuracy and test accuracy per epoch on one axis.

    ``history`` is a :class:`cnnlab.train.History` (or a list of them to compare runs,
    then only test accuracy is drawn, one line per run). Returns the axis.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    runs = history if isinstance(history, (list, tuple)) else None
    if runs is not None:
        for i, run in enumerate(runs):
            ax.plot(run.column("epoch"), run.column("test_acc"), marker="o",
                    label=getattr(run, "label", None) or f"run {i + 1}")
        ax.set_ylabel("test accuracy")
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
    return ax


def images(x: torch.Tensor, labels: Sequence[str] | None = None, ncols: int = 8,
           scale: float = 1.3, cmap: str = "gray"):
    """A grid of images (``(N, H, W)`` or ``(N, C, H, W)``, any value range) with titles."""
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
            ax.imshow((img - img.min()) / (img.max() - img.min() + 1e-8), cmap=cmap)
            if labels is not None:
                ax.set_title(str(labels[i]), fontsize=8)
    fig.tight_layout()
    return fig


def feature_maps(maps: torch.Tensor, n: int = 16, ncols: int = 8, scale: float = 1.1):
    """The first ``n`` channels of one feature map ``(C, H, W)`` (or ``(1, C, H, W)``)."""
    maps = maps.detach().float().cpu()
    if maps.dim() == 4:
        maps = maps[0]
    return images(maps[:n], labels=[f"ch {i}" for i in range(min(n, len(maps)))],
                  ncols=ncols, scale=scale, cmap="viridis")
