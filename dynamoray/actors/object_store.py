"""Snapshots and backup files in an S3-compatible object store (``--backup-store s3://bucket/prefix``).

The directory store (``snapshots.SnapshotStore`` and ``backups.DirectoryBackupFiles``) is the
default.  This module puts the same files, byte for byte, in a bucket instead:

- ``<prefix>/snapshots/<table id>/<shard>/<offset, 20 digits>.snap``: partition snapshots
  (:class:`S3SnapshotStore`, a :class:`~.snapshots.SnapshotStore` with the same interface), and
  ``.pin`` markers next to them (the snapshots log retention relies on, ``retention.py``);
- ``<prefix>/backups/<backup id>.snap``: on-demand and SYSTEM backups (:class:`S3BackupFiles`).

A PUT is atomic (an object exists whole or not at all), so there are no temporary files; a file
above ``PART_SIZE`` goes up as a multipart upload, aborted if anything fails.  Encryption at rest
is the caller's, as on disk: the snapshot store seals with its ``cipher`` before the bytes leave
the process, and backup files are wrapped in ``events.encryption.EncryptedFiles``.

The client is botocore's S3 client (boto3's own; botocore is a dependency already), made once per
process and location: credentials come from the usual chain (``AWS_ACCESS_KEY_ID``/
``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``, the shared files, instance roles), unless the
location carries explicit ones.  ``endpoint_url`` names any S3-compatible server (MinIO, Ceph,
moto); path-style addressing is used with one.  Every object is picklable (only the location
travels), so Ray actors build their own client.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator
from urllib.parse import urlparse

from .. import logs
from .snapshots import SUFFIX, SnapshotStore

log = logs.get("object_store")

PART_SIZE = 8 << 20  # multipart uploads above this, in parts of this size (S3's minimum is 5 MiB)
PIN = ".pin"
_DELETE_BATCH = 1000  # keys per DeleteObjects call (S3's maximum)


class ObjectStoreError(Exception):
    """The object store cannot be used (bad URL, bucket missing or unreachable, no credentials)."""


@dataclass(frozen=True)
class S3Location:
    """Where the files go: a bucket, a key prefix, and how to reach the server."""

    bucket: str
    prefix: str = ""  # no leading or trailing slash; "" is the bucket's root
    endpoint_url: str | None = None  # an S3-compatible server; None: AWS S3
    region: str | None = None  # None: the usual chain (AWS_DEFAULT_REGION, the profile), else us-east-1
    profile: str | None = None
    access_key_id: str | None = None  # explicit credentials (else the usual chain, in each process)
    secret_access_key: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, url: str, **settings: Any) -> S3Location:
        """``s3://bucket/prefix`` (the prefix is optional)."""
        parsed = urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ObjectStoreError(f"expected s3://BUCKET[/PREFIX], not {url!r}")
        return cls(parsed.netloc, parsed.path.strip("/"), **settings)

    def key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")


_CLIENTS: dict[S3Location, Any] = {}
_CLIENTS_LOCK = threading.Lock()


def client_for(location: S3Location) -> Any:
    """This process's S3 client for ``location`` (botocore clients are thread-safe)."""
    with _CLIENTS_LOCK:
        found = _CLIENTS.get(location)
        if found is None:
            found = _CLIENTS[location] = _new_client(location)
        return found


def _new_client(location: S3Location) -> Any:
    import botocore.session
    from botocore.config import Config

    session = botocore.session.Session(profile=location.profile)
    region = location.region or session.get_config_variable("region") or "us-east-1"
    config = Config(retries={"max_attempts": 5, "mode": "standard"},
                    s3={"addressing_style": "path" if location.endpoint_url else "auto"})
    return session.create_client("s3", region_name=region, endpoint_url=location.endpoint_url, config=config,
                                 aws_access_key_id=location.access_key_id,
                                 aws_secret_access_key=location.secret_access_key)


class S3Objects:
    """Whole objects under a location: put (atomic), get, list, delete."""

    def __init__(self, location: S3Location) -> None:
        self.location = location

    def __reduce__(self) -> tuple:
        return S3Objects, (self.location,)

    @property
    def client(self) -> Any:
        return client_for(self.location)

    def check(self) -> None:
        """Fail with :class:`ObjectStoreError` unless the bucket can be reached."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.location.bucket)
        except (BotoCoreError, ClientError) as error:
            raise ObjectStoreError(f"cannot use {self.location.url()}: {error}") from None

    def put(self, key: str, chunks: Iterable[bytes]) -> int:
        """Store ``chunks`` as one object; returns its size.  Readers see it whole or not at all."""
        parts = _parts(chunks, PART_SIZE)
        first = next(parts, b"")
        second = next(parts, None)
        if second is None:
            self.client.put_object(Bucket=self.location.bucket, Key=key, Body=first)
            return len(first)
        return self._multipart(key, iter((first, second, *parts)))

    def _multipart(self, key: str, parts: Iterator[bytes]) -> int:
        bucket, client = self.location.bucket, self.client
        upload = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        done, size = [], 0
        try:
            for number, body in enumerate(parts, start=1):
                answer = client.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=number, Body=body)
                done.append({"ETag": answer["ETag"], "PartNumber": number})
                size += len(body)
            client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload,
                                             MultipartUpload={"Parts": done})
        except BaseException:
            try:
                client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload)
            except Exception as error:  # noqa: BLE001 - the first failure is the one to raise
                log.warning("multipart_abort_failed", key=key, error=repr(error))
            raise
        return size

    def get(self, key: str) -> bytes:
        """The object's bytes; FileNotFoundError if there is none."""
        try:
            answer = self.client.get_object(Bucket=self.location.bucket, Key=key)
        except self.client.exceptions.NoSuchKey:
            raise FileNotFoundError(f"{self.location.bucket}/{key}") from None
        with answer["Body"] as body:
            return body.read()

    def names(self, prefix: str) -> list[str]:
        """The keys under ``prefix`` (a "directory": ends with a slash), without it."""
        paginator = self.client.get_paginator("list_objects_v2")
        out = []
        for page in paginator.paginate(Bucket=self.location.bucket, Prefix=prefix):
            out.extend(entry["Key"][len(prefix):] for entry in page.get("Contents", ()))
        return out

    def delete(self, *keys: str) -> None:
        """Delete ``keys`` (missing ones are fine)."""
        for start in range(0, len(keys), _DELETE_BATCH):
            batch = [{"Key": k} for k in keys[start:start + _DELETE_BATCH]]
            if len(batch) == 1:
                self.client.delete_object(Bucket=self.location.bucket, Key=batch[0]["Key"])
            else:
                self.client.delete_objects(Bucket=self.location.bucket, Delete={"Objects": batch, "Quiet": True})


