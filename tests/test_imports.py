"""The package's modules import each other without a cycle, at any depth.

Every ``import`` and ``from … import`` in ``cnnlab`` counts, those inside functions
too: a late import that dodges a cycle still is one. ``from cnnlab import x`` points at
the module ``cnnlab.x`` when there is one, else at the package ``cnnlab`` itself.
"""

import ast
from pathlib import Path

import cnnlab

PACKAGE = Path(cnnlab.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def import_graph() -> dict[str, set[str]]:
    """``{module: the package's modules it imports}``."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text("utf8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules
                           else node.module for a in node.names]
            else:
                continue
            for target in targets:
                # Importing a.b.c runs a.b's __init__ first (the root package aside:
                # it is always imported before anything in it).
                parts = target.split(".")
                edges |= {".".join(parts[:k]) for k in range(2, len(parts) + 1)}
        # A module's own packages are set up before it runs: no edge back to them.
        graph[name] = {e for e in edges if e in modules and not (name + ".").startswith(e + ".")}
    # cnnlab.chapters discovers and imports every chapter module (pkgutil).
    graph["cnnlab.chapters"] |= {m for m in modules if m.startswith("cnnlab.chapters.")
                                 and not m.rpartition(".")[2].startswith("_")}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_the_package_has_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " → ".join(cycle)


def test_the_zoo_and_the_tools_import_nothing_of_the_course():
    course = {"cnnlab", "cnnlab.chapters", "cnnlab.profiles", "cnnlab.record", "cnnlab.cli"}
    graph = import_graph()
    for name, edges in graph.items():
        if name.startswith("cnnlab.models") or name in {
                "cnnlab.train", "cnnlab.measure", "cnnlab.plot", "cnnlab.data",
                "cnnlab.checkpoint", "cnnlab.predictions", "cnnlab.recipe", "cnnlab.results"}:
            reached = {e for e in edges if e in course or e.startswith("cnnlab.chapters")}
            assert not reached, f"{name} imports {sorted(reached)}"


def test_the_cycle_finder_finds_a_planted_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
