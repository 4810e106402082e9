"""The buckets exports write to and imports read from: S3-compatible buckets, or local directories.

``open_bucket(name, engine)`` decides where the bucket ``name`` lives:

1. **A local bucket** (a dynamoray extension) when the directory ``<local buckets>/<name>`` exists.
   ``<local buckets>`` is ``$DYNAMORAY_LOCAL_BUCKETS`` (``dynamoray serve --local-buckets DIR``
   sets it), else ``<data dir>/buckets`` on a server that keeps its snapshots in its data
   directory.  Object keys are paths under that directory (``/`` separated); a PUT writes a
   temporary file and renames it, so a reader sees a whole file or none.
2. **An S3 bucket** otherwise, through botocore (``object_store.S3Objects``): with the settings
   of ``--backup-store`` when the server keeps its backups in a bucket (endpoint, region,
   credentials), else ``$AWS_ENDPOINT_URL_S3`` (or ``$AWS_ENDPOINT_URL``; ``--s3-endpoint-url``
   sets it) and the usual credential chain.  An S3-compatible server (MinIO, moto...) is
   addressed path-style.

Both have ``put(key, data)``, ``get(key)`` and ``names(prefix)`` (every key starting with
``prefix``, sorted).  Failures are :class:`BucketError` with an AWS-like failure code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .object_store import S3Location, S3Objects, S3SnapshotStore

LOCAL_BUCKETS_ENV = "DYNAMORAY_LOCAL_BUCKETS"


class BucketError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class DirectoryBucket:
    """A local bucket: objects are files under ``root``."""

    def __init__(self, name: str, root: Path) -> None:
        self.name, self.root = name, root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise BucketError("S3InvalidKey", f"Invalid object key: {key}")
        return path

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, path)
        except OSError as error:
            tmp.unlink(missing_ok=True)
            raise BucketError("S3AccessDenied", f"Cannot write {key} in bucket {self.name}: {error}") from None

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except OSError as error:
            raise BucketError("S3NoSuchKey", f"Cannot read {key} in bucket {self.name}: {error}") from None

    def names(self, prefix: str) -> list[str]:
        found = []
        for path in self.root.rglob("*"):
            if path.is_file() and not path.name.endswith(".tmp"):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    found.append(key)
        return sorted(found)


class S3Bucket:
    """A bucket of an S3-compatible store."""

    def __init__(self, location: S3Location) -> None:
        self.name = location.bucket
        self.objects = S3Objects(location)

    def put(self, key: str, data: bytes) -> None:
        self._call(self.objects.put, key, [data])

    def get(self, key: str) -> bytes:
        return self._call(self.objects.get, key)

    def names(self, prefix: str) -> list[str]:
        return sorted(prefix + name for name in self._call(self.objects.names, prefix))

    def _call(self, method: Any, *args: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return method(*args)
        except FileNotFoundError as error:
            raise BucketError("S3NoSuchKey", f"No such key: {error}") from None
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "Error")
            raise BucketError(f"S3{code}", f"S3 bucket {self.name}: {error}") from None
        except BotoCoreError as error:
            raise BucketError("S3Unreachable", f"S3 bucket {self.name}: {error}") from None


def local_root(engine: Any) -> Path | None:
    """Where local buckets live, if anywhere (see the module docstring)."""
    configured = os.environ.get(LOCAL_BUCKETS_ENV)
    if configured:
        return Path(configured)
    store = getattr(engine, "snapshot_store", None)
    if store is not None and not isinstance(store, S3SnapshotStore):
        return Path(store.root).parent / "buckets"
    return None


def s3_location(bucket: str, engine: Any) -> S3Location:
    store = getattr(engine, "snapshot_store", None)
    if isinstance(store, S3SnapshotStore):  # the backup store's settings
        base = store.objects.location
        return S3Location(bucket, "", base.endpoint_url, base.region, base.profile, base.access_key_id,
                          base.secret_access_key)
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None
    return S3Location(bucket, "", endpoint)


def open_bucket(name: str, engine: Any) -> DirectoryBucket | S3Bucket:
    root = local_root(engine)
    if root is not None and (root / name).is_dir():
        return DirectoryBucket(name, root / name)
    return S3Bucket(s3_location(name, engine))
