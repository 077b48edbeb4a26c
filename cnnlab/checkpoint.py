"""Saving and loading parameters and training checkpoints, safely.

A training checkpoint (:func:`save_checkpoint`, written by :func:`cnnlab.train.fit`
after every epoch) holds the model, the optimiser, the schedule, the EMA weights, the
gradient scaler, the history so far and the random number generators' states, so
:func:`restore_checkpoint` continues a run exactly where it stopped.

Writes are atomic (a temporary file in the same folder, then ``os.replace``), so an
interrupted save never destroys the previous file. Loads use ``weights_only=True``
(no arbitrary code from a downloaded file) and check every key and shape before
touching the model, so a mismatched file is refused whole, never half-loaded.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cnnlab import checks
from cnnlab.files import atomic_write

__all__ = ["CheckpointError", "atomic_save", "safe_load", "save_parameters", "model_name",
           "load_parameters", "check_state_dict", "unwrap", "save_checkpoint",
           "restore_checkpoint"]


class CheckpointError(RuntimeError):
    """A parameter or checkpoint file cannot be used: corrupt, or for another model."""


def _model(func: str, model) -> nn.Module:
    return checks.instance(func, "model", model, nn.Module, "a torch.nn.Module",
                           "models.create('lenet_bn')")


def _writable(func: str, path) -> Path:
    return checks.path(func, "path", path, "'runs/model.pt'", write=True)


def unwrap(model: nn.Module) -> nn.Module:
    """The plain module inside DistributedDataParallel and ``torch.compile`` wrappers."""
    _model("unwrap", model)
    while True:
        if hasattr(model, "_orig_mod"):
            model = model._orig_mod
        elif isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel)):
            model = model.module
        else:
            return model


def atomic_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` to ``path`` through a temporary file and a rename."""
    path = _writable("atomic_save", path)
    buffer = io.BytesIO()
    torch.save(obj, buffer)  # serialise fully before touching the disk
    return atomic_write(path, lambda f: f.write(buffer.getbuffer()))


def safe_load(path: str | os.PathLike, map_location: Any = "cpu") -> Any:
    """``torch.load(..., weights_only=True)`` with an error that names the file."""
    path = checks.path("safe_load", "path", path, "'runs/model.pt'")
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint at {path}.")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:
        raise CheckpointError(
            f"{path} could not be read as a PyTorch file ({type(err).__name__}: "
            f"{_telling_line(str(err))}). It is truncated, corrupt, or not a file saved with "
            f"torch.save of tensors; re-create or re-download it.") from err


def _telling_line(message: str) -> str:
    """The line of torch's (long) load error that says what was wrong."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    for line in lines:
        if "unsupported global" in line.lower():  # the file holds code; weights_only refuses it
            return f"it refers to code, which weights_only loading refuses: {line[:240]}"
    if not lines:
        return "no message"
    return lines[0].split(". ")[0].rstrip(".")[:300]  # its first sentence says what failed


def check_state_dict(model: nn.Module, state: dict, source: str = "the file") -> None:
    """Raise :class:`CheckpointError` unless ``state`` has exactly ``model``'s keys and shapes."""
    _model("check_state_dict", model)
    checks.instance("check_state_dict", "source", source, str, "a str", "'model.pt'")
    if not isinstance(state, dict):
        raise CheckpointError(f"{source} holds a {type(state).__name__}, not a state_dict.")
    expected = unwrap(model).state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong_shape = [f"{k}: file {tuple(state[k].shape)} vs model {tuple(v.shape)}"
                   for k, v in expected.items()
                   if k in state and hasattr(state[k], "shape") and state[k].shape != v.shape]
    if missing or unexpected or wrong_shape:
        def few(keys: list[str]) -> str:
            return ", ".join(keys[:5]) + (f" (+{len(keys) - 5} more)" if len(keys) > 5 else "")
        parts = [f"missing keys: {few(missing)}" if missing else "",
                 f"unexpected keys: {few(unexpected)}" if unexpected else "",
                 f"shape mismatches: {few(wrong_shape)}" if wrong_shape else ""]
        raise CheckpointError(
            f"{source} does not fit {model_name(model)}: "
            f"{'; '.join(p for p in parts if p)}. Was it saved from another architecture or "
            f"with other num_classes / in_channels? The model was left unchanged.")


