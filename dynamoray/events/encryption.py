"""Encryption at rest, the I/O part: an encrypting event log, and sealed files.

- :class:`EncryptedLog` wraps any :class:`~dynamoray.events.log.EventLog`: every record appended
  through it is sealed (``core.encryption.seal_record``) before it reaches the backend, and every
  record read is opened again.  Every topic goes through it (tables, catalog, IAM with its access-key
  secrets, transactions, backups catalog...), except :data:`KEYS_TOPIC`, which holds only wrapped
  data keys.  Offsets, timestamps, fencing and retention are the backend's, untouched.
- :class:`FileCipher` seals and opens whole files (snapshots, backups) under a table's master key,
  streaming, each file with its own data key; :class:`EncryptedFiles` wraps a backup-file store.

Which key seals what is the business of a :class:`RecordKeys`/:class:`FileKeys` object
(``actors/keys.py`` has the one the server uses).  A record or file that does not decrypt raises
:class:`DecryptionError`, loudly: data is never silently skipped or read wrong.  A plaintext record
or file is read as it is only when the keys say the data predates encryption (``accept_plaintext``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..core import encryption as sealed
from .log import DEFAULT_MAX_RECORDS, Done, EventLog, PartitionWriter, Record

KEYS_TOPIC = "dynamoray.keys"  # wrapped data keys: the one topic stored as it is


class DecryptionError(sealed.EncryptionError):
    """Stored data that this server cannot decrypt (wrong or missing key, tampering)."""


class KeyInaccessible(DecryptionError):
    """Data sealed under a master key the key provider refuses to use now (disabled, pending
    deletion, access denied...): the data is intact, its key is not usable.  ``master_key`` names
    the key, ``code`` why (KMS's error code)."""

    def __init__(self, message: str, master_key: str, code: str) -> None:
        super().__init__(message)
        self.master_key = master_key
        self.code = code

    def __reduce__(self) -> tuple:  # across processes (Ray) with its fields
        return KeyInaccessible, (str(self), self.master_key, self.code)


def _located(error: Exception, where: str) -> DecryptionError:
    """``error`` (a failure to open sealed data) told where it happened, keeping its kind."""
    if isinstance(error, KeyInaccessible):
        return KeyInaccessible(f"{where}: {error}", error.master_key, error.code)
    return DecryptionError(f"{where}: {error}")


class Sealer:
    """The record key a writer seals with: a data key id, this writer's salt, and the cipher."""

    __slots__ = ("key_id", "salt", "aead", "count")

    def __init__(self, key_id: bytes, salt: bytes, aead: AESGCM) -> None:
        self.key_id, self.salt, self.aead, self.count = key_id, salt, aead, 0


class RecordKeys(Protocol):
    accept_plaintext: bool

    def prepare(self, topic: str) -> None:
        """A writer of ``topic`` is about to append for the first time: learn which key its records
        take (a writer may open before its table is known, its first append never is)."""

    def sealer(self, topic: str) -> Sealer: ...

    def opener(self, key_id: bytes, salt: bytes) -> AESGCM: ...


class FileKeys(Protocol):
    accept_plaintext: bool

    def new_file_key(self, table_id: str | None) -> tuple[str, bytes, bytes]:
        """(master key ARN, data key, wrapped data key) for a new file of ``table_id``."""

    def file_key(self, master_key: str, wrapped: bytes) -> bytes: ...

    def rewrapped(self, master_key: str, wrapped: bytes) -> tuple[str, bytes] | None:
        """The data key wrapped again by the master key's newest version (None if already)."""


def _plaintext_refused(what: str) -> DecryptionError:
    return DecryptionError(f"{what} is not encrypted, and this server only reads encrypted data "
                           "(a data directory written before encryption needs its keyring made with "
                           "accept_plaintext; see docs/security.md)")


# --- the log -------------------------------------------------------------------------------------


class EncryptedLog(EventLog):
    """An :class:`EventLog` whose records are sealed at rest (see the module docstring)."""

    def __init__(self, inner: EventLog, keys: RecordKeys) -> None:
        self.inner = inner
        self.keys = keys
        self._openers: dict[bytes, AESGCM] = {}  # a sealed record's first 21 bytes -> its record key

    def seal(self, topic: str, partition: int, values: Sequence[bytes]) -> list[bytes]:
        if topic == KEYS_TOPIC:
            return list(values)
        sealer = self.keys.sealer(topic)
        context = sealed.record_context(topic, partition)
        aead, key_id, salt = sealer.aead, sealer.key_id, sealer.salt
        sealer.count += len(values)
        size = sealed.NONCE_SIZE  # one random draw (one syscall) for the batch's nonces
        nonces = os.urandom(size * len(values))
        return [sealed.seal_record(aead, key_id, salt, nonces[i * size:(i + 1) * size], v, context)
                for i, v in enumerate(values)]

    def open(self, topic: str, partition: int, records: list[Record]) -> list[Record]:
        if topic == KEYS_TOPIC or not records:
            return records
        context = sealed.record_context(topic, partition)
        openers, head = self._openers, sealed.RECORD_HEADER
        out = []
        for record in records:
            value = record.value
            if len(value) >= sealed.RECORD_OVERHEAD and value[0] == sealed.RECORD_MAGIC:
                try:
                    aead = openers.get(value[:head])
                    if aead is None:  # a record key not met yet: ask the keys (cached here after)
                        aead = openers[value[:head]] = self.keys.opener(*sealed.record_key_ref(value))
                    value = sealed.open_record(aead, value, context)
                except sealed.EncryptionError as error:
                    raise _located(error, f"record {record.offset} of {topic}/{partition}") from None
            elif not self.keys.accept_plaintext:
                raise _plaintext_refused(f"record {record.offset} of {topic}/{partition}")
            out.append(Record(record.offset, record.timestamp, value))
        return out

    # --- EventLog ------------------------------------------------------------------------------

    def open_writer(self, topic: str, partition: int) -> PartitionWriter:
        return EncryptedWriter(self.inner.open_writer(topic, partition), self)

    def read(self, topic: str, partition: int, offset: int, max_records: int = DEFAULT_MAX_RECORDS) -> list[Record]:
        return self.open(topic, partition, self.inner.read(topic, partition, offset, max_records))

    def tail(self, topic: str, partition: int, offset: int, timeout: float,
             max_records: int = DEFAULT_MAX_RECORDS) -> list[Record]:
        return self.open(topic, partition, self.inner.tail(topic, partition, offset, timeout, max_records))

    def create_topic(self, topic: str, partitions: int) -> None:
        self.inner.create_topic(topic, partitions)

    def delete_topic(self, topic: str) -> None:
        self.inner.delete_topic(topic)

    def partition_count(self, topic: str) -> int:
        return self.inner.partition_count(topic)

    def start_offset(self, topic: str, partition: int) -> int:
        return self.inner.start_offset(topic, partition)

    def end_offset(self, topic: str, partition: int) -> int:
        return self.inner.end_offset(topic, partition)

    def offset_for_time(self, topic: str, partition: int, timestamp: int) -> int:
        return self.inner.offset_for_time(topic, partition, timestamp)

    def truncate_before(self, topic: str, partition: int, offset: int) -> None:
        self.inner.truncate_before(topic, partition, offset)

    def release_topic(self, topic: str) -> None:
        self.inner.release_topic(topic)

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, name: str) -> Any:  # a backend's extras (e.g. Kafka's) stay reachable
        return getattr(self.__dict__["inner"], name)


