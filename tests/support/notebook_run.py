"""pytest plugin for the book's notebook run: every notebook of ``_toc.yml`` executed.

``make test`` loads it with ``-p tests.notebook_run --book-toc SITE/_toc.yml`` beside
``--nbmake``. It

- lists, at the end of the run, each notebook of the table of contents with nbmake's
  verdict and run time, so the log shows what was executed;
- fails the run when the notebooks nbmake executed differ from those ``_toc.yml``
  lists (nbmake silently collects nothing under a ``_build`` folder, for example);
- with ``--overwrite``, writes each notebook's run time into its metadata
  (``cnnlab.execution``), which the book's execution statistics page shows.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
import yaml

_FAILED = pytest.ExitCode.TESTS_FAILED


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--book-toc", metavar="TOC", default=None,
                     help="the book's _toc.yml: fail unless nbmake executes exactly its notebooks")


def pytest_configure(config: pytest.Config) -> None:
    toc = config.getoption("--book-toc")
    if toc:
        config.pluginmanager.register(NotebookRun(Path(toc)), "cnnlab-notebook-run")


def toc_notebooks(toc: Path) -> set[Path]:
    """The notebooks (absolute paths) that a Jupyter Book ``_toc.yml`` lists."""
    root = toc.resolve().parent
    entries: list[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("file", "root") and isinstance(value, str):
                    entries.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(yaml.safe_load(toc.read_text(encoding="utf8")))
    found = set()
    for entry in entries:
        path = root / entry
        for candidate in (path, path.with_name(path.name + ".ipynb")):
            if candidate.suffix == ".ipynb" and candidate.is_file():
                found.add(candidate)
    return found


class NotebookRun:
    def __init__(self, toc: Path) -> None:
        if not toc.is_file():
            raise pytest.UsageError(f"--book-toc: no such file {toc}")
        self.toc = toc
        self.expected = toc_notebooks(toc)
        self.runs: dict[Path, tuple[str, float]] = {}
        self.problems: list[str] = []

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        # A kernel inherits this process's environment: MPLBACKEND (set by anything
        # imported earlier in the run, d2l's setup say) would stop it drawing inline
        # figures, and the chapter pages would have none.
        if Path(str(item.path)).suffix == ".ipynb":
            os.environ.pop("MPLBACKEND", None)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        path = Path(report.fspath).resolve()
        if path.suffix != ".ipynb":
            return
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            self.runs[path] = (report.outcome, report.duration)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        executed = set(self.runs)
        for path in sorted(self.expected - executed):
            self.problems.append(f"listed in {self.toc} but not executed: {path}")
        for path in sorted(executed - self.expected):
            self.problems.append(f"executed but not listed in {self.toc}: {path}")
        if self.problems and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = _FAILED
        if session.config.getoption("overwrite", default=False):
            for path, (outcome, seconds) in self.runs.items():
                _record_run(path, outcome == "passed", seconds)

    def pytest_terminal_summary(self, terminalreporter) -> None:
        tr = terminalreporter
        tr.section("notebooks of the book (nbmake)")
        root = self.toc.resolve().parent
        for path in sorted(self.expected | set(self.runs)):
            outcome, seconds = self.runs.get(path, ("NOT EXECUTED", 0.0))
            tr.write_line(f"{outcome.upper():>12}  {seconds:7.1f} s  {path.relative_to(root)}"
                          if path.is_relative_to(root) else f"{outcome.upper():>12}  {path}")
        passed = sum(outcome == "passed" for outcome, _ in self.runs.values())
        profile = os.environ.get("CNNLAB_PROFILE") or "the hardware's default"
        dry = ", dry run" if os.environ.get("CNNLAB_DRY_RUN", "0").lower() in ("1", "true", "yes", "on") else ""
        tr.write_line(f"nbmake executed {len(self.runs)} of the {len(self.expected)} notebooks "
                      f"in {self.toc} (profile: {profile}{dry}); {passed} passed")
        for problem in self.problems:
            tr.write_line(f"ERROR: {problem}", red=True)


def _record_run(path: Path, succeeded: bool, seconds: float) -> None:
    """Add the run to the executed notebook's metadata (written atomically)."""
    nb = json.loads(path.read_text(encoding="utf8"))
    nb.setdefault("metadata", {}).setdefault("cnnlab", {})["execution"] = {
        "method": "nbmake", "runtime": round(seconds, 2), "mtime": time.time(),
        "succeeded": succeeded}
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf8")
    os.replace(tmp, path)
