"""Train a chapter's profile once and record the result with its provenance.

``cnnlab record CHAPTER`` (or :func:`record`) trains the chapter's ``reference``
profile (any profile with ``--profile``), seeded, and writes one JSON record to
``cnnlab/recorded/<profile>/<chapter>-seed<seed>.json``, shipped with the package:

- what ran: the chapter, the profile's settings (:meth:`cnnlab.recipe.Profile.settings`),
  the seed;
- what came out: the per-epoch history, the final test accuracy, the seconds;
- where and how: device and precision, the CPU's name and kind, threads, torch,
  the commit of the code, the date, the command.

A run writes a checkpoint after every epoch in its work folder
(``runs/record/<profile>/<chapter>-seed<seed>/``) and continues from it when run
again, so a run longer than one session resumes in the next; each stretch is listed
in the record's ``segments``. A record no longer matches when its chapter's profile
changes (:func:`stale_records`): the tests fail until it is re-run.

``cnnlab record CHAPTER --experiment`` (or :func:`record_experiment`) runs a chapter's
*experiment* at scale instead: for a chapter whose effect needs more images or epochs
than its page can train on a CPU, the module declares ``AT_SCALE`` (the settings that
replace its ``EXPERIMENT``'s) and ``experiment_at_scale(profile, **settings)`` (which
runs every arm over the chapter's ``SEEDS`` and returns at least ``{"scores": {arm:
[score per seed]}}``). The record goes to ``cnnlab/recorded/experiments/<chapter>.json``
with the same provenance, and its page decides the chapter's claim from it with the
chapter's own verdict.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import torch

from cnnlab import chapters, checks, device as cdevice, dry_run, profiles, results, train

__all__ = ["record", "record_path", "work_folder", "commit", "RECORDED",
           "record_experiment", "experiment_path", "EXPERIMENTS", "experiment_settings",
           "stale_records"]

#: The package folder the records ship in.
RECORDED = results.RECORDED
#: The folder of the experiments recorded at scale (one file per chapter).
EXPERIMENTS = RECORDED / results.EXPERIMENTS_FOLDER

def record_path(chapter: str, profile: str, seed: int, into: str | os.PathLike | None = None
                ) -> Path:
    """Where the record of ``chapter`` under ``profile`` with ``seed`` goes."""
    return Path(into if into is not None else RECORDED / profile) / f"{chapter}-seed{seed}.json"


def work_folder(chapter: str, profile: str, seed: int) -> Path:
    """The folder for the run's checkpoint: ``runs/record/<profile>/<chapter>-seed<seed>``."""
    return Path("runs") / "record" / profile / f"{chapter}-seed{seed}"


def commit() -> str | None:
    """The git commit of the package's source (``+dirty`` with uncommitted changes),
    or None outside a git checkout."""
    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                str(here)], cwd=here, capture_output=True, text=True,
                               timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def record(chapter: str, profile: str = "reference", seed: int = 0, *,
           work: str | os.PathLike | None = None, into: str | os.PathLike | None = None,
           device: str | None = None, progress: bool = True,
           command: str | None = None) -> dict[str, Any]:
    """Train ``chapter``'s ``profile`` with ``seed`` and write its record; returns it.

    Continues from ``work``'s checkpoint when one is there (``work`` defaults to
    :func:`work_folder`). ``into`` is the folder for the record (default: the package's
    ``recorded/<profile>/``; a dry run, ``CNNLAB_DRY_RUN=1``, writes into ``work``,
    never among the shipped records).
    """
    checks.instance("record", "chapter", chapter, str, "a chapter name (str)", "'resnet'")
    checks.non_negative_int("record", "seed", seed, 0)
    chosen = profiles.get_profile(chapter, profile)
    chapter = chosen.chapter
    work = Path(work) if work is not None else work_folder(chapter, chosen.name, seed)
    if dry_run.enabled() and into is None:
        into = work
    out = record_path(chapter, chosen.name, seed, into)
    checkpoint = work / "checkpoint.pt"
    segments_file = work / "segments.json"
    resume = checkpoint if checkpoint.is_file() else None
    segments = (json.loads(segments_file.read_text("utf8"))
                if resume is not None and segments_file.is_file() else [])

    data = chosen.data(seed=seed)
    model = chosen.create_model(seed=seed)
    started = time.perf_counter()
    segment = {"started": _now(), "cpu": cdevice.cpu_name(), "cpu_kind": cdevice.cpu_kind(),
               "threads": torch.get_num_threads(), "commit": commit()}

    def keep_segment(stats) -> None:  # after each checkpoint: the stretch so far
        segment.setdefault("first_epoch", stats.epoch)
        segment.update(last_epoch=stats.epoch, ended=_now(), seconds=round(time.perf_counter() - started, 1),
                       device=stats.device)
        results.write_json(segments_file, segments + [segment])

    history = train.fit(model, data, device=device, checkpoint=checkpoint, resume=resume,
                        seed=seed, progress=progress, on_epoch_end=keep_segment,
                        **chosen.fit_kwargs())
    segments = segments + [segment]
    last = history[-1]
    rec = {
        "chapter": chapter, "profile": chosen.name, "seed": seed,
        "settings": chosen.settings(), "description": chosen.describe(),
        "parameters": sum(p.numel() for p in model.parameters()),
        "test_acc": round(last.test_acc, 4), "epochs": len(history),
        "train_seconds": round(history.total_seconds, 1),
        "wall_seconds": round(sum(s.get("seconds", 0.0) for s in segments), 1),
        "device": last.device, **_provenance(command),
        "segments": segments, "history": history.to_list(),
    }
    if dry_run.enabled():
        rec["dry_run"] = True
    results.write_json(out, rec)
    rec["path"] = str(out)
    return rec