class EncryptedWriter(PartitionWriter):
    """A partition writer that seals what it appends."""

    def __init__(self, inner: PartitionWriter, log: EncryptedLog) -> None:
        self.inner = inner
        self._log = log
        self._prepared = inner.topic == KEYS_TOPIC

    def _seal(self, values: Sequence[bytes]) -> list[bytes]:
        if not self._prepared:
            self._log.keys.prepare(self.inner.topic)
            self._prepared = True
        return self._log.seal(self.inner.topic, self.inner.partition, values)

    @property
    def topic(self) -> str:  # type: ignore[override]
        return self.inner.topic

    @property
    def partition(self) -> int:  # type: ignore[override]
        return self.inner.partition

    @property
    def epoch(self) -> int:  # type: ignore[override]
        return self.inner.epoch

    def append(self, values: Sequence[bytes]) -> list[int]:
        return self.inner.append(self._seal(values))

    def append_now(self, values: Sequence[bytes]) -> list[int] | None:
        return self.inner.append_now(self._seal(values))  # sealed like every append (never delegated bare)

    def submit(self, values: Sequence[bytes], done: Done) -> None:
        try:
            values = self._seal(values)
        except BaseException as error:  # noqa: BLE001 - reported like a failed append
            done(None, error)
            return
        self.inner.submit(values, done)

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["inner"], name)


# --- files ---------------------------------------------------------------------------------------


class FileCipher:
    """Seals and opens files (snapshots, backups); picklable when its keys are."""

    def __init__(self, keys: FileKeys) -> None:
        self.keys = keys

    def __reduce__(self) -> tuple:
        return FileCipher, (self.keys,)

    def seal(self, chunks: Iterable[bytes], context: str, table_id: str | None = None) -> Iterator[bytes]:
        master, data_key, wrapped = self.keys.new_file_key(table_id)
        prefix = os.urandom(sealed.PREFIX_SIZE)
        yield sealed.file_header(master, wrapped, prefix)
        yield from sealed.seal_frames(data_key, prefix, context.encode(), chunks)

    def open(self, data: bytes, context: str) -> bytes:
        if not sealed.is_sealed_file(data):
            if self.keys.accept_plaintext:
                return data
            raise _plaintext_refused(f"the file {context}")
        try:
            header = sealed.parse_file_header(data)
            data_key = self.keys.file_key(header.master_key, header.wrapped)
            return sealed.open_frames(data_key, header, data, context.encode())
        except sealed.EncryptionError as error:
            raise _located(error, f"the file {context}") from None

    def rewrap(self, data: bytes) -> bytes | None:
        """The file with its data key wrapped by its master key's newest version, or None when
        that is already so (or the file is not sealed)."""
        if not sealed.is_sealed_file(data):
            return None
        header = sealed.parse_file_header(data)
        found = self.keys.rewrapped(header.master_key, header.wrapped)
        return None if found is None else sealed.rewrap_file(data, *found)


def _table_of(first_chunk: bytes) -> str | None:
    """The table id in a snapshot-format header line (backup files are in that format)."""
    try:
        found = orjson.loads(first_chunk.split(b"\n", 1)[0]).get("table_id")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return found if isinstance(found, str) else None


class EncryptedFiles:
    """A backup-file store (``write(name, chunks)``/``read``/``delete``) whose files are sealed
    under their table's key."""

    def __init__(self, inner: Any, cipher: FileCipher) -> None:
        self.inner = inner
        self.cipher = cipher

    def write(self, name: str, chunks: Iterable[bytes]) -> str:
        chunks = iter(chunks)
        first = next(chunks, b"")

        def everything() -> Iterator[bytes]:
            yield first
            yield from chunks

        return self.inner.write(name, self.cipher.seal(everything(), f"backup:{name}", _table_of(first)))

    def read(self, name: str) -> bytes:
        return self.cipher.open(self.inner.read(name), f"backup:{name}")

    def delete(self, name: str) -> None:
        self.inner.delete(name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["inner"], name)
