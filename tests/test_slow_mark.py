"""The ``slow`` mark follows what a test uses (tests/slow.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fixture_portal import build_site
from tests import seaweedfs
from tests.crawl import REPO, run_crawl
from tests.slow import calls_slow_helper


def _crawl_twice(url: str, workdir: Path) -> None:
    run_crawl(url, workdir)
    run_crawl(url, workdir)


def _through_a_helper() -> None:
    _crawl_twice("http://127.0.0.1:1/", Path("."))


def _through_a_module() -> None:
    with seaweedfs.SeaweedFS():
        pass


def _in_a_closure() -> None:
    def later() -> None:
        subprocess.run(["true"], check=True)

    later()


def _in_process() -> None:
    build_site(seed=1).articles.count(None)


# Reached through a dict, which the mark does not look into: the test below names the
# functions without being slow itself.
SAMPLES = {
    "helper": _through_a_helper,
    "module": _through_a_module,
    "closure": _in_a_closure,
    "in-process": _in_process,
}


def test_what_starts_a_program_is_slow_however_it_is_reached():
    slow = {name for name, function in SAMPLES.items() if calls_slow_helper(function)}
    assert slow == {"helper", "module", "closure"}


def test_the_suite_is_split_where_crawls_servers_and_programs_start():
    """Collected as a user runs it (itself slow: pytest in a subprocess)."""

    def collected(marks: str) -> set[str]:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
            + ["-n", "0"]  # collected in this process: what xdist would collect is the same
            + ["-m", marks],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        return {line.split("::")[0] for line in done.stdout.splitlines() if "::" in line}

    slow, fast = collected("slow"), collected("not slow")
    # whole crawls (the shared fixture, run_crawl), SeaweedFS, a browser
    for module in ("test_crawl.py", "test_faults_stop.py", "test_storage_s3.py", "test_browser.py"):
        assert f"tests/{module}" in slow and f"tests/{module}" not in fast, module
    for module in ("test_urls.py", "test_extract_cues.py", "fixture_portal/test_evolve.py"):
        assert f"tests/{module}" in fast and f"tests/{module}" not in slow, module
    assert "tests/test_slow_mark.py" in slow & fast  # the test above is fast
