"""A dry run: every code path of every chapter, at its real sizes, in seconds.

In the spirit of PyTorch Lightning's ``fast_dev_run``. With ``CNNLAB_DRY_RUN=1`` (or
``cnnlab train --dry-run``):

- every :func:`cnnlab.train.fit` trains one epoch of at most :data:`STEPS` steps;
- every pass over a :class:`cnnlab.data.Batches` (training, scoring, predicting) stops
  after :data:`STEPS` batches, so a score reads 2 test batches;
- every experiment loop written over :func:`items` (the chapters loop over their seeds
  this way) runs its first item only; a verdict on one seed is "not resolved".

Nothing else changes: resolutions, batch sizes, models, optimisers and the code that
plots and tabulates the results are those of the profile that runs. So
``CNNLAB_PROFILE=full CNNLAB_DRY_RUN=1`` executes the GPU recipe's code path (224-px
AlexNet, batch 128, …) on a CPU in minutes: what would break on a learner's GPU
breaks here first. The numbers a dry run prints mean nothing, and every profile and
epoch line says it was one.

>>> import os; before = os.environ.get("CNNLAB_DRY_RUN", "0")
>>> os.environ["CNNLAB_DRY_RUN"] = "1"
>>> items(["seed 0", "seed 1", "seed 2"])
['seed 0']
>>> list(batches(iter(range(10))))
[0, 1]
>>> os.environ["CNNLAB_DRY_RUN"] = "0"
>>> items(["seed 0", "seed 1", "seed 2"])
['seed 0', 'seed 1', 'seed 2']
>>> os.environ["CNNLAB_DRY_RUN"] = before
"""

from __future__ import annotations

import itertools
from typing import Iterable, Iterator, TypeVar

from cnnlab import settings

__all__ = ["STEPS", "enabled", "epochs", "batches", "items", "NOTICE"]

#: Training steps per fit, and batches per pass over the data, in a dry run.
STEPS = 2

#: What a profile and an epoch line add in a dry run.
NOTICE = (f"DRY RUN (CNNLAB_DRY_RUN=1): 1 epoch of {STEPS} steps, {STEPS} test batches per "
          f"score, the first item of each experiment loop; its numbers mean nothing")

T = TypeVar("T")


def enabled() -> bool:
    """Whether this process makes a dry run (``$CNNLAB_DRY_RUN``)."""
    return settings.dry_run()


def epochs(requested: int) -> int:
    """The epochs a fit trains: ``requested``, or at most 1 in a dry run."""
    return min(requested, 1) if enabled() else requested


def batches(iterator: Iterator[T]) -> Iterator[T]:
    """``iterator``, cut to :data:`STEPS` items in a dry run."""
    return itertools.islice(iterator, STEPS) if enabled() else iterator


def items(values: Iterable[T]) -> list[T]:
    """The items an experiment loops over: all of them, or the first in a dry run."""
    values = list(values)
    return values[:1] if enabled() else values
