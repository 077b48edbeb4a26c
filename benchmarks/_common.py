"""What every benchmark shares: where it runs, and the append-only results file.

``benchmarks/results.json`` is a JSON list of records, one per recorded run, oldest
first; scripts only ever append. Each record: ``name``, ``figure`` (the headline
number), ``unit``, ``device``, ``torch``, ``date`` (UTC, ISO 8601), ``commit``
(``git describe``-style hash, ``-dirty`` when the tree had changes), ``command``
(how to run it again) and ``details`` (everything else the script measured).
The book's comparison chapter reads it with :func:`load_results`.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results.json"

if str(REPO) not in sys.path:  # run from anywhere without installing cnnlab
    sys.path.insert(0, str(REPO))


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_description(device) -> str:
    import torch
    device = torch.device(device)
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda})"
    from cnnlab.device import cpu_has_native_bf16
    isa = torch.backends.cpu.get_cpu_capability()
    return (f"CPU: {cpu_name()}, {os.cpu_count()} logical cores, "
            f"{torch.get_num_threads()} torch threads, {isa}, "
            f"{'native bf16' if cpu_has_native_bf16() else 'no native bf16'}")


def load_average() -> str | None:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return None


def git_commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO,
                              capture_output=True, text=True, check=True).stdout.strip()
        # results.json itself changes with every record: it does not make the code dirty.
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                ".", f":!{RESULTS.relative_to(REPO).as_posix()}"],
                               cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def command_line() -> str:
    script = Path(sys.argv[0])
    try:
        script = script.resolve().relative_to(REPO)
    except ValueError:
        pass
    return " ".join([".venv/bin/python", str(script), *map(shlex.quote, sys.argv[1:])])


def load_results(path: str | os.PathLike = RESULTS) -> list[dict]:
    path = Path(path)
    if not path.exists():
        return []
    return json.loads(path.read_text())


def _write_results(records: list[dict], path: Path) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(records, indent=2, ensure_ascii=False) + "\n")
    os.replace(tmp, path)  # atomic: a crash never leaves half a file


def merge(other: str | os.PathLike, path: str | os.PathLike = RESULTS) -> list[dict]:
    """Append the records of ``other`` (e.g. a results.json brought back from a GPU machine)
    that ``path`` does not hold yet, in their order; return the ones added."""
    path = Path(path)
    records = load_results(path)
    key = lambda r: json.dumps(r, sort_keys=True)  # noqa: E731  (identical record = same run)
    seen = {key(r) for r in records}
    added = [r for r in load_results(other) if key(r) not in seen]
    if added:
        _write_results(records + added, path)
    return added


def record(name: str, figure: float, unit: str, device: str, details: dict,
           path: str | os.PathLike = RESULTS) -> dict:
    """Append one record to ``results.json`` (written atomically) and return it."""
    import torch
    entry = {
        "name": name,
        "figure": figure,
        "unit": unit,
        "device": device,
        "torch": torch.__version__,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "command": command_line(),
        "details": details,
    }
    path = Path(path)
    records = load_results(path)
    records.append(entry)
    _write_results(records, path)
    print(f"recorded in {path.relative_to(REPO) if path.is_relative_to(REPO) else path}",
          flush=True)
    return entry


def sync(device) -> None:
    import torch
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def warm_up(device, resize: int, batch_size: int) -> None:
    """One forward/backward pass per memory format on a scratch model (untimed, for both)."""
    import torch
    from cnnlab import models
    net = models.create("resnet18_fmnist").to(device)
    x = torch.randn(batch_size, 1, resize, resize, device=device)
    for fmt in (torch.contiguous_format, torch.channels_last):
        net = net.to(memory_format=fmt)
        net(x.contiguous(memory_format=fmt)).sum().backward()
    sync(device)


if __name__ == "__main__":  # python benchmarks/_common.py merge FILE
    if len(sys.argv) != 3 or sys.argv[1] != "merge":
        sys.exit("usage: python benchmarks/_common.py merge RESULTS_JSON_FROM_ELSEWHERE")
    for r in merge(sys.argv[2]):
        print(f"added {r['name']} {r['figure']} ({r['device']}, {r['date']}, {r['commit']})")
