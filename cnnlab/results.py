"""Training results the comparison chapter reads, never typed by hand.

- **This build's runs**: each chapter notebook calls :func:`record_run` after training;
  the record (chapter, profile, data, accuracy, time, device, precision, date) goes to
  :func:`cnnlab.settings.runs_file` (``cnnlab-runs.json`` beside the notebooks),
  replacing that chapter's earlier record for the same profile.
- **Recorded runs at scale**: ``cnnlab/recorded/<profile>/<chapter>-seed<seed>.json``,
  shipped with the package and written by ``cnnlab record CHAPTER`` (:mod:`cnnlab.record`):
  each chapter's ``reference`` profile on all of Fashion-MNIST, and ``full`` profiles
  where a GPU ran them, one record per run with its history and provenance;
  :func:`recorded_runs` reads them (:func:`cnnlab.record.stale_records` finds those whose
  chapter's profile has changed since).
- **Experiments recorded at scale**: ``cnnlab/recorded/experiments/<chapter>.json``,
  written by ``cnnlab record CHAPTER --experiment``: a chapter's experiment (every arm
  over its seeds) with more images and epochs than its page trains on a CPU;
  :func:`recorded_experiment` reads one.

This module reads and writes records; it knows nothing of the chapters (the
comparison chapter reads it), so checking records against the chapters' code lives in
:mod:`cnnlab.record`.
"""

from __future__ import annotations

import json
import os
import platform
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from cnnlab import dry_run, settings
from cnnlab.files import atomic_write

__all__ = ["record_run", "runs", "recorded_runs", "describe_record", "time_to_accuracy",
           "write_json", "recorded_experiment", "describe_experiment", "RECORDED",
           "EXPERIMENTS_FOLDER"]

#: The package folder the records ship in (``record.RECORDED`` is this one).
RECORDED = Path(str(resources.files("cnnlab") / "recorded"))
#: The folder, among the records, of the experiments recorded at scale.
EXPERIMENTS_FOLDER = "experiments"


def _recorded(folder: str | os.PathLike | None = None) -> Path:
    return Path(folder) if folder is not None else RECORDED


