"""Which device to train on, and the speed settings that are measured best there.

On CUDA: bf16 autocast (BatchNorm stays fp32 under autocast), ``cudnn.benchmark``
and ``channels_last``. On a CPU: fp32 (bf16 autocast ran about 10× slower on the
course's AVX2-only machines, which lack AVX512-BF16) and ``channels_last``
(1.1–1.5× faster for ResNets there). See ``shared notes/speed.md`` and
``benchmarks/`` for the measurements.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

__all__ = ["default_device", "DeviceSettings", "settings_for"]


def default_device(device: str | torch.device | None = None) -> torch.device:
    """``device`` if given, else ``$CNNLAB_DEVICE``, else CUDA when present, else CPU."""
    if device is not None:
        return torch.device(device)
    if os.environ.get("CNNLAB_DEVICE"):
        return torch.device(os.environ["CNNLAB_DEVICE"])
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclass(frozen=True)
class DeviceSettings:
    """Per-device choices of the trainer (each overridable through ``fit``'s arguments)."""

    amp_dtype: torch.dtype | None  # autocast dtype, None for plain fp32
    channels_last: bool
    cudnn_benchmark: bool


def settings_for(device: torch.device) -> DeviceSettings:
    """The measured-best settings for ``device``."""
    if device.type == "cuda":
        bf16 = torch.cuda.is_bf16_supported()
        return DeviceSettings(torch.bfloat16 if bf16 else torch.float16, True, True)
    return DeviceSettings(None, True, False)
