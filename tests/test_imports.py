"""The package import graph of ``crawler/`` has no cycle: data flows one way (the store knows
nothing of the archive, the archive nothing of the crawl's components, …).

Each subpackage (``crawler.archive``, ``crawler.storage``, …) and each top-level module
(``crawler.layout``, ``crawler.config``, …) is a node; every import anywhere in a module,
at its top or inside a function, is an edge from its node.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "crawler"


def node_of(module: str) -> str:
    """``crawler.archive.records`` → ``crawler.archive``; ``crawler.layout`` stays."""
    parts = module.split(".")
    return ".".join(parts[:2])


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> set[str]:
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            # `from crawler import layout` imports the module crawler.layout.
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {module for module in found if module == "crawler" or module.startswith("crawler.")}


def package_graph() -> dict[str, set[str]]:
    modules = {module_name(path) for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        source = node_of(module_name(path))
        for module in imported_modules(path):
            if module not in modules and module.rsplit(".", 1)[0] in modules:
                module = module.rsplit(".", 1)[0]  # `from crawler.x import name`
            if module not in modules:
                continue
            target = node_of(module)
            if target != source and target != "crawler":
                graph[source].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph (as a path that returns to its start), or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for following in sorted(graph.get(node, ())):
            if state.get(following) == "open":
                return stack[stack.index(following) :] + [following]
            if following not in state:
                cycle = visit(following)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_package_import_graph_has_no_cycle():
    graph = package_graph()
    assert graph, "no imports found: the test reads the wrong directory"
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle between packages: " + " -> ".join(cycle)


def test_the_store_knows_only_how_to_put_and_verify_bytes():
    # crawler.storage may use the atomic-write helper and the settings' types, nothing
    # of the archive, the spool or the crawl.
    assert package_graph()["crawler.storage"] <= {"crawler.atomic", "crawler.config"}


def test_a_cycle_is_found_when_there_is_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}}) is None
