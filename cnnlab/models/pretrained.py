"""torchvision's pretrained weights for the zoo's networks: found on disk, or downloaded.

:func:`load_pretrained` gives the zoo's network (torchvision's layout and parameter
names) with torchvision's weights, looked for in :func:`weights_locations`
(``$CNNLAB_WEIGHTS``, then torch's hub cache) and downloaded into the hub cache only where a download is
allowed (never with ``CNNLAB_OFFLINE=1``). It never hands back an untrained network in
place of a pretrained one: without the file it raises :class:`WeightsNotFoundError`,
saying where to put it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch
from torch import nn
from torchvision.models import get_model_weights

from cnnlab import settings
from cnnlab.checkpoint import CheckpointError, check_state_dict, safe_load
from cnnlab.models.registry import create

__all__ = ["WeightsNotFoundError", "get_weights", "weights_filename", "weights_locations",
           "find_weights", "load_pretrained"]


class WeightsNotFoundError(FileNotFoundError):
    """The pretrained weights are not on disk and could not (or may not) be downloaded."""


def get_weights(arch: str = "resnet50", weights: str | Any = "IMAGENET1K_V2"):
    """torchvision's weights entry, e.g. ``ResNet50_Weights.IMAGENET1K_V2``: its ``url``,
    ``transforms()`` and ``meta["categories"]`` need no download.

    >>> get_weights("resnet50", "IMAGENET1K_V2").meta["categories"][281]
    'tabby'
    """
    enum = get_model_weights(arch)
    if isinstance(weights, enum):
        return weights
    try:
        return enum[str(weights)]
    except KeyError:
        raise ValueError(f"torchvision has no weights {weights!r} for {arch}; choose one of "
                         f"{', '.join(w.name for w in enum)}.") from None


def weights_filename(weights) -> str:
    """The file name torchvision's download gives the weights (the last part of its URL),
    e.g. ``resnet50-11ad3fa6.pth``; the 8 hex digits start the file's SHA-256."""
    return Path(urlparse(weights.url).path).name


def _hub_checkpoints() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def weights_locations(weights) -> list[Path]:
    """Where :func:`find_weights` looks, in order: ``$CNNLAB_WEIGHTS`` (the file itself,
    or the weights' file name inside that folder), then torch's hub cache
    (``torch.hub.get_dir()/checkpoints/<file name>``, where ``torchvision`` downloads to)."""
    name = weights_filename(weights)
    places = []
    chosen = settings.weights_path()
    if chosen is not None:
        places.append(chosen / name if chosen.is_dir() or not chosen.suffix else chosen)
    places.append(_hub_checkpoints() / name)
    return places


def find_weights(arch: str = "resnet50", weights: str | Any = "IMAGENET1K_V2") -> Path | None:
    """The first file of :func:`weights_locations` that exists, or None."""
    return next((p for p in weights_locations(get_weights(arch, weights)) if p.is_file()), None)


def _download(weights) -> tuple[Path | None, str]:
    """Try torchvision's download into the hub cache; (path or None, what happened)."""
    target = _hub_checkpoints() / weights_filename(weights)
    match = re.search(r"-([a-f0-9]{8,})\.", target.name)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # Writes through a temporary file and checks the SHA-256 prefix in the name.
        torch.hub.download_url_to_file(weights.url, str(target),
                                       hash_prefix=match.group(1) if match else None,
                                       progress=False)
    except Exception as err:  # offline, proxy, HTTP or hash errors all land here
        return None, f"the download from {weights.url} failed ({type(err).__name__}: {err})"
    return target, f"downloaded from {weights.url}"


def load_pretrained(arch: str = "resnet50", weights: str | Any = "IMAGENET1K_V2", *,
                    download: bool | None = None) -> nn.Module:
    """The zoo's ``arch`` (torchvision's layout and parameter names) with torchvision's
    pretrained ``weights``, in eval mode.

    The file is looked for in :func:`weights_locations`; when it is in none of them and
    a download is allowed (``download``, default: unless ``CNNLAB_OFFLINE=1``),
    torchvision's URL is fetched into the hub cache. No untrained network is ever
    returned in place of the pretrained one.

    Raises:
        WeightsNotFoundError: no file, and no download (forbidden or failed); the message
            says where to put the file.
        CheckpointError: the file is corrupt or holds another network's parameters.

    >>> net = load_pretrained("resnet50", "IMAGENET1K_V2")   # doctest: +SKIP
    """
    entry = get_weights(arch, weights)
    label = f"{type(entry).__name__}.{entry.name}"
    path = find_weights(arch, entry)
    note = ""
    allowed = (not settings.offline()) if download is None else download
    if path is None and allowed:
        path, note = _download(entry)
    if path is None:
        searched = "; ".join(str(p.absolute()) for p in weights_locations(entry))
        why = note or "downloading is off (download=False or CNNLAB_OFFLINE=1)"
        raise WeightsNotFoundError(
            f"The pretrained weights {label} ({weights_filename(entry)}) are not here: looked in "
            f"{searched}, and {why}. To use them, download {entry.url} on a machine with "
            f"internet and put the file in {_hub_checkpoints()} (torch's hub cache), or point "
            f"CNNLAB_WEIGHTS at the file or its folder.")
    try:
        state = safe_load(path)
    except CheckpointError as err:
        raise CheckpointError(f"{err} Delete {path} and download {entry.url} again.") from err
    net = create(arch, num_classes=len(entry.meta["categories"]))
    check_state_dict(net, state, source=str(path))
    net.load_state_dict(state)
    return net.eval()
