"""What the chapters' d2l-style models share: d2l's weight initialisation."""

from __future__ import annotations

from torch import nn

__all__ = ["init_cnn"]


def init_cnn(module: nn.Module) -> None:
    """d2l's ``init_cnn``: Xavier-uniform weights for every Conv2d and Linear.

    Use it with ``net.apply(init_cnn)``. With sigmoid activations PyTorch's default
    (Kaiming-uniform with a=√5) starts the d2l networks too flat to learn quickly.

    >>> net = nn.Sequential(nn.Conv2d(1, 6, 5), nn.Linear(6, 2)).apply(init_cnn)
    """
    if type(module) in (nn.Linear, nn.Conv2d):
        nn.init.xavier_uniform_(module.weight)