def _parts(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """``chunks`` regrouped into pieces of ``size`` bytes (the last one shorter)."""
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)


# --- the two stores ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Written:
    """A snapshot written to the bucket: its key and size."""

    key: str
    size: int


class S3SnapshotStore(SnapshotStore):
    """:class:`~.snapshots.SnapshotStore` in a bucket: same names, same format, same sealing."""

    def __init__(self, location: S3Location, cipher: Any = None) -> None:
        self.objects = S3Objects(location)
        self.cipher = cipher
        # no local files: a path that does not exist, nor does its sibling ``backups`` (which
        # ``keys rotate --reencrypt`` would walk)
        self.root = Path("/nonexistent-dynamoray-object-store/snapshots")

    def __reduce__(self) -> tuple:
        return S3SnapshotStore, (self.objects.location, self.cipher)

    def _dir(self, table_id: str, shard: int) -> str:
        return self.objects.location.key("snapshots", table_id, str(shard)) + "/"

    def _key(self, table_id: str, shard: int, offset: int, suffix: str = SUFFIX) -> str:
        return f"{self._dir(table_id, shard)}{offset:020d}{suffix}"

    def location(self, table_id: str, shard: int, offset: int) -> str:
        return f"{table_id}/{shard}/{offset:020d}{SUFFIX}"

    def write(self, table_id: str, shard: int, offset: int, chunks: Iterable[bytes]) -> Written:
        if self.cipher is not None:
            chunks = self.cipher.seal(chunks, self._context(table_id, shard, offset), table_id)
        key = self._key(table_id, shard, offset)
        return Written(key, self.objects.put(key, chunks))

    def written_size(self, written: Any) -> int:
        return written.size

    def _listed(self, table_id: str, shard: int, suffix: str) -> list[int]:
        found = []
        for name in self.objects.names(self._dir(table_id, shard)):
            stem = name[:-len(suffix)] if name.endswith(suffix) else None
            if stem is not None and stem.isdigit():
                found.append(int(stem))
        return sorted(found, reverse=True)

    def offsets(self, table_id: str, shard: int = 0) -> list[int]:
        return self._listed(table_id, shard, SUFFIX)

    def read(self, table_id: str, shard: int, offset: int) -> bytes:
        data = self.objects.get(self._key(table_id, shard, offset))
        return data if self.cipher is None else self.cipher.open(data, self._context(table_id, shard, offset))

    def delete(self, table_id: str, shard: int, offset: int) -> None:
        self.objects.delete(self._key(table_id, shard, offset))

    def pin(self, table_id: str, shard: int, offset: int) -> None:
        self.objects.put(self._key(table_id, shard, offset, PIN), [b""])

    def unpin(self, table_id: str, shard: int, offset: int) -> None:
        self.objects.delete(self._key(table_id, shard, offset, PIN))

    def pinned(self, table_id: str, shard: int = 0) -> list[int]:
        return self._listed(table_id, shard, PIN)

    def clean_temporary(self, table_id: str, shard: int = 0, older_than: float = 600.0) -> None:
        """Nothing to clean: a PUT never leaves a partial object (an aborted multipart upload is
        aborted by the writer)."""

    def drop(self, table_id: str) -> None:
        prefix = self.objects.location.key("snapshots", table_id) + "/"
        self.objects.delete(*(prefix + name for name in self.objects.names(prefix)))

    def backup_files(self) -> S3BackupFiles:
        """The backup files next to these snapshots (``<prefix>/backups``)."""
        return S3BackupFiles(self.objects.location)


class S3BackupFiles:
    """Backup files in a bucket (``write(name, chunks)``/``read``/``delete``, like
    ``backups.DirectoryBackupFiles``)."""

    def __init__(self, location: S3Location) -> None:
        self.objects = S3Objects(location)

    def _key(self, name: str) -> str:
        return self.objects.location.key("backups", name)

    def write(self, name: str, chunks: Iterable[bytes]) -> str:
        self.objects.put(self._key(name), chunks)
        return name

    def read(self, name: str) -> bytes:
        return self.objects.get(self._key(name))

    def delete(self, name: str) -> None:
        self.objects.delete(self._key(name))
