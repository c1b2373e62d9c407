"""The ``slow`` mark, set from what a test uses: ``pytest -m "not slow"`` runs the rest.

The fast tests run in the test process alone. A test is slow when it, one of its fixtures, or
a function of tests/ that they call names one of ``SLOW_HELPERS``: a whole crawl (``scrapy
crawl`` in a subprocess), SeaweedFS, pywb, a browser, or any other program. Read from the code
rather than kept by hand, so a new test that starts a crawl is slow without anyone marking it;
one that starts a program some other way is marked ``@pytest.mark.slow``.
"""

from __future__ import annotations

import os
import subprocess
import types
from collections.abc import Callable, Iterator

import pytest
from playwright.async_api import async_playwright
from playwright.sync_api import sync_playwright

from crawler.replay.pywb import start_pywb
from tests.crawl import crawl_command, run_crawl
from tests.redis_server import RedisServer
from tests.seaweedfs import SeaweedFS

SLOW_HELPERS = frozenset(
    {
        run_crawl,
        crawl_command,
        SeaweedFS,
        RedisServer,
        start_pywb,
        sync_playwright,
        async_playwright,
        # any other program: a Scrapy command alone takes a second or two to start
        subprocess.run,
        subprocess.Popen,
        subprocess.check_output,
        subprocess.check_call,
        subprocess.call,
    }
)
TESTS = os.path.realpath(os.path.dirname(__file__)) + os.sep


def mark_slow(items: list[pytest.Item]) -> None:
    for item in items:
        if isinstance(item, pytest.Function) and uses_slow_helper(item):
            item.add_marker(pytest.mark.slow)


def uses_slow_helper(item: pytest.Function) -> bool:
    fixtures = [
        definition.func
        for definitions in item._fixtureinfo.name2fixturedefs.values()
        for definition in definitions
    ]
    return calls_slow_helper(item.function, *fixtures)


def calls_slow_helper(*functions: Callable) -> bool:
    """Whether any of ``functions``, or a function of tests/ they name, names a slow helper."""
    seen: set[types.FunctionType] = set()
    todo = [f for f in functions if isinstance(f, types.FunctionType)]
    while todo:
        function = todo.pop()
        if function in seen:
            continue
        seen.add(function)
        for used in _named(function):
            if used in SLOW_HELPERS:
                return True
            if isinstance(used, types.FunctionType) and _ours(used):
                todo.append(used)
            elif isinstance(used, type):
                todo += [f for f in vars(used).values() if _ours(f)]
    return False


def _named(function: types.FunctionType) -> Iterator[object]:
    """The globals that ``function`` (and the functions nested in it) names, and what it
    names in the modules it uses (``seaweedfs.SeaweedFS``, ``subprocess.run``)."""
    names: set[str] = set()
    codes = [function.__code__]
    while codes:
        code = codes.pop()
        names.update(code.co_names)
        codes += [c for c in code.co_consts if isinstance(c, types.CodeType)]
    scope = function.__globals__
    # vars(), not getattr(): a module's __getattr__ may warn, and warnings are errors here
    modules = [vars(scope[n]) for n in names if isinstance(scope.get(n), types.ModuleType)]
    for name in names:
        for namespace in (scope, *modules):
            if name in namespace:
                yield _hashable(namespace[name])


def _hashable(value: object) -> object:
    try:
        hash(value)
    except TypeError:
        return None
    return value


def _ours(value: object) -> bool:
    """A function written in tests/ (a test, a fixture or a helper)."""
    if not isinstance(value, types.FunctionType):
        return False
    return os.path.realpath(value.__code__.co_filename).startswith(TESTS)
