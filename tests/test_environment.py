"""environment.yml (conda/Binder), pyproject.toml and the Makefile name the same stack."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pyproject_requirements() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in ("notebooks", "book", "test"):
        reqs += project["optional-dependencies"][extra]
    # "cnnlab[notebooks]" inside "book" is the package's own extra, not a package
    return {r.replace(" ", "") for r in reqs if not r.startswith("cnnlab[")}


def _environment_pip() -> list[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    return [p.replace(" ", "") for p in pip]


def _torch_pins() -> set[str]:
    line = next(l for l in (ROOT / "Makefile").read_text().splitlines() if l.startswith("TORCH"))
    return set(line.split(":=")[1].split())


def test_environment_yml_lists_every_pyproject_requirement():
    pip = set(_environment_pip())
    names = lambda reqs: {re.split(r"[<>=!~\[]", r)[0].lower() for r in reqs}  # noqa: E731
    pyproject = _pyproject_requirements()
    # torch/torchvision appear pinned in environment.yml (as the Makefile pins them).
    loose = {r for r in pyproject if not r.startswith(("torch>", "torchvision>"))}
    assert loose <= pip, f"missing from environment.yml: {sorted(loose - pip)}"
    extra = names(pip - {"-e."}) - names(pyproject)
    assert not extra, f"environment.yml has packages pyproject.toml lacks: {sorted(extra)}"


def test_torch_pins_agree():
    pins = _torch_pins()
    assert pins == {"torch==2.14.1", "torchvision==0.29.1"}
    assert pins <= set(_environment_pip())


def _floor_pins() -> dict[str, str]:
    """The Makefile's FLOOR (``name==version`` over one continued line)."""
    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    line = next(l for l in text.splitlines() if l.startswith("FLOOR "))
    return dict(p.split("==") for p in line.split(":=")[1].split())


def test_make_test_floor_tests_exactly_the_declared_floors():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    floors = dict(r.replace(" ", "").split(">=") for r in project["dependencies"])
    assert _floor_pins() == floors  # every runtime requirement, at its lowest version
    # the interpreter make test-floor runs on is the lowest Python the package claims
    assert project["requires-python"] == ">=3.11"
