"""The chapters: one module per chapter, holding its teaching models, profiles and experiments.

**The chapter contract** (``tests/test_chapters.py`` checks it for every module):

- A docstring that names the chapter's source (the paper, the idea, its stages).
- ``__all__``, listing every public name below, and nothing that does not exist.
- The chapter's networks, built flat the way *Dive into Deep Learning* writes them,
  with small helpers such as ``vgg_block``, registered with
  :func:`cnnlab.models.register` (``models.create`` then builds them by name).
- ``PROFILES``, when the chapter trains: ``{"full": ..., "quick": ...}`` built with
  :mod:`cnnlab.recipe` (``full`` the source's published recipe, ``quick`` the short
  CPU run); :mod:`cnnlab.profiles` chooses one. A chapter that trains nothing (the
  ResNet family, which measures torchvision's networks, and the comparison, which
  reads the others' records) has none and says so in its docstring ("trains nothing").
- Its figures as ``plot_*`` functions that draw into the ``ax=`` (one panel) or
  ``axes=`` (several, :func:`cnnlab.plot.panels`) they are given, else a new figure,
  save it to ``path=`` when given, and return it; its tables as functions that return a
  :class:`cnnlab.table.Table`.
- The chapter's experiments as functions, each with its settings as module
  constants (``EXPERIMENT``, ``SEEDS``...) and, where a claim rests on a difference
  over seeds, a verdict computed by :mod:`cnnlab.stats`.
- Where the effect needs more images than a page trains on a CPU: ``AT_SCALE`` (the
  settings that replace ``EXPERIMENT``'s) and ``experiment_at_scale(profile,
  **settings)``, which runs every arm over ``SEEDS`` and returns ``{"scores": {arm:
  [score per seed]}, ...}``; ``cnnlab record CHAPTER --experiment`` records it
  (:func:`cnnlab.record.record_experiment`) and the page reads the record.
- The chapters of the modern CNNs (:data:`MODERN_CNNS`) also declare
  ``D2L_PUBLISHED`` (d2l's printed run: ``test_acc``, ``lr``, ``batch_size``,
  ``epochs``, ``resize``, ``source``), a ``reference`` profile (the recipe all seven
  share, recorded at scale with ``cnnlab record``) and ``BENCHMARK_INPUTS``
  (``[(model, side, batch), ...]``: inputs at which a CPU trains the chapter's
  networks in seconds; ``benchmarks/precision.py`` times them).

Every module of this package whose name does not start with ``_`` is a chapter and
is imported (so its models are registered) when :mod:`cnnlab` is. A new chapter is
one new module here plus one notebook. The comparison chapter
(:mod:`cnnlab.chapters.comparison`) reads the other chapters through the functions
below, at call time, once this package is set up.

Below the chapters sit the tools they use (:mod:`cnnlab.models`, :mod:`cnnlab.train`,
:mod:`cnnlab.measure`, :mod:`cnnlab.plot`, :mod:`cnnlab.results`...), which import
nothing of the course; above them :mod:`cnnlab.profiles`, :mod:`cnnlab.record` and
:mod:`cnnlab.cli`, which choose, run and record a chapter's profile or experiment.

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
           "d2l_published", "MODERN_CNNS", "init_cnn"]

#: The chapters of the modern CNNs, in the book's order: each sets its network beside
#: d2l's (``D2L_PUBLISHED``) and has a ``reference`` profile.
MODERN_CNNS = ("alexnet", "vgg", "nin", "googlenet", "batchnorm", "resnet", "densenet")


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
    return [row for c in MODERN_CNNS for row in module(c).BENCHMARK_INPUTS]


def d2l_published(chapter: str) -> dict | None:
    """d2l's printed result for ``chapter``'s network (its ``D2L_PUBLISHED``); None for
    the chapters outside :data:`MODERN_CNNS`, which d2l does not have."""
    return module(chapter).D2L_PUBLISHED if chapter in MODERN_CNNS else None
