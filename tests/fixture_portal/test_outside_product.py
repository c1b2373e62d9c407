"""The fixture portal is test and demo support: the crawler never loads it.

Run in a fresh interpreter, since this test session has imported ``fixture_portal`` already.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Every module of the product package, the command modules included (Scrapy imports them all
# at start-up, whatever the command), then what got loaded.
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
