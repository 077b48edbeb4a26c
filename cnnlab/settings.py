"""Every environment variable the package reads, in one place.

=====================  ==========================================================
variable               effect
=====================  ==========================================================
``CNNLAB_DATA``        where Fashion-MNIST lives (default: the per-user cache)
``CNNLAB_OFFLINE``     ``1`` forbids downloads
``CNNLAB_DEVICE``      the device to train and measure on (``cpu``, ``cuda:1``, ...)
``CNNLAB_AMP``         ``0`` fp32 everywhere, ``1`` mixed precision where possible
``CNNLAB_PROFILE``     ``full`` or ``quick``, whatever the hardware
``CNNLAB_DRY_RUN``     ``1``: every fit trains 2 steps of 1 epoch, every score reads 2 test
                       batches, every experiment loop runs its first item (:mod:`cnnlab.dry_run`)
``CNNLAB_PROGRESS``    progress bar: ``auto`` (default), ``text`` or ``off``
``CNNLAB_RUNS``        the file chapters record their runs in (default ``cnnlab-runs.json``)
``CNNLAB_WEIGHTS``     pretrained weights: a ``.pth`` file, or a folder holding torchvision's
                       files under their own names (``resnet50-11ad3fa6.pth``); looked in
                       before torch's hub cache (``torch.hub.get_dir()/checkpoints``)
``CNNLAB_IMAGES``      a folder of photos for the pretrained-model examples (default: the
                       repository's sibling ``shared/images``, when there is one)
``XDG_CACHE_HOME``     the per-user cache's parent folder (default ``~/.cache``)
``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``  set by ``torchrun``: this process's place
=====================  ==========================================================

Each function reads the variable when called, so a change takes effect at once.

>>> import os; before = os.environ.get("CNNLAB_PROFILE")
>>> os.environ["CNNLAB_PROFILE"] = "full"
>>> profile()
'full'
>>> _ = os.environ.pop("CNNLAB_PROFILE") if before is None else os.environ.update(CNNLAB_PROFILE=before)
"""

from __future__ import annotations

import os
from pathlib import Path

from cnnlab import checks

__all__ = ["data_root", "cache_home", "offline", "device", "amp", "profile", "dry_run", "progress",
           "rank", "world_size", "local_rank", "runs_file", "weights_path", "images_dir"]


def _get(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def data_root() -> Path | None:
    """``$CNNLAB_DATA``, if set: a folder (an existing file is an error)."""
    value = _get("CNNLAB_DATA")
    if value and Path(value).expanduser().is_file():
        raise checks.env_error("CNNLAB_DATA", "a folder that holds FashionMNIST/raw/ (or the "
                               "four .gz files), not a file; e.g. CNNLAB_DATA=~/data")
    return Path(value).expanduser() if value else None


def cache_home() -> Path:
    """``$XDG_CACHE_HOME``, else ``~/.cache``."""
    return Path(_get("XDG_CACHE_HOME") or Path.home() / ".cache")


def offline() -> bool:
    """Whether ``$CNNLAB_OFFLINE`` forbids downloads."""
    return _flag("CNNLAB_OFFLINE", "never download")


def device() -> str | None:
    """``$CNNLAB_DEVICE``, if set: a device name torch knows and this machine has."""
    value = _get("CNNLAB_DEVICE")
    if value is None:
        return None
    problem = checks.device_problem(value)
    if problem:
        raise checks.env_error("CNNLAB_DEVICE", f"a device this machine has, such as cpu, cuda or "
                               f"cuda:1, or unset it for CUDA when present, else the CPU "
                               f"({problem})")
    return value


def amp() -> bool | None:
    """``$CNNLAB_AMP`` as True/False, None when unset; anything else is an error."""
    value = _get("CNNLAB_AMP")
    if value is None:
        return None
    if value.lower() not in ("0", "1", "false", "true", "off", "on"):
        raise checks.env_error("CNNLAB_AMP", checks.options(
            {"1": "mixed precision where the device supports it", "0": "fp32 everywhere"}))
    return value.lower() in ("1", "true", "on")


def profile() -> str | None:
    """``$CNNLAB_PROFILE``, if set (checked by :func:`cnnlab.profiles.choose_profile_name`)."""
    return _get("CNNLAB_PROFILE")


def _flag(name: str, meaning: str) -> bool:
    """A yes/no variable: unset or ``0``/``false``/``no``/``off`` is False; ``1``/``true``/
    ``yes``/``on`` is True; anything else is an error that says what to write."""
    value = (_get(name) or "0").lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise checks.env_error(name, checks.options({"1": meaning, "0": "the default"}))


def dry_run() -> bool:
    """Whether ``$CNNLAB_DRY_RUN`` asks for a dry run (see :mod:`cnnlab.dry_run`)."""
    return _flag("CNNLAB_DRY_RUN", "a dry run: 2 steps of 1 epoch per fit")


_PROGRESS = {"auto": "a progress bar, widgets in Jupyter: the default",
             "text": "a plain-text bar on stderr", "off": "none"}


def progress() -> str:
    """``$CNNLAB_PROGRESS``: ``auto`` (default), ``text`` or ``off``."""
    value = (_get("CNNLAB_PROGRESS") or "auto").lower()
    if value not in _PROGRESS:
        raise checks.env_error("CNNLAB_PROGRESS", checks.options(_PROGRESS))
    return value


def _whole(name: str, default: int, minimum: int, meaning: str) -> int:
    """A whole-number variable that ``torchrun`` sets; anything else is an error."""
    value = _get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        number = minimum - 1
    if number < minimum:
        raise checks.env_error(name, f"a whole number ≥ {minimum} ({meaning}; torchrun sets "
                                     f"it), or unset it for a plain run")
    return number


def rank() -> int:
    """This process's rank under ``torchrun`` (0 in a plain run)."""
    return _whole("RANK", 0, 0, "this process's rank")


def world_size() -> int:
    """The number of processes under ``torchrun`` (1 in a plain run)."""
    return _whole("WORLD_SIZE", 1, 1, "the number of processes")


def local_rank() -> int:
    """This process's rank on its machine under ``torchrun``."""
    return _whole("LOCAL_RANK", 0, 0, "this process's rank on its machine")


def runs_file() -> Path:
    """``$CNNLAB_RUNS``, else ``cnnlab-runs.json`` in the working folder (a notebook's own
    folder under Jupyter and nbmake, so the chapters of one part share it)."""
    path = Path(_get("CNNLAB_RUNS") or "cnnlab-runs.json").expanduser().absolute()
    if path.is_dir():
        raise checks.env_error("CNNLAB_RUNS", f"the JSON file to record runs in, not a folder; "
                                              f"e.g. CNNLAB_RUNS={path / 'cnnlab-runs.json'}")
    return path


def weights_path() -> Path | None:
    """``$CNNLAB_WEIGHTS``, if set: a weights file, or a folder of them (see
    :func:`cnnlab.chapters.transfer.find_weights`)."""
    value = _get("CNNLAB_WEIGHTS")
    return Path(value).expanduser() if value else None


def images_dir() -> Path | None:
    """``$CNNLAB_IMAGES``, if set: a folder of photos (see
    :func:`cnnlab.chapters.transfer.find_image`)."""
    value = _get("CNNLAB_IMAGES")
    return Path(value).expanduser() if value else None
