"""The chapters: one module per chapter, holding its teaching models and its profiles.

A chapter module (``alexnet.py``, ``vgg.py``, ...) opens with a docstring (the
paper, the idea, a table of the stages), builds the chapter's networks flat, the way
*Dive into Deep Learning* writes them, with small helpers such as ``vgg_block`` or
``nin_block``, registers them with :func:`cnnlab.models.register`, and may declare:

- ``PROFILES``: ``{"full": Profile(...), "quick": Profile(...)}``, the chapter's
  training settings (:mod:`cnnlab.profiles` chooses one of them);
- ``BENCHMARK_INPUTS``: ``[(model, side, batch), ...]``, inputs at which a CPU trains
  the chapter's networks in seconds (``benchmarks/precision.py`` times them).

Every module of this package whose name does not start with ``_`` is a chapter and
is imported (so its models are registered) when :mod:`cnnlab.models` is. A new
chapter is one new module here plus one notebook.

>>> from cnnlab import chapters
>>> "resnet" in chapters.names()
True
>>> chapters.models_of("vgg")
['vgg11_fmnist']
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from cnnlab import models
from cnnlab.chapters._common import init_cnn

__all__ = ["names", "module", "models_of", "chapter_of", "profiles_of", "benchmark_inputs",
           "init_cnn"]


def _discover(paths=__path__, package: str = __name__) -> dict[str, ModuleType]:
    """Import every module of ``package`` (found in ``paths``) not starting with ``_``."""
    found = {}
    for info in pkgutil.iter_modules(paths):
        if not info.name.startswith("_"):
            found[info.name] = importlib.import_module(f"{package}.{info.name}")
    return dict(sorted(found.items()))


_CHAPTERS: dict[str, ModuleType] = _discover()


def names() -> list[str]:
    """The chapters, by module name (``"alexnet"``, ``"resnet"``, ...)."""
    return list(_CHAPTERS)


def module(chapter: str) -> ModuleType:
    """The module of ``chapter``; unknown names list the known ones."""
    try:
        return _CHAPTERS[chapter]
    except KeyError:
        raise ValueError(f"Unknown chapter {chapter!r}; known: {', '.join(_CHAPTERS)}.") from None


def models_of(chapter: str) -> list[str]:
    """The registry names whose builders live in ``chapter``'s module."""
    name = module(chapter).__name__
    return [m for m in models.list_models() if models.get_spec(m).builder.__module__ == name]


def profiles_of(chapter: str) -> dict:
    """``chapter``'s ``PROFILES`` (empty when it has none)."""
    return dict(getattr(module(chapter), "PROFILES", {}))


def chapter_of(model: str) -> str | None:
    """The chapter whose profiles train ``model``, if any.

    Several chapters may train one network (the ResNet deep dive retrains the ResNet
    chapter's): the chapter that builds it wins, then the first in name order.
    """
    training = [c for c in _CHAPTERS if any(p.model == model for p in profiles_of(c).values())]
    building = [c for c in training if model in models_of(c)]
    return (building or training or [None])[0]


def benchmark_inputs() -> list[tuple[str, int, int]]:
    """Every chapter's ``BENCHMARK_INPUTS``: ``(model, side, batch)`` rows."""
    return [row for m in _CHAPTERS.values() for row in getattr(m, "BENCHMARK_INPUTS", [])]
