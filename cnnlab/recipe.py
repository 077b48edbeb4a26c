"""A chapter's training settings as data: :class:`Profile`, and the recipes that make them.

Each chapter module declares its profiles with these
(``PROFILES = {"full": d2l_recipe(...), "quick": Profile(...), "reference":
reference_recipe(...)}``): ``full`` is the published recipe of the chapter's source;
``quick`` a short CPU run on a stratified subset with fewer epochs — a smaller
experiment, not a faked one; ``reference`` the recipe shared by the modern-CNN
chapters for the runs recorded at scale (``cnnlab record``). :mod:`cnnlab.profiles`
chooses one of a chapter's profiles; :func:`choose_profile_name` says which and why.

>>> p = Profile(model="lenet_bn", epochs=2, batch_size=64, lr=1e-3)
>>> p.fit_kwargs()["epochs"], p.settings()["batch_size"]
(2, 64)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from cnnlab import dry_run, models, settings
from cnnlab.data import fashion_mnist

__all__ = ["Profile", "PROFILE_NAMES", "REFERENCE_RECIPE", "d2l_recipe", "reference_recipe",
           "choose_profile_name"]

PROFILE_NAMES = ("full", "quick", "reference")

# The reference profile's recipe, the same for every modern-CNN chapter so the seven
# records are comparable: all of Fashion-MNIST, the same epochs, batch and optimiser.
# Adam with a one-cycle schedule (Smith & Topin 2017, arXiv:1708.07120) and label
# smoothing 0.1 (Szegedy et al. 2016, arXiv:1512.00567); no augmentation, which would
# slow three epochs down more than it helps them.
REFERENCE_RECIPE = dict(epochs=3, batch_size=128, lr=1e-3, optimizer="adam",
                        schedule="onecycle", label_smoothing=0.1)


# The Profile fields that decide what a run computes.
_SETTINGS = ("model", "model_kwargs", "epochs", "batch_size", "lr", "optimizer", "resize",
             "train_per_class", "test_per_class", "augment", "schedule", "weight_decay",
             "label_smoothing", "extra")


@dataclass(frozen=True)
class Profile:
    """One chapter's training settings under one profile.

    ``data()`` builds the chapter's data, ``fit_kwargs()`` the arguments for
    :func:`cnnlab.train.fit`. A chapter writes the settings; :func:`cnnlab.profiles.get_profile` fills
    in ``chapter``, ``name`` and ``reason`` (why this profile was chosen).
    """

    model: str
    epochs: int
    batch_size: int
    lr: float
    chapter: str = ""
    name: str = ""
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
    model_kwargs: dict = field(default_factory=dict)

    def data(self, **overrides: Any):
        """The chapter's Fashion-MNIST batches under this profile."""
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

    def create_model(self, seed: int | None = None, **overrides: Any):
        """The profile's network: ``models.create(model, seed=seed, **model_kwargs)``.

        ``model_kwargs`` are the builder's arguments a profile changes (e.g. a quick
        profile's narrower widths); the description prints them.
        """
        return models.create(self.model, seed=seed, **{**self.model_kwargs, **overrides})

    def model_description(self) -> str:
        """``model`` with the builder arguments this profile passes, e.g. ``vgg11_fmnist(pool=2)``."""
        if not self.model_kwargs:
            return self.model
        return f"{self.model}({', '.join(f'{k}={v!r}' for k, v in self.model_kwargs.items())})"

    def settings(self) -> dict[str, Any]:
        """The fields that decide what a run computes (not its chapter, name or prose), as
        JSON stores them: a recorded run keeps them, and stays valid while they match."""
        return json.loads(json.dumps({k: getattr(self, k) for k in _SETTINGS}))

    def replace(self, **changes: Any) -> "Profile":
        return replace(self, **changes)

    def describe(self) -> str:
        images = (f"{self.train_per_class * 10:,} training images ({self.train_per_class}/class)"
                  if self.train_per_class else "all 60,000 training images")
        tests = (f"{self.test_per_class * 10:,} test images" if self.test_per_class
                 else "all 10,000 test images")
        side = self.resize or 28
        sched = f", {self.schedule} schedule" if self.schedule else ""
        sched += f", label smoothing {self.label_smoothing:g}" if self.label_smoothing else ""
        text = (f"Profile '{self.name}' for chapter '{self.chapter}' ({self.reason}): "
                f"{self.model_description()}, {images}, {tests}, {side}×{side} px, "
                f"{self.epochs} epochs, "
                f"batch {self.batch_size}, {self.optimizer} lr {self.lr:g}{sched}.")
        return f"{text} {dry_run.NOTICE}." if dry_run.enabled() else text

    __str__ = describe


def d2l_recipe(model: str, published: dict[str, Any]) -> Profile:
    """The ``full`` profile that repeats d2l's printed run of ``model``.

    ``published`` is the chapter's ``D2L_PUBLISHED`` (its ``lr``, ``batch_size``,
    ``epochs``, ``resize`` and ``source``). d2l trains with plain SGD, *without*
    momentum: written once here, so no chapter can pick up the trainer's default
    momentum of 0.9 by leaving it out.

    >>> p = d2l_recipe("lenet_bn", dict(lr=1.0, batch_size=256, epochs=10, resize=28,
    ...                                 source="d2l, Batch Normalization", test_acc=0.837))
    >>> p.optimizer, p.fit_kwargs()["momentum"], p.resize, p.lr
    ('sgd', 0.0, None, 1.0)
    """
    side = published["resize"]
    return Profile(model=model, epochs=published["epochs"], batch_size=published["batch_size"],
                   lr=published["lr"], optimizer="sgd", resize=None if side == 28 else side,
                   extra=dict(momentum=0.0),
                   source=(f"{published['source']}: SGD without momentum, lr {published['lr']:g}, "
                           f"batch {published['batch_size']}, {published['epochs']} epochs, "
                           f"{side}×{side}"))


def reference_recipe(model: str, resize: int | None, last_map: int,
                     model_kwargs: dict | None = None, note: str = "") -> Profile:
    """The ``reference`` profile of a modern-CNN chapter: :data:`REFERENCE_RECIPE` on all
    60,000 training and 10,000 test images, at ``resize`` px, where the network's last
    map is ``last_map``×``last_map`` (no mechanism runs on a collapsed 1×1 map).

    ``model_kwargs`` narrow a network so three epochs fit a 2-core CPU in minutes;
    ``note`` says why. ``cnnlab record CHAPTER`` trains it and records the result.

    >>> p = reference_recipe("nin", 112, 2, dict(ratio=2))
    >>> p.epochs, p.train_per_class, p.schedule, p.label_smoothing
    (3, None, 'onecycle', 0.1)
    """
    side = resize or 28
    r = REFERENCE_RECIPE
    source = (f"ours, the same for all seven networks: all of Fashion-MNIST at {side}×{side} px "
              f"(last map {last_map}×{last_map}), {r['epochs']} epochs, batch {r['batch_size']}, "
              f"Adam + one-cycle to lr {r['lr']:g}, label smoothing {r['label_smoothing']:g}")
    return Profile(model=model, resize=resize, model_kwargs=dict(model_kwargs or {}),
                   extra={}, source=source + (f"; {note}" if note else ""),
                   **{k: v for k, v in r.items()})


def choose_profile_name(name: str | None = None,
                        cuda_available: bool | None = None) -> tuple[str, str]:
    """The profile name to use and the reason, as described in the module docstring."""
    if name is None and settings.profile():
        name, reason = settings.profile(), "set by $CNNLAB_PROFILE"
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


