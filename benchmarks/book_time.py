"""How long the book takes to run: ``pytest --nbmake notebooks`` in the quick profile.

Runs, from the repository root and with ``CNNLAB_PROFILE=quick`` (unless already set)::

    .venv/bin/pytest --nbmake notebooks -p no:cacheprovider --durations=0 --junitxml=...

and prints each notebook's time (from pytest's JUnit report: the notebook's execution,
kernel start included) and the total wall time of the command, which is what a
learner or CI waits for. Notebooks are executed in place of a copy that nbmake keeps
to itself: they are not modified. Every notebook under the given paths is found, so the
script needs no change when chapters are added.

    .venv/bin/python benchmarks/book_time.py                       # all notebooks
    .venv/bin/python benchmarks/book_time.py --record              # ... and append to results.json
    .venv/bin/python benchmarks/book_time.py notebooks/modern-cnns/06-resnet.ipynb
    .venv/bin/python benchmarks/book_time.py --separately          # one pytest per notebook

``CNNLAB_DATA`` should point at the folder holding ``FashionMNIST/raw`` (as for the
tests). The last line printed is the headline:
``book_time: N notebooks in T s (quick profile; slowest: ...)``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from _common import REPO, device_description, load_average, record


def find_notebooks(paths: list[str]) -> list[Path]:
    found = []
    for p in paths:
        path = (REPO / p) if not Path(p).is_absolute() else Path(p)
        if path.is_file():
            found.append(path)
        else:
            found.extend(sorted(q for q in path.rglob("*.ipynb")
                                if ".ipynb_checkpoints" not in q.parts and "_build" not in q.parts))
    return found


def run_pytest(targets: list[str], env: dict, timeout: int, extra: list[str]) -> dict:
    """One pytest run; returns wall seconds, exit code and per-notebook results."""
    with tempfile.TemporaryDirectory(prefix="book-time-") as tmp:
        report = Path(tmp) / "junit.xml"
        cmd = [str(REPO / ".venv" / "bin" / "pytest"), "--nbmake", *targets,
               "-p", "no:cacheprovider", "--durations=0", "-o", "junit_family=xunit1",
               f"--junitxml={report}",
               f"--nbmake-timeout={timeout}", *extra]
        if not Path(cmd[0]).exists():
            cmd[0:1] = [sys.executable, "-m", "pytest"]
        print("  $ " + " ".join(cmd[:1] + [c for c in cmd[1:] if not c.startswith("--junitxml")]),
              flush=True)
        started = time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        notebooks = {}
        if report.exists():
            for case in ET.parse(report).getroot().iter("testcase"):
                name = case.get("file") or case.get("name")
                failed = any(child.tag in ("failure", "error") for child in case)
                skipped = any(child.tag == "skipped" for child in case)
                notebooks[name] = {"seconds": round(float(case.get("time", 0.0)), 2),
                                   "status": "failed" if failed else
                                   "skipped" if skipped else "passed"}
    return {"wall": wall, "returncode": proc.returncode, "notebooks": notebooks,
            "output": proc.stdout + proc.stderr}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", default=["notebooks"],
                        help="notebooks or folders (default: notebooks)")
    parser.add_argument("--profile", default=None,
                        help="CNNLAB_PROFILE for the run (default: $CNNLAB_PROFILE or quick)")
    parser.add_argument("--timeout", type=int, default=1800, help="nbmake's per-cell timeout, s")
    parser.add_argument("--separately", action="store_true",
                        help="one pytest process per notebook (times include pytest start-up)")
    parser.add_argument("--record", action="store_true", help="append the result to results.json")
    parser.add_argument("--note", default="", help="free text stored with --record")
    parser.epilog = "Arguments after -- go to pytest, e.g. -- -n 2 (pytest-xdist)."
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    args = parser.parse_args(argv[:argv.index("--")] if "--" in argv else argv)

    notebooks = find_notebooks(args.paths)
    if not notebooks:
        print(f"book_time: no notebooks under {' '.join(args.paths)}")
        return {}
    env = dict(os.environ)
    if env.get("CNNLAB_DATA"):  # each notebook's kernel starts in the notebook's own folder
        env["CNNLAB_DATA"] = str(Path(env["CNNLAB_DATA"]).expanduser().absolute())
    env["CNNLAB_PROFILE"] = args.profile or env.get("CNNLAB_PROFILE") or "quick"
    rel = [str(p.relative_to(REPO)) if p.is_relative_to(REPO) else str(p) for p in notebooks]
    import torch
    device = "cuda" if torch.cuda.is_available() and env.get("CNNLAB_DEVICE") != "cpu" else "cpu"
    print(f"book_time: {len(rel)} notebook(s), CNNLAB_PROFILE={env['CNNLAB_PROFILE']}, "
          f"CNNLAB_DATA={env.get('CNNLAB_DATA', '(unset)')}, on {device_description(device)}; "
          f"load average {load_average()}", flush=True)

    if args.separately:
        results, wall, failed_output = {}, 0.0, []
        for nb in rel:
            run = run_pytest([nb], env, args.timeout, extra)
            wall += run["wall"]
            status = "passed" if run["returncode"] == 0 else "failed"
            results[nb] = {"seconds": round(run["wall"], 2), "status": status}
            if status != "passed":
                failed_output.append(run["output"])
        returncode = 0 if not failed_output else 1
        output = "\n".join(failed_output)
    else:
        run = run_pytest(args.paths, env, args.timeout, extra)
        wall, returncode, output = run["wall"], run["returncode"], run["output"]
        results = {nb: {"seconds": None, "status": "not run"} for nb in rel}
        for name, res in run["notebooks"].items():  # junit: the path relative to pytest's rootdir
            match = [nb for nb in rel if nb == name or nb.endswith("/" + name)]
            results[match[0] if len(match) == 1 else name] = res

    width = max(len(n) for n in results)
    for nb, res in results.items():
        secs = f"{res['seconds']:8.1f} s" if res["seconds"] is not None else "       - s"
        print(f"  {nb:<{width}}  {secs}  {res['status']}", flush=True)
    print(f"  {'total (wall time of the command)':<{width}}  {wall:8.1f} s", flush=True)
    failed = [n for n, r in results.items() if r["status"] not in ("passed", "skipped")]
    if returncode != 0:
        print("  pytest failed; the end of its output:\n" + output[-3000:], flush=True)

    timed = {n: r for n, r in results.items() if r["seconds"] is not None}
    slowest = max(timed, key=lambda n: timed[n]["seconds"]) if timed else None
    details = {"profile": env["CNNLAB_PROFILE"], "notebooks": results,
               "separately": args.separately, "returncode": returncode,
               "pytest_args": extra, "load_average": load_average(), "note": args.note}
    if args.record and (failed or returncode):
        print("  not recorded: a run that failed measures nothing", flush=True)
    elif args.record:
        record("book_time", round(wall, 1), "s (total wall time, quick profile)",
               device_description(device), details)
    status = f"FAILED {len(failed)} of {len(results)}; " if failed or returncode else ""
    tail = f"; slowest: {slowest} {timed[slowest]['seconds']:.1f} s" if slowest else ""
    print(f"book_time: {status}{len(results)} notebook{'s' * (len(results) != 1)} in "
          f"{wall:.1f} s ({env['CNNLAB_PROFILE']} profile{tail})", flush=True)
    return {"total": wall, **details}


if __name__ == "__main__":
    main()
