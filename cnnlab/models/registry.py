"""The model registry: one obvious way to build any network of the course.

Every model module registers its builders with :func:`register`; chapters call
:func:`create` by name::

    >>> from cnnlab import models
    >>> net = models.create("resnet18", num_classes=10, in_channels=1)
    >>> "resnet18" in models.list_models()
    True

A model built by :func:`create` checks its input before the first layer runs, so
a wrong channel count or an image too small for the network's downsampling gives
a :class:`ValueError` that names the model, the shape it got and the smallest
shape it accepts, instead of PyTorch's shape-mismatch traceback.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from cnnlab import checks
from cnnlab.seeding import seed_everything

__all__ = ["ModelSpec", "register", "create", "list_models", "get_spec", "UnknownModelError"]


class UnknownModelError(KeyError, ValueError):
    """Raised by :func:`create` for a name that is not registered."""

    def __str__(self) -> str:  # KeyError quotes its message; show it plainly
        return str(self.args[0])


@dataclass(frozen=True)
class ModelSpec:
    """What the registry knows about one model name.

    Attributes:
        name: registry name (torchvision's name where the configuration is the same).
        builder: ``builder(num_classes=..., in_channels=..., **kwargs) -> nn.Module``.
        family: the chapter family ("alexnet", "vgg", "resnet", ...).
        num_classes: default number of classes.
        in_channels: default number of input channels.
        input_size: typical input side length (pixels) for this configuration.
        min_size: the smallest input side length the network accepts.
        paper: short citation of the source ("He et al. 2016, arXiv:1512.03385").
        torchvision: torchvision's builder name when ours is the same network, else None.
        description: one line for ``list_models`` tables and the CLI.
    """

    name: str
    builder: Callable[..., nn.Module]
    family: str
    num_classes: int = 1000
    in_channels: int = 3
    input_size: int = 224
    min_size: int = 32
    paper: str = ""
    torchvision: str | None = None
    description: str = ""
    defaults: dict = field(default_factory=dict)


_REGISTRY: dict[str, ModelSpec] = {}


def register(
    name: str,
    *,
    family: str,
    num_classes: int = 1000,
    in_channels: int = 3,
    input_size: int = 224,
    min_size: int = 32,
    paper: str = "",
    torchvision: str | None = None,
    description: str = "",
    **defaults,
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator: register ``builder`` under ``name``.

    ``defaults`` are extra keyword arguments passed to the builder (for example
    ``depth=18``), so one builder can serve several names.
    """

    def decorate(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _REGISTRY:
            raise ValueError(f"model name {name!r} is registered twice")
        _REGISTRY[name] = ModelSpec(
            name=name, builder=builder, family=family, num_classes=num_classes,
            in_channels=in_channels, input_size=input_size, min_size=min_size,
            paper=paper, torchvision=torchvision, description=description,
            defaults=dict(defaults),
        )
        return builder

    return decorate


def list_models(family: str | None = None) -> list[str]:
    """Sorted registry names, optionally only those of one ``family``."""
    if family is not None:
        families = sorted({s.family for s in _REGISTRY.values()})
        checks.one_of("list_models", "family", family, families, none="every family")
    return sorted(n for n, s in _REGISTRY.items() if family is None or s.family == family)


def get_spec(name: str) -> ModelSpec:
    """The :class:`ModelSpec` for ``name``; unknown names list the closest known ones."""
    checks.instance("get_spec", "name", name, str, "a model name (str)", "'resnet18'")
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, _REGISTRY, n=5, cutoff=0.4)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownModelError(
            f"Unknown model {name!r}.{hint} See cnnlab.models.list_models() "
            f"(or `cnnlab list`) for all names."
        ) from None


def create(name: str, num_classes: int | None = None, in_channels: int | None = None,
           seed: int | None = None, **kwargs) -> nn.Module:
    """Build the registered model ``name``.

    Args:
        name: a name from :func:`list_models`.
        num_classes: output classes (default: the configuration's own, e.g. 1000).
        in_channels: input channels (default: the configuration's own, e.g. 3).
        seed: seed every random number generator (:func:`cnnlab.seed_everything`)
            before the weights are drawn, so the same seed gives the same initial
            weights. This is the one way to seed a run's initialisation; ``fit(seed=...)``
            seeds only what happens during training (shuffling, dropout).
        **kwargs: passed to the model's builder (e.g. ``aux_logits=False``).

    >>> a, b = create("lenet", seed=0), create("lenet", seed=0)
    >>> all(bool((p == q).all()) for p, q in zip(a.parameters(), b.parameters()))
    True

    The returned module carries ``model.input_spec`` (an :class:`InputSpec`) and
    validates every input against it before its first layer runs.
    """
    checks.instance("create", "name", name, str, "a model name (str)", "'resnet18'")
    checks.positive_int("create", "num_classes", num_classes, 10, none="the model's own")
    checks.positive_int("create", "in_channels", in_channels, 1, none="the model's own")
    checks.non_negative_int("create", "seed", seed, 0, none="no seeding")
    spec = get_spec(name)
    if seed is not None:
        seed_everything(seed)
    num_classes = spec.num_classes if num_classes is None else num_classes
    in_channels = spec.in_channels if in_channels is None else in_channels
    model = spec.builder(num_classes=num_classes, in_channels=in_channels,
                         **{**spec.defaults, **kwargs})
    attach_input_check(model, InputSpec(name, in_channels, spec.min_size))
    return model


@dataclass(frozen=True)
class InputSpec:
    """The inputs a model accepts: ``(N, channels, H, W)`` with ``H, W >= min_size``."""

    model: str
    channels: int
    min_size: int

    def check(self, x: torch.Tensor) -> None:
        """Raise ValueError with an explanation if ``x`` does not fit."""
        shape = tuple(x.shape)
        smallest = f"(N, {self.channels}, {self.min_size}, {self.min_size})"
        if x.dim() != 4:
            raise ValueError(
                f"{self.model} expects a batch of images shaped (N, C, H, W), got a "
                f"{x.dim()}-d tensor of shape {shape}. Add a batch dimension with "
                f"x.unsqueeze(0) for a single image.")
        if shape[1] != self.channels:
            raise ValueError(
                f"{self.model} was built for {self.channels}-channel images but got "
                f"{shape[1]} channels (input shape {shape}). Build it with "
                f"create({self.model!r}, in_channels={shape[1]}) or convert the images; "
                f"smallest accepted input: {smallest}.")
        if min(shape[2], shape[3]) < self.min_size:
            raise ValueError(
                f"{self.model} needs images of at least {self.min_size}x{self.min_size} "
                f"pixels to survive its downsampling, got {shape[2]}x{shape[3]} (input "
                f"shape {shape}); smallest accepted input: {smallest}. Resize the "
                f"images (e.g. cnnlab.data batches with resize={self.min_size}).")


def _check_input_hook(module: nn.Module, args: tuple) -> None:
    module.input_spec.check(args[0])


def attach_input_check(model: nn.Module, spec: InputSpec) -> nn.Module:
    """Give ``model`` an ``input_spec`` and validate its inputs before ``forward``."""
    model.input_spec = spec
    model.register_forward_pre_hook(_check_input_hook)
    return model
