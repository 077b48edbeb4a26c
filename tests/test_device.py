"""The per-device speed settings: mixed precision only where the hardware computes it."""

import pytest
import torch

from pathlib import Path

from cnnlab import device, measure
from cnnlab.device import (amp_dtype_for, cpu_has_native_bf16, precision_name, settings_for)

CPU = torch.device("cpu")


def _cpu_flags(monkeypatch, avx512_bf16: bool, amx: bool) -> None:
    flags = {"avx2"} | ({"avx512_bf16"} if avx512_bf16 else set()) | ({"amx_bf16"} if amx else set())
    monkeypatch.setattr(device, "cpu_flags", lambda: frozenset(flags))


def test_cpu_flags_come_from_the_operating_system():
    flags = device.cpu_flags()
    assert isinstance(flags, frozenset)
    if Path("/proc/cpuinfo").exists():  # Linux: the same flags the kernel lists
        line = next(l for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("flags"))
        assert flags == set(line.split(":", 1)[1].split()) and flags
    assert cpu_has_native_bf16() == bool(flags & {"avx512_bf16", "amx_bf16"})


@pytest.mark.parametrize("avx512_bf16, amx, expected", [
    (True, False, torch.bfloat16),   # AMD Zen 4, Intel Cooper Lake
    (False, True, torch.bfloat16),   # Intel Sapphire Rapids (AMX)
    (False, False, None),            # AVX2 only: bf16 would be emulated, ~10x slower
])
def test_cpu_uses_bf16_only_with_native_instructions(monkeypatch, avx512_bf16, amx, expected):
    _cpu_flags(monkeypatch, avx512_bf16, amx)
    assert cpu_has_native_bf16() == (expected is not None)
    best = settings_for(CPU)
    assert best.amp_dtype == expected
    assert best.channels_last and not best.cudnn_benchmark


@pytest.mark.parametrize("native_bf16, expected", [(True, torch.bfloat16), (False, torch.float16)])
def test_cuda_uses_bf16_where_native_else_fp16(monkeypatch, native_bf16, expected):
    asked = {}

    def is_bf16_supported(including_emulation=True):
        asked["including_emulation"] = including_emulation
        return native_bf16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", is_bf16_supported)
    best = settings_for(torch.device("cuda"))
    assert best.amp_dtype == expected and best.cudnn_benchmark and best.channels_last
    assert asked == {"including_emulation": False}  # emulated bf16 (e.g. a T4) is slow


def test_amp_argument_and_environment_override_the_default(monkeypatch):
    _cpu_flags(monkeypatch, True, False)
    monkeypatch.delenv("CNNLAB_AMP", raising=False)
    assert amp_dtype_for(CPU) == torch.bfloat16
    assert amp_dtype_for(CPU, False) is None
    monkeypatch.setenv("CNNLAB_AMP", "0")
    assert amp_dtype_for(CPU) is None
    assert amp_dtype_for(CPU, True) == torch.bfloat16  # the argument wins over the variable
    _cpu_flags(monkeypatch, False, False)
    monkeypatch.setenv("CNNLAB_AMP", "1")
    assert amp_dtype_for(CPU) == torch.bfloat16  # asked for, even without native support
    # A value other than 0/1: tests/test_errors.py::test_bad_mixed_precision_setting.


def test_precision_names():
    assert precision_name(None) == "fp32"
    assert precision_name(torch.bfloat16) == "bf16 autocast"
    assert precision_name(torch.float16) == "fp16 autocast"


def test_benchmark_runs_and_reports_the_precision_it_used():
    fp32 = measure.benchmark("lenet_bn", (1, 28, 28), batch_size=4, device="cpu", mode="train",
                             steps=1, warmup=2)
    bf16 = measure.benchmark("lenet_bn", (1, 28, 28), batch_size=4, device="cpu", mode="train",
                             steps=1, warmup=2, amp_dtype=torch.bfloat16)
    assert (fp32.precision, bf16.precision) == ("fp32", "bf16 autocast")
    assert "bf16 autocast" in str(bf16)
    # Under autocast the activations are bf16: the live-tensor peak shrinks.
    assert bf16.peak_memory_mib < fp32.peak_memory_mib
