"""Which device to train on, and the speed settings that are measured best there.

Mixed precision (Micikevicius et al. 2018, arXiv:1710.03740) where the hardware does
bf16/fp16 arithmetic natively, ``channels_last`` everywhere:

- CUDA with native bf16 (compute capability 8.0+: A100, H100, RTX 30xx on):
  bf16 autocast, ``cudnn.benchmark``, ``channels_last``.
- Older CUDA GPUs (e.g. Colab's T4): fp16 autocast with a gradient scaler (fp16's
  narrow range underflows small gradients without one), ``cudnn.benchmark``.
- A CPU with native bf16 instructions (AVX512-BF16 or AMX: AMD Zen 4 and later, Intel
  Cooper Lake / Sapphire Rapids and later): bf16 autocast. ``benchmarks/precision.py``
  on a 2-vCPU AMD EPYC (Zen 4), torch 2.14.1: a training step of the ResNet-18 at
  96 px, batch 128, ran 1.58× faster than in fp32 (1.24× at 28 px), the chapters'
  other networks 1.33–1.74× faster; only the tiny LeNet-BN was slower (0.86×), its
  step too small for the casts to pay off.
- Any other CPU (AVX2 only): fp32. bf16 there is emulated, and a ResNet-20 training
  step ran about 10× slower (the course's notes on speed, measured on such a machine).

Under autocast, BatchNorm, softmax and the loss still run in fp32.
``fit(amp=False)`` (or ``CNNLAB_AMP=0``) trains in fp32 anywhere.
``benchmarks/trainer_vs_d2l.py`` measures the difference on the machine at hand.
"""

from __future__ import annotations

import functools
import platform
from dataclasses import dataclass
from pathlib import Path

import torch

from cnnlab import settings

__all__ = ["default_device", "DeviceSettings", "settings_for", "cpu_flags", "cpu_has_native_bf16", "cpu_name", "cpu_kind",
           "amp_dtype_for", "precision_name"]


def default_device(device: str | torch.device | None = None) -> torch.device:
    """``device`` if given, else ``$CNNLAB_DEVICE``, else CUDA when present, else CPU."""
    if device is not None:
        return torch.device(device)
    if settings.device():
        return torch.device(settings.device())
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclass(frozen=True)
class DeviceSettings:
    """Per-device choices of the trainer (each overridable through ``fit``'s arguments)."""

    amp_dtype: torch.dtype | None  # autocast dtype, None for plain fp32
    channels_last: bool
    cudnn_benchmark: bool


#: The CPU flags (as Linux names them) that give oneDNN native bf16 arithmetic.
NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """This CPU's feature flags as the operating system reports them (``/proc/cpuinfo``'s
    ``flags`` line on Linux); empty where there is no such file (macOS, Windows).

    Read from the operating system rather than from torch: torch's own checks
    (``torch.cpu._is_avx512_bf16_supported``) are private and absent from older releases.
    """
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


@functools.lru_cache(maxsize=1)
def cpu_name() -> str:
    """This CPU's model name (``/proc/cpuinfo``), else what :mod:`platform` knows."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf8", errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def cpu_kind() -> str:
    """``"native bf16 (…)"`` or ``"no native bf16"``: the split that sets a CPU's speed here."""
    native = sorted(cpu_flags() & NATIVE_BF16_FLAGS)
    return f"native bf16 ({', '.join(native)})" if native else "no native bf16"


def cpu_has_native_bf16() -> bool:
    """Whether this CPU has bf16 instructions (AVX512-BF16 or AMX) for oneDNN to use."""
    return bool(cpu_flags() & NATIVE_BF16_FLAGS)


def settings_for(device: torch.device) -> DeviceSettings:
    """The measured-best settings for ``device`` (see the module's docstring)."""
    device = torch.device(device)
    if device.type == "cuda":
        native_bf16 = torch.cuda.is_bf16_supported(including_emulation=False)
        return DeviceSettings(torch.bfloat16 if native_bf16 else torch.float16, True, True)
    if device.type == "cpu" and cpu_has_native_bf16():
        return DeviceSettings(torch.bfloat16, True, False)
    return DeviceSettings(None, True, False)


def amp_dtype_for(device: torch.device, amp: bool | None = None) -> torch.dtype | None:
    """The autocast dtype to use: ``amp=None`` the device's best (``$CNNLAB_AMP=0|1``
    overrides it), ``False`` none (fp32), ``True`` the device's, or bf16 where it has none."""
    if amp is None:
        amp = settings.amp()
    best = settings_for(device).amp_dtype
    if amp is None:
        return best
    if not amp:
        return None
    return best or torch.bfloat16


def precision_name(amp_dtype: torch.dtype | None) -> str:
    """``"fp32"``, ``"bf16 autocast"`` or ``"fp16 autocast"``, for reports."""
    names = {torch.bfloat16: "bf16 autocast", torch.float16: "fp16 autocast"}
    return "fp32" if amp_dtype is None else names.get(amp_dtype, f"{amp_dtype} autocast")
