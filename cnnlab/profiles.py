"""Training profiles: every chapter's settings as ``full`` (GPU) and ``quick`` (CPU).

``full`` is the published recipe of the chapter's source; ``quick`` is a short CPU
run (about two minutes or less on two cores) on a stratified subset, with fewer
epochs — a smaller experiment, not a faked one: the chapter prints which ran.

Which one: the ``name`` you pass, else ``$CNNLAB_PROFILE``, else ``full`` when CUDA is
available and ``quick`` otherwise.

>>> p = get_profile("resnet18_fmnist", "quick")
>>> p.name, p.epochs
('quick', 3)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any

import torch

__all__ = ["Profile", "PROFILE_NAMES", "CHAPTERS", "get_profile", "choose_profile_name",
           "list_chapters"]

PROFILE_NAMES = ("full", "quick")


@dataclass(frozen=True)
class Profile:
    """One chapter's training settings under one profile.

    ``data()`` builds the chapter's data, ``fit_kwargs()`` the arguments for
    :func:`cnnlab.train.fit`; ``reason`` says why this profile was chosen.
    """

    chapter: str
    name: str
    model: str
    epochs: int
    batch_size: int
    lr: float
    optimizer: str = "adam"
    resize: int | None = None
    train_per_class: int | None = None
    test_per_class: int | None = None
    augment: bool = False
    schedule: str | None = None
    weight_decay: float = 0.0
    label_smoothing: float = 0.0
    source: str = ""
    reason: str = ""
    extra: dict = field(default_factory=dict)

    def data(self, **overrides: Any):
        """The chapter's Fashion-MNIST batches under this profile."""
        from cnnlab.data import fashion_mnist
        kwargs = dict(batch_size=self.batch_size, resize=self.resize,
                      train_per_class=self.train_per_class, test_per_class=self.test_per_class,
                      augment=self.augment)
        return fashion_mnist(**{**kwargs, **overrides})

    def fit_kwargs(self, **overrides: Any) -> dict:
        """Keyword arguments for :func:`cnnlab.train.fit` (besides model and data)."""
        kwargs = dict(epochs=self.epochs, lr=self.lr, optimizer=self.optimizer,
                      schedule=self.schedule, weight_decay=self.weight_decay,
                      label_smoothing=self.label_smoothing, **self.extra)
        return {**kwargs, **overrides}

    def replace(self, **changes: Any) -> "Profile":
        return replace(self, **changes)

    def describe(self) -> str:
        images = (f"{self.train_per_class * 10:,} training images ({self.train_per_class}/class)"
                  if self.train_per_class else "all 60,000 training images")
        tests = (f"{self.test_per_class * 10:,} test images" if self.test_per_class
                 else "all 10,000 test images")
        side = self.resize or 28
        sched = f", {self.schedule} schedule" if self.schedule else ""
        return (f"Profile '{self.name}' for chapter '{self.chapter}' ({self.reason}): "
                f"{self.model}, {images}, {tests}, {side}×{side} px, {self.epochs} epochs, "
                f"batch {self.batch_size}, {self.optimizer} lr {self.lr:g}{sched}.")

    __str__ = describe


# Each chapter: the settings shared by both profiles, then what each profile changes.
CHAPTERS: dict[str, dict[str, dict[str, Any]]] = {
    # Seed 001: Adam, lr 1e-3, batch 256, 2 epochs on 28×28 images. The quick run keeps the
    # recipe for 3 epochs on 600 images per class (the notebook: 28.2 s under nbmake in fp32,
    # 24.7 s in bf16 on a quiet 2-core Zen 4; book_time in benchmarks/results.json).
    "resnet18_fmnist": {
        "common": dict(model="resnet18_fmnist", batch_size=256, lr=1e-3, optimizer="adam",
                       source="seed 001 (Adam, lr 0.001, batch 256, 2 epochs, 28×28)"),
        "full": dict(epochs=2),
        "quick": dict(epochs=3, train_per_class=600, test_per_class=200),
    },
}


def list_chapters() -> list[str]:
    return sorted(CHAPTERS)


def choose_profile_name(name: str | None = None,
                        cuda_available: bool | None = None) -> tuple[str, str]:
    """The profile name to use and the reason, as described in the module docstring."""
    if name is None and os.environ.get("CNNLAB_PROFILE"):
        name, reason = os.environ["CNNLAB_PROFILE"], "set by $CNNLAB_PROFILE"
    elif name is not None:
        reason = "asked for explicitly"
    else:
        cuda = torch.cuda.is_available() if cuda_available is None else cuda_available
        name, reason = (("full", "a CUDA GPU is available") if cuda else
                        ("quick", "no CUDA GPU, so the short CPU run; "
                                  "set CNNLAB_PROFILE=full for the published recipe"))
    if name not in PROFILE_NAMES:
        raise ValueError(f"Unknown profile {name!r}: choose one of {', '.join(PROFILE_NAMES)} "
                         f"(from the argument or $CNNLAB_PROFILE).")
    return name, reason


def get_profile(chapter: str, name: str | None = None) -> Profile:
    """The :class:`Profile` of ``chapter`` (see :func:`list_chapters`) under ``name``."""
    if chapter not in CHAPTERS:
        raise ValueError(f"Unknown chapter {chapter!r}; known: {', '.join(list_chapters())}.")
    name, reason = choose_profile_name(name)
    settings = {**CHAPTERS[chapter]["common"], **CHAPTERS[chapter][name]}
    return Profile(chapter=chapter, name=name, reason=reason, **settings)
