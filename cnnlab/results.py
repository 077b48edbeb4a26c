"""Training results the comparison chapter reads, never typed by hand.

- **This build's runs**: each chapter notebook calls :func:`record_run` after training;
  the record (chapter, profile, data, accuracy, time, device, precision, date) goes to
  :func:`cnnlab.settings.runs_file` (``cnnlab-runs.json`` beside the notebooks),
  replacing that chapter's earlier record for the same profile.
- **Recorded full-profile runs** (on a GPU): ``cnnlab/recorded/full_profiles.json``,
  shipped with the package, one record per run with device, date, commit and command;
  :func:`full_profile_runs` reads them.
- **d2l's published accuracies**: each chapter module's ``D2L_PUBLISHED``
  (:func:`d2l_published`).
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from cnnlab import dry_run, settings

__all__ = ["record_run", "runs", "full_profile_runs", "d2l_published"]


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
    _write_json(path, records + [record])
    return record


def runs(path: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """The runs recorded in ``path`` (default :func:`cnnlab.settings.runs_file`)."""
    path = Path(path) if path is not None else settings.runs_file()
    return json.loads(path.read_text(encoding="utf8")) if path.is_file() else []


def full_profile_runs() -> list[dict[str, Any]]:
    """The full-profile runs recorded on a GPU and shipped with the package."""
    text = resources.files("cnnlab").joinpath("recorded/full_profiles.json").read_text("utf8")
    return json.loads(text)


def d2l_published(chapter: str) -> dict[str, Any] | None:
    """d2l's printed result for ``chapter``'s network (its ``D2L_PUBLISHED``), if any."""
    from cnnlab import chapters
    return getattr(chapters.module(chapter), "D2L_PUBLISHED", None)


def _write_json(path: Path, value: Any) -> None:
    """Write atomically: a reader never sees half a file, an older file survives a crash."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf8") as f:
            json.dump(value, f, indent=1)
            f.write("\n")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
