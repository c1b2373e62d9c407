"""The archive under an S3 prefix (``s3://bucket/prefix``), through boto3.

Uploads carry a SHA-256 checksum that the store checks before it accepts the
bytes (``ChecksumSHA256`` for a single PUT, one per part for multipart, which
s3transfer sends when asked for ``ChecksumAlgorithm``). botocore is told to add
checksums only where an operation requires them: its newer default (CRC32 on
every upload, aws-chunked bodies) is refused by some S3-compatible servers.

After an upload the object is checked with HEAD: its size, and its SHA-256
(whole-object or the composite of the parts) when the store keeps checksums,
else its ETag (MD5, or MD5 of the part MD5s), else the bytes are read back.

Every request has a connect and a read timeout and ``ARCHIVE_S3_MAX_ATTEMPTS`` attempts.
A timeout or a refused connection is ``StorageUnavailable`` (the callers stop trying and
keep the files in the spool), and from then on each request gets a single attempt until the
store answers again: a store that accepts connections but never answers costs one read
timeout per operation, not attempts x timeout with backoff.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
import uuid
from pathlib import Path

import boto3
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
)
from s3transfer.utils import ChunksizeAdjuster

from crawler.storage.base import CHUNK, StoredObject, check_key
from crawler.storage.config import StorageConfig
from crawler.storage.errors import (
    StorageAccessDenied,
    StorageError,
    StorageNotFound,
    StorageUnavailable,
    StorageVerificationFailed,
    scrub,
)

logger = logging.getLogger(__name__)

DENIED_CODES = {
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "AllAccessDisabled",
    "403",
    "Forbidden",
}
MISSING_CODES = {"NoSuchBucket", "NoSuchKey", "404", "NotFound"}


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


class _LocalDigests:
    """What the store should report for a file uploaded whole or in parts."""

    @classmethod
    def of_bytes(cls, data: bytes) -> _LocalDigests:
        digests = cls.__new__(cls)
        sha = hashlib.sha256(data)
        digests.size = len(data)
        digests.sha256 = sha.hexdigest()
        digests.sha256_b64 = _b64(sha.digest())
        digests.checksums = {digests.sha256_b64}
        digests.etag = hashlib.md5(data).hexdigest()
        return digests

    def __init__(self, path: Path, part_size: int | None):
        whole_sha, whole_md5 = hashlib.sha256(), hashlib.md5()
        part_shas, part_md5s = [], []
        self.size = 0
        with open(path, "rb") as stream:
            while True:
                part = stream.read(part_size) if part_size else stream.read(CHUNK)
                if not part:
                    break
                self.size += len(part)
                whole_sha.update(part)
                whole_md5.update(part)
                if part_size:
                    part_shas.append(hashlib.sha256(part).digest())
                    part_md5s.append(hashlib.md5(part).digest())
        self.sha256 = whole_sha.hexdigest()
        self.sha256_b64 = _b64(whole_sha.digest())
        if part_size:
            count = len(part_shas)
            self.checksums = {
                self.sha256_b64,
                f"{_b64(hashlib.sha256(b''.join(part_shas)).digest())}-{count}",
            }
            self.etag = f"{hashlib.md5(b''.join(part_md5s)).hexdigest()}-{count}"
        else:
            self.checksums = {self.sha256_b64}
            self.etag = whole_md5.hexdigest()


class S3Store:
    def __init__(self, bucket: str, prefix: str, config: StorageConfig):
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.uri = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self.config = config
        self._secrets = (config.secret_access_key, config.session_token)
        self._session = boto3.session.Session(
            aws_access_key_id=config.access_key_id,
            aws_secret_access_key=config.secret_access_key,
            aws_session_token=config.session_token,
            region_name=config.region_name,
        )
        # While the store does not answer (timeouts, refused connections), each operation
        # gets one attempt: a store that hangs costs one read timeout per operation, not
        # max_attempts of them with backoff in between. Any answer ends that.
        self._unanswered = False
        self._hasty = None
        self._clients_lock = threading.Lock()
        self._patient = self._new_client(config.max_attempts)
        self._transfer = TransferConfig(
            multipart_threshold=config.multipart_threshold,
            multipart_chunksize=config.multipart_chunksize,
            max_concurrency=config.max_concurrency,
        )

    def __repr__(self) -> str:
        return f"S3Store({self.uri!r})"

    def _new_client(self, max_attempts: int):
        config = self.config
        botocore_config = Config(
            connect_timeout=config.connect_timeout,
            read_timeout=config.read_timeout,
            # total_max_attempts counts the first try; botocore's max_attempts does not.
            retries={"mode": "standard", "total_max_attempts": max_attempts},
            max_pool_connections=max(10, config.max_concurrency * 2),
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            s3={"addressing_style": config.addressing_style} if config.addressing_style else None,
        )
        client = self._session.client(
            "s3",
            endpoint_url=config.endpoint_url,
            verify=config.verify,
            config=botocore_config,
        )
        # Emitted for every response, errors too: the store answers.
        client.meta.events.register("after-call.s3", self._answered)
        return client

    @property
    def _client(self):
        if not self._unanswered:
            return self._patient
        with self._clients_lock:
            if self._hasty is None:
                self._hasty = self._new_client(1)
            return self._hasty

    def _answered(self, **_kwargs) -> None:
        if self._unanswered:
            self._unanswered = False
            logger.info("archive store %s answers again", self.uri)

    def _not_answering(self, exc: Exception) -> None:
        if not self._unanswered:
            self._unanswered = True
            logger.warning(
                "archive store %s does not answer (%s): one attempt per operation "
                "until it answers again",
                self.uri,
                exc,
            )

    def close(self) -> None:
        """Close the clients' connections."""
        self._patient.close()
        if self._hasty is not None:
            self._hasty.close()

    # -- keys and errors --------------------------------------------------------

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _relative(self, full_key: str) -> str:
        return full_key[len(self.prefix) + 1 :] if self.prefix else full_key

    def _error(self, exc: Exception, what: str) -> StorageError:
        """A ``StorageError`` for a boto3 failure while doing ``what``."""
        if isinstance(exc, S3UploadFailedError) and isinstance(exc.__cause__, ClientError):
            exc = exc.__cause__
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            detail = f"{code or status}: {error.get('Message') or 'no message'}"
            if code in DENIED_CODES or status == 403:
                kind = StorageAccessDenied
                detail += " (check the access key, secret and what they are allowed under "
                detail += f"{self.uri})"
            elif code in MISSING_CODES or status == 404:
                kind = StorageNotFound
            elif status is not None and status >= 500:
                kind = StorageUnavailable
            else:
                kind = StorageError
        elif isinstance(exc, NoCredentialsError | PartialCredentialsError):
            kind, detail = StorageAccessDenied, f"no usable S3 credentials ({exc})"
        elif isinstance(exc, ConnectionError | HTTPClientError):
            # Refused, reset, or no answer within ARCHIVE_S3_CONNECT/READ_TIMEOUT.
            kind, detail = StorageUnavailable, f"store unreachable ({exc})"
            self._not_answering(scrub(str(exc), *self._secrets))
        else:
            kind, detail = StorageError, f"{type(exc).__name__}: {exc}"
        return kind(scrub(f"{what} {self.uri}: {detail}", *self._secrets))

    # -- the interface ------------------------------------------------------------

    def put_file(self, local_path: Path, key: str) -> StoredObject:
        local_path = Path(local_path)
        full_key = self._key(key)
        size = local_path.stat().st_size
        multipart = size >= self.config.multipart_threshold
        part_size = (
            ChunksizeAdjuster().adjust_chunksize(self.config.multipart_chunksize, size)
            if multipart
            else None
        )
        digests = _LocalDigests(local_path, part_size)
        what = f"uploading {local_path} to"
        try:
            if multipart:
                self._client.upload_file(
                    str(local_path),
                    self.bucket,
                    full_key,
                    ExtraArgs={"ChecksumAlgorithm": "SHA256"},
                    Config=self._transfer,
                )
            else:
                with open(local_path, "rb") as body:
                    self._client.put_object(
                        Bucket=self.bucket,
                        Key=full_key,
                        Body=body,
                        ContentLength=digests.size,
                        ChecksumSHA256=digests.sha256_b64,
                    )
        except (BotoCoreError, ClientError, S3UploadFailedError) as exc:
            raise self._error(exc, what) from exc
        self._verify(key, full_key, digests)
        logger.debug("stored %s as %s/%s (%d bytes)", local_path, self.uri, key, digests.size)
        return StoredObject(key, digests.size, digests.sha256)

    def put_bytes(self, data: bytes, key: str) -> StoredObject:
        full_key = self._key(key)
        digests = _LocalDigests.of_bytes(data)
        try:
            self._client.put_object(
                Bucket=self.bucket, Key=full_key, Body=data, ChecksumSHA256=digests.sha256_b64
            )
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc, f"storing {key} in") from exc
        self._verify(key, full_key, digests)
        return StoredObject(key, digests.size, digests.sha256)

    def _verify(self, key: str, full_key: str, digests: _LocalDigests) -> None:
        where = f"{self.uri}/{key}"
        try:
            head = self._client.head_object(
                Bucket=self.bucket, Key=full_key, ChecksumMode="ENABLED"
            )
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc, f"checking {key} in") from exc
        if head["ContentLength"] != digests.size:
            raise StorageVerificationFailed(
                f"{where}: stored {head['ContentLength']} bytes, sent {digests.size}"
            )
        checksum = head.get("ChecksumSHA256")
        if checksum:
            if checksum not in digests.checksums:
                raise StorageVerificationFailed(
                    f"{where}: store reports sha256 {checksum}, sent {sorted(digests.checksums)}"
                )
            return
        etag = head.get("ETag", "").strip('"')
        if etag == digests.etag:
            return
        # No checksum kept and an ETag that is not an MD5 (e.g. KMS): read it back.
        logger.info("%s: no stored checksum to compare, reading the object back", where)
        if self._stored_sha256(full_key, where) != digests.sha256:
            raise StorageVerificationFailed(f"{where}: stored bytes differ from the local file")

    def _stored_sha256(self, full_key: str, where: str) -> str:
        digest = hashlib.sha256()
        try:
            body = self._client.get_object(Bucket=self.bucket, Key=full_key)["Body"]
            for chunk in body.iter_chunks(CHUNK):
                digest.update(chunk)
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc, f"reading back {where} from") from exc
        return digest.hexdigest()

    def get_bytes(self, key: str) -> bytes:
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=self._key(key))
            return response["Body"].read()
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc, f"reading {key} from") from exc

    def get_range(self, key: str, offset: int, length: int) -> bytes:
        if length <= 0:
            return b""
        try:
            response = self._client.get_object(
                Bucket=self.bucket,
                Key=self._key(key),
                Range=f"bytes={offset}-{offset + length - 1}",
            )
            return response["Body"].read()
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc, f"reading {key} from") from exc

    def exists(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            error = self._error(exc, f"looking for {key} in")
            if isinstance(error, StorageNotFound):
                return False
            raise error from exc
        except BotoCoreError as exc:
            raise self._error(exc, f"looking for {key} in") from exc
        return True

    def list(self, prefix: str = "") -> list[str]:
        full_prefix = f"{self.prefix}/{prefix}" if self.prefix else prefix
        keys = []
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=full_prefix
            )
            for page in pages:
                keys.extend(self._relative(item["Key"]) for item in page.get("Contents", ()))
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc, f"listing {prefix!r} in") from exc
        return sorted(keys)

    def delete(self, key: str) -> None:
        try:
            self._client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc, f"deleting {key} from") from exc

    def check_access(self) -> None:
        """Write, read back and delete a probe object under the prefix: the
        least an identity allowed only under the prefix can do (it may not be
        allowed to list or HEAD the bucket)."""
        probe = f".access-probe-{uuid.uuid4().hex}"
        stored = self.put_bytes(b"archive access probe\n", probe)
        try:
            if self.get_bytes(probe) != b"archive access probe\n":
                raise StorageVerificationFailed(f"{self.uri}/{probe}: probe read back differs")
        finally:
            self.delete(stored.key)
        logger.info("archive store %s: write, read and delete allowed", self.uri)
