"""What a trained classifier gets right and wrong on the test images.

>>> preds = predictions.collect(net, data)            # doctest: +SKIP
>>> preds.accuracy, preds.confusion().shape             # doctest: +SKIP
(0.874, torch.Size([10, 10]))
>>> plot.predictions(preds, preds.mistakes(8))          # the most confident mistakes  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from cnnlab import checks
from cnnlab.data import ImageData
from cnnlab.train import class_probabilities

__all__ = ["Predictions", "collect"]


@dataclass
class Predictions:
    """The test split's images with their true and predicted classes.

    Attributes:
        images: the test images as stored, uint8 ``(N, C, H, W)`` (not resized).
        labels, predicted: int64 ``(N,)``.
        confidence: the probability the model gave its predicted class, ``(N,)``.
        classes: the class names.
    """

    images: torch.Tensor
    labels: torch.Tensor
    predicted: torch.Tensor
    confidence: torch.Tensor
    classes: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def correct(self) -> torch.Tensor:
        return self.predicted == self.labels

    @property
    def accuracy(self) -> float:
        return self.correct.sum().item() / max(1, len(self))   # exact, like evaluate

    def confusion(self) -> torch.Tensor:
        """Counts ``(C, C)``: row = true class, column = predicted class."""
        c = len(self.classes)
        return torch.bincount(self.labels * c + self.predicted, minlength=c * c).reshape(c, c)

    def mistakes(self, k: int = 8) -> torch.Tensor:
        """Indices of the ``k`` wrong predictions made with the highest confidence."""
        checks.positive_int("Predictions.mistakes", "k", k, 8)
        wrong = (~self.correct).nonzero().squeeze(1)
        order = self.confidence[wrong].argsort(descending=True)
        return wrong[order[:k]]

    def sample(self, k: int = 8, seed: int = 0) -> torch.Tensor:
        """``k`` indices drawn at random (seeded), right and wrong alike."""
        checks.positive_int("Predictions.sample", "k", k, 8)
        checks.non_negative_int("Predictions.sample", "seed", seed, 0)
        g = torch.Generator().manual_seed(seed)
        return torch.randperm(len(self), generator=g)[:k]

    def most_confused(self, k: int = 3) -> list[tuple[str, str, int]]:
        """The ``k`` (true, predicted, count) pairs the model mixes up most often."""
        checks.positive_int("Predictions.most_confused", "k", k, 3)
        cm = self.confusion().clone()
        cm.fill_diagonal_(0)
        top = cm.flatten().topk(min(k, cm.numel()))
        c = len(self.classes)
        return [(self.classes[i // c], self.classes[i % c], int(n))
                for n, i in zip(top.values.tolist(), top.indices.tolist()) if n > 0]


def collect(model: nn.Module, data: ImageData, **kwargs) -> Predictions:
    """Run ``model`` over ``data``'s test split (keyword arguments as for
    :func:`cnnlab.train.class_probabilities`) and keep what it predicted."""

    checks.instance("collect", "data", data, ImageData, "a cnnlab.data.ImageData",
                    "data.fashion_mnist()")  # the model and kwargs: class_probabilities checks them
    probs, labels = class_probabilities(model, data, **kwargs)
    confidence, predicted = probs.max(1)
    return Predictions(images=data.test.images.cpu(), labels=labels.cpu(),
                       predicted=predicted.cpu(), confidence=confidence.cpu(),
                       classes=tuple(data.classes))