def _provenance(command: str | None) -> dict[str, Any]:
    """Where, with what and by which command a record was made."""
    return {"cpu": cdevice.cpu_name(), "cpu_kind": cdevice.cpu_kind(),
            "threads": torch.get_num_threads(), "torch": torch.__version__,
            "commit": commit(), "date": _now(),
            "command": command or shlex.join([os.path.basename(sys.argv[0]), *sys.argv[1:]])}


def experiment_settings(chapter: str) -> dict[str, Any]:
    """The settings ``chapter``'s experiment runs with at scale: its ``EXPERIMENT`` with
    ``AT_SCALE`` on top. Raises ValueError for a chapter that has none.

    >>> experiment_settings("nin")["train_per_class"]
    1000
    """
    module = chapters.module(chapter)
    if not hasattr(module, "AT_SCALE"):
        having = [c for c in chapters.names() if hasattr(chapters.module(c), "AT_SCALE")]
        raise ValueError(f"Chapter {chapter!r} has no experiment to record at scale (no "
                         f"AT_SCALE); chapters that have one: {', '.join(having)}.")
    return json.loads(json.dumps({**module.EXPERIMENT, **module.AT_SCALE}))


def experiment_path(chapter: str, into: str | os.PathLike | None = None) -> Path:
    """Where ``chapter``'s experiment at scale is recorded."""
    return Path(into if into is not None else EXPERIMENTS) / f"{chapter}.json"


def record_experiment(chapter: str, *, into: str | os.PathLike | None = None,
                      command: str | None = None) -> dict[str, Any]:
    """Run ``chapter``'s experiment at scale (``experiment_at_scale`` with ``AT_SCALE``)
    over its ``SEEDS`` and write the record; returns it (see
    :func:`experiment_settings` for what it runs with).

    A dry run (``CNNLAB_DRY_RUN=1``) runs a few steps of the first seed and writes into
    ``runs/record/experiments/`` unless ``into`` says otherwise, never among the shipped
    records.
    """
    checks.instance("record_experiment", "chapter", chapter, str, "a chapter name (str)", "'nin'")
    settings = experiment_settings(chapter)
    module = chapters.module(chapter)
    if dry_run.enabled() and into is None:
        into = Path("runs") / "record" / "experiments"
    profile = profiles.get_profile(chapter, "quick")
    started = time.perf_counter()
    found = module.experiment_at_scale(profile, **module.AT_SCALE)
    if "scores" not in found:
        raise ValueError(f"{module.__name__}.experiment_at_scale returned no 'scores'.")
    rec = {"chapter": chapter, "settings": settings, "seeds": list(dry_run.items(module.SEEDS)),
           "device": str(cdevice.default_device()), **found,  # the runs' own device line wins
           "wall_seconds": round(time.perf_counter() - started, 1), **_provenance(command)}
    if dry_run.enabled():
        rec["dry_run"] = True
    out = experiment_path(chapter, into)
    results.write_json(out, rec)
    rec["path"] = str(out)
    return rec


def _stale(where: str, then: dict[str, Any], settings_now: Callable[[], dict[str, Any]],
           what: str, rerun: str) -> str | None:
    """Why a record made with settings ``then`` is stale against ``settings_now()`` (the
    code's; a ValueError when the code no longer has them), or None."""
    try:
        now = settings_now()
    except ValueError as error:
        return f"{where}: {error}"
    changed = sorted(k for k in set(now) | set(then) if now.get(k) != then.get(k))
    if not changed:
        return None
    detail = "; ".join(f"{k}: {then.get(k)!r} → {now.get(k)!r}" for k in changed)
    return f"{where}: {what} {', '.join(changed)} changed since it ran ({detail}); re-run `{rerun}`"


def stale_records(records: list[dict[str, Any]] | None = None) -> list[str]:
    """Why each record that no longer matches its chapter's profile is stale (empty when
    all match): the profile's settings changed, or the profile is gone. Without
    ``records``, the experiments recorded at scale are checked against their chapters'
    ``EXPERIMENT`` and ``AT_SCALE`` too."""
    problems = []
    if records is None:
        for file in sorted(EXPERIMENTS.glob("*.json")):
            rec = json.loads(file.read_text("utf8"))
            problems.append(_stale(str(file), rec["settings"],
                                   lambda: experiment_settings(rec["chapter"]),
                                   "the experiment's", f"cnnlab record {rec['chapter']} --experiment"))
    for r in results.recorded_runs(None) if records is None else records:
        problems.append(_stale(r.get("path", r["chapter"]), r["settings"],
                               lambda: profiles.get_profile(r["chapter"], r["profile"]).settings(),
                               f"the {r['profile']!r} profile's",
                               f"cnnlab record {r['chapter']} --profile {r['profile']} "
                               f"--seed {r['seed']}"))
    return [p for p in problems if p is not None]