def model_name(model: nn.Module) -> str:
    """The registry name when the model came from ``cnnlab.models.create``."""
    _model("model_name", model)
    spec = getattr(unwrap(model), "input_spec", None)
    return spec.model if spec is not None else type(unwrap(model)).__name__


def save_parameters(model: nn.Module, path: str | os.PathLike) -> Path:
    """Save ``model.state_dict()`` atomically (what ``torch.save(net.state_dict())`` does, safely)."""
    _model("save_parameters", model)
    _writable("save_parameters", path)
    return atomic_save(unwrap(model).state_dict(), path)


def load_parameters(model: nn.Module, path: str | os.PathLike) -> nn.Module:
    """Load parameters saved by :func:`save_parameters` (or a raw ``state_dict`` file)
    into ``model``; checkpoints written by ``fit`` work too."""
    _model("load_parameters", model)
    checks.path("load_parameters", "path", path, "'runs/model.pt'")
    state = safe_load(path)
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]  # a full training checkpoint
    check_state_dict(model, state, source=str(path))
    unwrap(model).load_state_dict(state)
    return model


# --------------------------------------------------------------------------- training checkpoints

FORMAT = "cnnlab-checkpoint-1"


def _rng_state() -> dict:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def save_checkpoint(path: str | os.PathLike, epoch: int, model: nn.Module, optimizer,
                    scheduler, ema, scaler, history: list[dict],
                    plan: tuple[int, int]) -> Path:
    """Write everything :func:`restore_checkpoint` needs to continue a run after ``epoch``.

    ``plan`` is (epochs, steps per epoch): what the learning-rate schedule spans.
    ``ema`` is the ``AveragedModel`` (or None), ``history`` the epochs' rows so far.
    """
    _writable("save_checkpoint", path)
    checks.non_negative_int("save_checkpoint", "epoch", epoch, 1)
    _model("save_checkpoint", model)
    checks.shape("save_checkpoint", "plan", plan, (3, 100), ("(epochs, steps per epoch)",))
    return atomic_save({
        "format": FORMAT,
        "epoch": epoch,
        "plan": {"epochs": plan[0], "steps_per_epoch": plan[1]},
        "model": unwrap(model).state_dict(),
        "model_class": type(unwrap(model)).__name__,
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "ema": ema.state_dict() if ema is not None else None,
        "grad_scaler": scaler.state_dict() if scaler.is_enabled() else None,
        "history": history,
        "rng": _rng_state(),
    }, path)


def restore_checkpoint(path: str | os.PathLike, model: nn.Module, optimizer, scheduler, ema,
                       scaler, plan: tuple[int, int]) -> tuple[int, list[dict]]:
    """Load a checkpoint written by :func:`save_checkpoint` into the run's objects.

    Everything is checked before anything changes. Returns the epochs done and the
    history rows.
    """
    checks.path("restore_checkpoint", "path", path, "'runs/checkpoint.pt'")
    _model("restore_checkpoint", model)
    checks.shape("restore_checkpoint", "plan", plan, (3, 100), ("(epochs, steps per epoch)",))
    state = safe_load(path)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a checkpoint written by cnnlab.train.fit "
                              f"(for bare parameters use cnnlab.train.load_parameters).")
    check_state_dict(model, state["model"], source=str(path))
    if (state["ema"] is None) != (ema is None) or (state["scheduler"] is None) != (scheduler is None):
        raise CheckpointError(f"{path} was written with other ema/schedule settings; "
                              f"resume with the same fit(...) arguments.")
    written = state.get("plan")
    if (scheduler is not None and written
            and (written["epochs"], written["steps_per_epoch"]) != plan):
        raise CheckpointError(
            f"{path} was written by a run whose learning-rate schedule spans "
            f"{written['epochs']} epochs of {written['steps_per_epoch']} steps; this call asks "
            f"for {plan[0]} epochs of {plan[1]} steps. A schedule cannot be stretched "
            f"mid-run: resume with epochs={written['epochs']} and the same data and batch "
            f"size, or start a new run for {plan[0]} epochs.")
    unwrap(model).load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None:
        scheduler.load_state_dict(state["scheduler"])
    if ema is not None:
        ema.load_state_dict(state["ema"])
    if scaler.is_enabled() and state.get("grad_scaler"):
        scaler.load_state_dict(state["grad_scaler"])
    torch.set_rng_state(state["rng"]["torch"])
    if "cuda" in state["rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["rng"]["cuda"])
    return state["epoch"], state["history"]
