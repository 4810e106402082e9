"""Key providers: who holds the master keys that wrap data keys (``core/encryption.py``).

:class:`KeyProvider` is the port; :class:`LocalKeyring` (a file under the data directory, the
default) and :class:`~dynamoray.events.kms.KmsKeys` (AWS KMS) implement it.

The keyring file (``keyring.json``, created with mode 0600 on the first start) holds the master
keys as KMS would: each has an id (a UUID, so its ARN is ``arn:aws:kms:<region>:<account>:key/<id>``),
aliases, and *versions* of key material.  A data key is wrapped by the newest version of its master
key, and the wrapped form names that version, so :meth:`LocalKeyring.rotate` (a new version) leaves
every existing data key readable.  One key is the server's own (``owned``): what DynamoDB calls the
AWS owned key, used when a table asks for no SSE.  ``alias/aws/dynamodb`` (the AWS managed key) is
created on first use; customer keys with :meth:`LocalKeyring.create_key`.

Whoever holds the keyring file can read the data: keep it apart from the data (``--keyring``) or use
KMS when that matters.  Writes to the file are atomic (temporary file, fsync, rename) and serialized
by a lock file; other processes see them on their next miss (the file is re-read when it changed).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import struct
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..core.encryption import DATA_KEY_SIZE, NONCE_SIZE

KEYRING_FILE = "keyring.json"
MANAGED_ALIAS = "alias/aws/dynamodb"
_WRAP_MAGIC = b"KR1"
_VERSION = struct.Struct(">I")


class KeyNotFound(Exception):
    """No such master key: ``kind`` is "Key" or "Alias", ``arn`` what was asked for, as an ARN."""

    def __init__(self, kind: str, arn: str) -> None:
        super().__init__(f"{kind} {arn} is not found")
        self.kind = kind
        self.arn = arn


class KeyDisabled(Exception):
    def __init__(self, arn: str) -> None:
        super().__init__(f"{arn} is disabled")
        self.arn = arn


class KeyUnavailable(Exception):
    """A wrapped data key that this provider cannot unwrap (another keyring, a deleted key...)."""


class KeyProvider(Protocol):
    accept_plaintext: bool  # the data predates encryption: plaintext records are read as they are

    def default_key(self) -> str: ...

    def managed_key(self) -> str: ...

    def describe(self, key_id: str) -> str: ...

    def generate(self, arn: str) -> tuple[bytes, bytes]: ...

    def unwrap(self, arn: str, wrapped: bytes) -> bytes: ...

    def rotate(self, arn: str) -> str: ...

    def rewrap(self, arn: str, wrapped: bytes) -> bytes | None: ...

    def create_key(self, alias: str | None, description: str) -> str: ...

    def list_keys(self) -> list[dict]: ...


def key_arn(region: str, account: str, key_id: str) -> str:
    return f"arn:aws:kms:{region}:{account}:key/{key_id}"


def alias_arn(region: str, account: str, alias: str) -> str:
    return f"arn:aws:kms:{region}:{account}:{alias}"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def new_keyring(owned_id: str, material: bytes, now_ms: int, accept_plaintext: bool = False) -> dict:
    """The content of a new keyring file: one owned master key with one version."""
    return {"format": 1, "accept_plaintext": accept_plaintext, "keys": [
        {"id": owned_id, "owned": True, "aliases": [], "description": "the dynamoray server's own key",
         "created": now_ms, "versions": [{"version": 1, "created": now_ms, "material": _b64(material)}]}]}


def _write_atomically(path: Path, document: dict) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(document, out, indent=1)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class LocalKeyring:
    """Master keys in a JSON file (see the module docstring); thread-safe."""

    def __init__(self, path: str | os.PathLike, region: str = "us-east-1", account: str = "000000000000") -> None:
        self.path = Path(path)
        self.region = region
        self.account = account
        self._lock = threading.RLock()
        self._stamp: tuple[int, int] | None = None
        self._doc: dict = {}
        self._reload()

    @classmethod
    def create(cls, path: str | os.PathLike, region: str = "us-east-1", account: str = "000000000000", *,
               accept_plaintext: bool = False) -> LocalKeyring:
        """Create the keyring file (mode 0600; FileExistsError if there is one)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        document = new_keyring(str(uuid.uuid4()), os.urandom(DATA_KEY_SIZE), _now_ms(), accept_plaintext)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(document, out, indent=1)
            out.flush()
            os.fsync(out.fileno())
        return cls(path, region, account)

    # --- the file --------------------------------------------------------------------------------

    def _reload(self, force: bool = False) -> None:
        with self._lock:
            stat = self.path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
            if force or stamp != self._stamp:
                self._doc = json.loads(self.path.read_text())
                self._stamp = stamp

    @contextmanager
    def _editing(self) -> Iterator[dict]:
        """Read-modify-write the file under an exclusive lock (across processes too)."""
        with self._lock, open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                self._reload(force=True)
                document = json.loads(json.dumps(self._doc))
                yield document
                _write_atomically(self.path, document)
                self._reload(force=True)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    @property
    def accept_plaintext(self) -> bool:
        return bool(self._doc.get("accept_plaintext"))

    def _keys(self) -> list[dict]:
        return self._doc["keys"]

    def _arn(self, entry: dict) -> str:
        return key_arn(self.region, self.account, entry["id"])

    def _find(self, key_id: str) -> dict | None:
        for entry in self._keys():
            if entry["id"] == key_id:
                return entry
        return None

    def _find_alias(self, alias: str) -> dict | None:
        for entry in self._keys():
            if alias in entry.get("aliases", ()):
                return entry
        return None

    def _lookup(self, key_id: str) -> dict:
        """The entry ``key_id`` names: a key id, key ARN, alias name or alias ARN (re-reading once)."""
        for attempt in (0, 1):
            entry, kind, arn = self._resolve(key_id)
            if entry is not None:
                return entry
            if attempt == 0:
                self._reload()
        raise KeyNotFound(kind, arn)

    def _resolve(self, key_id: str) -> tuple[dict | None, str, str]:
        region, account = self.region, self.account
        if key_id.startswith("arn:"):
            parts = key_id.split(":", 5)
            if len(parts) != 6 or parts[2] != "kms":
                return None, "Key", key_id
            region, account, resource = parts[3], parts[4], parts[5]
            if (region, account) != (self.region, self.account):
                return None, "Key" if resource.startswith("key/") else "Alias", key_id
            key_id = resource[len("key/"):] if resource.startswith("key/") else resource
        if key_id.startswith("alias/"):
            return self._find_alias(key_id), "Alias", alias_arn(region, account, key_id)
        return self._find(key_id), "Key", key_arn(region, account, key_id)

    # --- KeyProvider ------------------------------------------------------------------------------

    def default_key(self) -> str:
        for entry in self._keys():
            if entry.get("owned"):
                return self._arn(entry)
        raise KeyUnavailable(f"the keyring {self.path} has no owned key")

    def managed_key(self) -> str:
        """The ARN of ``alias/aws/dynamodb``, made on first use."""
        found = self._find_alias(MANAGED_ALIAS)
        if found is None:
            return self.create_key(MANAGED_ALIAS, "Default key that protects my DynamoDB data when no other key is defined")
        return self._arn(found)

    def describe(self, key_id: str) -> str:
        entry = self._lookup(key_id)
        if entry.get("disabled"):
            raise KeyDisabled(self._arn(entry))
        return self._arn(entry)

    def generate(self, arn: str) -> tuple[bytes, bytes]:
        """A new data key and its wrapped form (wrapped by the master key's newest version)."""
        data_key = os.urandom(DATA_KEY_SIZE)
        return data_key, self._wrap(self._lookup(arn), data_key)

    def _wrap(self, entry: dict, data_key: bytes) -> bytes:
        version, nonce = entry["versions"][-1], os.urandom(NONCE_SIZE)
        head = _WRAP_MAGIC + uuid.UUID(entry["id"]).bytes + _VERSION.pack(version["version"])
        return head + nonce + AESGCM(base64.b64decode(version["material"])).encrypt(nonce, data_key, head)

    def rewrap(self, arn: str, wrapped: bytes) -> bytes | None:
        """``wrapped`` wrapped again by the newest version of its key, or None if it already is."""
        data_key = self.unwrap(arn, wrapped)
        entry = self._find(str(uuid.UUID(bytes=wrapped[3:19])))
        (number,) = _VERSION.unpack_from(wrapped, 19)
        if entry is None or entry["versions"][-1]["version"] == number:
            return None
        return self._wrap(entry, data_key)

    def unwrap(self, arn: str, wrapped: bytes) -> bytes:
        if wrapped[:3] != _WRAP_MAGIC or len(wrapped) < 23 + NONCE_SIZE:
            raise KeyUnavailable("not a data key wrapped by a dynamoray keyring")
        key_id = str(uuid.UUID(bytes=wrapped[3:19]))
        (number,) = _VERSION.unpack_from(wrapped, 19)
        material = self._material(key_id, number)
        head, nonce = wrapped[:23], wrapped[23:23 + NONCE_SIZE]
        try:
            return AESGCM(material).decrypt(nonce, wrapped[23 + NONCE_SIZE:], head)
        except InvalidTag:
            raise KeyUnavailable(f"version {number} of key {key_id} in {self.path} does not unwrap this "
                                 "data key (a different keyring?)") from None

    def _material(self, key_id: str, number: int) -> bytes:
        for attempt in (0, 1):
            entry = self._find(key_id)
            for version in (entry or {}).get("versions", ()):
                if version["version"] == number:
                    return base64.b64decode(version["material"])
            if attempt == 0:
                self._reload()
        raise KeyUnavailable(f"the keyring {self.path} has no version {number} of key {key_id} "
                             "(a different or older keyring?)")

    def rotate(self, arn: str) -> str:
        """Add a new version of the key's material; returns its number (as text)."""
        key_id = self._lookup(arn)["id"]
        with self._editing() as document:
            entry = next(e for e in document["keys"] if e["id"] == key_id)
            number = entry["versions"][-1]["version"] + 1
            entry["versions"].append({"version": number, "created": _now_ms(),
                                      "material": _b64(os.urandom(DATA_KEY_SIZE))})
        return str(number)

    def create_key(self, alias: str | None, description: str) -> str:
        """A new customer master key (with ``alias``, which must be new); returns its ARN."""
        key_id, now = str(uuid.uuid4()), _now_ms()
        with self._editing() as document:
            if alias is not None and any(alias in e.get("aliases", ()) for e in document["keys"]):
                raise ValueError(f"the alias {alias} already exists")
            document["keys"].append({
                "id": key_id, "owned": False, "aliases": [alias] if alias else [], "description": description,
                "created": now, "versions": [{"version": 1, "created": now, "material": _b64(os.urandom(DATA_KEY_SIZE))}],
            })
        return key_arn(self.region, self.account, key_id)

    def list_keys(self) -> list[dict]:
        self._reload()
        return [{"KeyId": e["id"], "KeyArn": self._arn(e), "Aliases": list(e.get("aliases", ())),
                 "Description": e.get("description", ""), "Owned": bool(e.get("owned")),
                 "CreationDate": e["created"], "Versions": len(e["versions"])} for e in self._keys()]

    def __repr__(self) -> str:  # never the material
        return f"LocalKeyring({str(self.path)!r})"
