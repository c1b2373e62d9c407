"""The fixture portal's place and shape: test and demo support that the crawler never loads,
made of modules that import one another one way."""

from __future__ import annotations

import ast
import subprocess
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "fixture_portal"

# Every module of the product package, the command modules included (Scrapy imports them all
# at start-up, whatever the command), then what got loaded. In a fresh interpreter: this test
# session has imported ``fixture_portal`` already.
PROBE = """
import importlib, pkgutil, sys
import crawler
for module in pkgutil.walk_packages(crawler.__path__, "crawler."):
    importlib.import_module(module.name)
loaded = sorted(m for m in sys.modules if m.split(".")[0] == "fixture_portal")
print(len([m for m in sys.modules if m.startswith("crawler.")]), loaded)
"""


def test_no_crawler_module_imports_the_fixture_portal():
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    count, loaded = done.stdout.split(" ", 1)
    assert int(count) > 50  # the walk did import the package
    assert loaded.strip() == "[]"


def _imports(path: Path) -> tuple[set[str], set[str]]:
    """The package's modules that ``path`` imports, and where it imports inside a def or class."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nested = {
        f"{path.name}:{node.lineno}"
        for scope in ast.walk(tree)
        if isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        for node in ast.walk(scope)
        if isinstance(node, ast.Import | ast.ImportFrom)
    }
    targets = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                targets.add(node.module.split(".")[0])
            else:  # from . import a, b
                targets.update(alias.name for alias in node.names)
    return targets, nested


def test_modules_import_one_way_at_the_top():
    graph, nested = {}, set()
    for path in sorted(PACKAGE.glob("*.py")):
        graph[path.stem], inside = _imports(path)
        nested |= inside
    assert {"model", "generate", "evolve", "pages", "truth"} <= set(graph)
    assert graph["model"] == set()  # the data model knows nothing of the rest
    assert nested == set()
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as e:
        raise AssertionError(f"import cycle in fixture_portal: {e.args[1]}") from e
    assert order.index("model") < order.index("evolve")
