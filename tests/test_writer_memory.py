"""The WARC writer process stays small: the jobs the crawl hands it unpickle without importing
Scrapy or Twisted (a job's function lives in crawler.archive, not beside its caller)."""

from __future__ import annotations

import pickle
import subprocess
import sys
from datetime import UTC, datetime
from functools import partial

from crawler.archive.records import build_metadata_record, one_record
from tests.crawl import REPO

CHECK = """
import pickle, sys
job = pickle.loads(sys.stdin.buffer.read())
records = job()
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"scrapy", "twisted", "lxml", "parsel"})
print(len(records), heavy)
"""


def test_a_metadata_job_unpickles_and_runs_without_scrapy():
    # As WarcArchiveMiddleware.page_parsed submits it.
    job = partial(
        one_record,
        build_metadata_record,
        "http://127.0.0.1:8000/a.html",
        datetime(2026, 12, 2, tzinfo=UTC),
        concurrent_to="<urn:uuid:00000000-0000-0000-0000-000000000001>",
        outlinks=["http://127.0.0.1:8000/b.html"],
        via=None,
        fetched_by="http",
    )
    result = subprocess.run(
        [sys.executable, "-c", CHECK],
        input=pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL),
        capture_output=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().split() == ["1", "[]"]


SCRIPT = """
import asyncio, sys
from pathlib import Path
import lxml.etree  # as the `scrapy` entry point's imports do: the crawl's process has it
from crawler.archive.records import CrawlInfo
from crawler.archive.writer import BackgroundWarcWriter, WriterSpec

async def main():
    info = CrawlInfo("c1", "http://127.0.0.1/", "obey", "", "host")
    spec = WriterSpec(Path(sys.argv[1]), info, "haiphong", 1 << 20)
    writer = BackgroundWarcWriter(spec, on_closed=lambda path: None)
    # The writer is up once it answers: close_file() is a job like any other.
    await writer.close_file()
    maps = Path(f"/proc/{writer._process.pid}/maps").read_text()
    print("lxml" if "etree" in maps else "no lxml")
    writer.shutdown()

if __name__ == "__main__":
    asyncio.run(main())
"""


def test_a_writer_started_from_a_script_does_not_load_the_script_imports(tmp_path):
    # Started by path (as `.venv/bin/scrapy` is), "spawn" would run the script again in
    # the writer, importing what it imports (there: all of Scrapy).
    script = tmp_path / "start_writer.py"
    script.write_text(SCRIPT, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "spool")],
        capture_output=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().split() == ["no", "lxml"]