def record_run(profile, history, path: str | os.PathLike | None = None) -> dict[str, Any]:
    """Record a chapter's finished run (``profile`` from :func:`cnnlab.profiles.get_profile`,
    ``history`` from :func:`cnnlab.train.fit`); returns the record."""
    last = history[-1]
    record = {
        "chapter": profile.chapter, "model": profile.model, "profile": profile.name,
        "epochs": len(history), "resize": profile.resize or 28,
        "train_images": profile.train_per_class * 10 if profile.train_per_class else 60_000,
        "test_images": profile.test_per_class * 10 if profile.test_per_class else 10_000,
        "test_acc": round(last.test_acc, 4), "train_seconds": round(history.total_seconds, 1),
        "device": last.device, "torch": torch.__version__, "machine": platform.machine(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if dry_run.enabled():  # its numbers mean nothing: say so wherever the record is read
        record["dry_run"] = True
    path = Path(path) if path is not None else settings.runs_file()
    records = [r for r in runs(path)
               if (r["chapter"], r["profile"]) != (record["chapter"], record["profile"])]
    write_json(path, records + [record])
    return record


def runs(path: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """The runs recorded in ``path`` (default :func:`cnnlab.settings.runs_file`)."""
    path = Path(path) if path is not None else settings.runs_file()
    return json.loads(path.read_text(encoding="utf8")) if path.is_file() else []


def recorded_runs(profile: str | None = "reference", chapter: str | None = None,
                  folder: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """The records shipped in ``cnnlab/recorded/`` (or ``folder``), by chapter and seed.

    ``profile`` and ``chapter`` select (None: all). Each record is the dict
    :func:`cnnlab.record.record` wrote, plus ``"path"``, the file it came from.

    >>> {r["profile"] for r in recorded_runs(None)} <= {"full", "quick", "reference"}
    True
    """
    found = []
    for file in sorted(_recorded(folder).glob("*/*.json")):
        if file.parent.name == EXPERIMENTS_FOLDER:
            continue
        record = json.loads(file.read_text("utf8"))
        if (profile in (None, record["profile"])) and (chapter in (None, record["chapter"])):
            found.append({**record, "path": str(file)})
    return found


def recorded_experiment(chapter: str, folder: str | os.PathLike | None = None
                        ) -> dict[str, Any] | None:
    """``chapter``'s experiment recorded at scale (the dict
    :func:`cnnlab.record.record_experiment` wrote, plus ``"path"``), or None."""
    file = _recorded(folder) / EXPERIMENTS_FOLDER / f"{chapter}.json"
    if not file.is_file():
        return None
    return {**json.loads(file.read_text("utf8")), "path": str(file)}


def describe_experiment(record: dict[str, Any]) -> str:
    """One sentence on where and how an experiment at scale ran, for the page."""
    s = record["settings"]
    scored = s.get("score_per_class") or s["test_per_class"]
    return (f"{s['train_per_class'] * 10:,} training images, {s['epochs']} epochs, scored on "
            f"{scored * 10:,} test images, {len(record['seeds'])} seeds; "
            f"{record['wall_seconds'] / 60:.0f} min on {record['device']}, {record['cpu']} "
            f"({record['cpu_kind']}), torch {record['torch']}, {record['date'][:10]}")


def describe_record(record: dict[str, Any]) -> str:
    """One line about a recorded run for a chapter's page: accuracy, data, where, how long.

    >>> describe_record({"test_acc": 0.9123, "epochs": 3, "wall_seconds": 600.0,
    ...     "settings": {"model": "nin", "model_kwargs": {"ratio": 2}, "resize": 112,
    ...                  "train_per_class": None}, "device": "cpu (2 threads, fp32)",
    ...     "cpu": "AMD EPYC", "cpu_kind": "no native bf16", "date": "2026-12-07T16:00:00+00:00",
    ...     "seed": 0})
    'test accuracy 0.912 after 3 epochs of all 60,000 training images at 112×112 px (nin(ratio=2), seed 0): 10.0 minutes on cpu (2 threads, fp32), AMD EPYC (no native bf16), 2026-12-07'
    """
    s = record["settings"]
    images = (f"{s['train_per_class'] * 10:,} training images" if s["train_per_class"]
              else "all 60,000 training images")
    side = s["resize"] or 28
    kwargs = ", ".join(f"{k}={v!r}" for k, v in s["model_kwargs"].items())
    model = f"{s['model']}({kwargs})" if kwargs else s["model"]
    where = record["device"]
    if where.startswith("cpu"):
        where += f", {record['cpu']} ({record['cpu_kind']})"
    return (f"test accuracy {record['test_acc']:.3f} after {record['epochs']} epochs of {images} "
            f"at {side}×{side} px ({model}, seed {record['seed']}): "
            f"{record['wall_seconds'] / 60:.1f} minutes on {where}, {record['date'][:10]}")


def time_to_accuracy(record: dict[str, Any], target: float) -> tuple[float, int] | None:
    """Seconds from the start of a recorded run to the end of the first epoch whose test
    accuracy reaches ``target`` (every training step and test pass before it counted),
    and that epoch; None when no epoch reached it.

    >>> rows = [{"epoch": 1, "test_acc": 0.88, "seconds": 100.0},
    ...         {"epoch": 2, "test_acc": 0.91, "seconds": 98.0}]
    >>> time_to_accuracy({"history": rows}, 0.90), time_to_accuracy({"history": rows}, 0.93)
    ((198.0, 2), None)
    """
    elapsed = 0.0
    for row in record["history"]:
        elapsed += row["seconds"]
        if row["test_acc"] >= target:
            return round(elapsed, 1), row["epoch"]
    return None


def write_json(path: str | os.PathLike, value: Any) -> None:
    """Write ``value`` as JSON atomically: a reader never sees half a file, an older file
    survives a crash."""
    text = json.dumps(value, indent=1) + "\n"
    atomic_write(path, lambda f: f.write(text.encode("utf8")))
