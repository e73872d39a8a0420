"""The import graph of dispatch/, drawn from the source with `ast` (every import, including those
inside functions): use cases that span domains live in dispatch/workflows/; a domain's own code
never imports another domain's behaviour in a cycle, and no `<domain>/service.py` imports another
domain's service.

What counts: a domain package is a folder under dispatch/. Its data definitions (models.py,
schemas.py, enums.py, exceptions.py) are vocabulary every domain may share; its entry points
(router.py, actions.py, timers.py, dependencies.py) sit above the workflows and may call them;
everything else is behaviour, and behaviour edges between packages must form no cycle.
"""

from __future__ import annotations

import ast
import itertools
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "dispatch"
DATA = {"models", "schemas", "enums", "exceptions"}
ENTRY_POINTS = {"router", "actions", "timers", "dependencies", "__init__"}


def domain_modules() -> dict[str, Path]:
    """dispatch.<domain>.<module> -> its file, for every module inside a domain package."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if len(parts) >= 3:
            found[".".join(parts)] = path
    return found


def type_only(tree: ast.Module) -> set[int]:
    """Ids of the import nodes under `if TYPE_CHECKING:` (never run)."""
    return {id(inner) for node in ast.walk(tree) if isinstance(node, ast.If)
            and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
            for inner in ast.walk(node)}


def imports_of(path: Path, *, with_types: bool = True) -> set[str]:
    """Every dispatch module a file imports (`from x import y` counts x and x.y)."""
    out: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = set() if with_types else type_only(tree)
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("dispatch."):
                out.add(node.module)
                out.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("dispatch."))
    return out


def resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The module an imported name lives in (`dispatch.a.b.func` -> `dispatch.a.b`)."""
    while name.count(".") >= 2:
        if name in modules:
            return name
        name = name.rsplit(".", 1)[0]
    return None


def behaviour_graph() -> tuple[dict[str, set[str]], dict[tuple[str, str], set[str]]]:
    """Package -> packages whose behaviour it imports, with the imports behind each edge."""
    modules = domain_modules()
    graph: dict[str, set[str]] = defaultdict(set)
    why: dict[tuple[str, str], set[str]] = defaultdict(set)
    for module, path in modules.items():
        package, leaf = module.split(".")[1], module.split(".")[-1]
        if leaf in ENTRY_POINTS:
            continue
        for name in imports_of(path):
            target = resolve(name, modules)
            if target is None:
                continue
            other = target.split(".")[1]
            if other != package and target.split(".")[2] not in DATA:
                graph[package].add(other)
                why[package, other].add(f"{module} imports {target}")
    return graph, why


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, or None (depth-first search)."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_cycle_between_domain_packages() -> None:
    graph, why = behaviour_graph()
    assert graph["workflows"], "the workflows import the domains they combine"
    found = cycle(graph)
    if found:
        edges = [f"{a} -> {b}: {sorted(why[a, b])}" for a, b in itertools.pairwise(found)]
        pytest.fail("import cycle between domain packages:\n" + "\n".join(edges))


def test_no_domain_service_imports_another_domains_service() -> None:
    modules = domain_modules()
    offences = []
    for module, path in modules.items():
        if not module.endswith(".service"):
            continue
        package = module.split(".")[1]
        for name in imports_of(path):
            target = resolve(name, modules)
            if target and target.endswith(".service") and target.split(".")[1] != package:
                offences.append(f"{module} imports {target}")
    assert offences == []


def test_the_checks_see_a_cycle_and_a_service_import() -> None:
    """The checks themselves: a made-up cycle is found, an acyclic graph passes."""
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    modules = domain_modules()
    assert resolve("dispatch.fleet.service.write_status", modules) == "dispatch.fleet.service"
    assert "dispatch.handovers.service" in imports_of(PACKAGE / "workflows" / "unit_status.py")


def test_pure_code_does_not_import_the_orm() -> None:
    """The state machine, the routing engine and the snapshots read enums, not ORM models."""
    pure = ["fleet/states.py", "routing/engine.py", "routing/rules.py", "hospitals/snapshot.py",
            "places/snapshot.py", "zones/index.py"]
    offences = {}
    for name in pure:
        path = PACKAGE / name
        bad = sorted(i for i in imports_of(path, with_types=False)
                     if i.endswith(".models") or ".models." in i)
        if bad or "sqlalchemy" in path.read_text(encoding="utf-8"):
            offences[name] = bad or ["sqlalchemy"]
    assert offences == {}
