"""The server's keys: which key seals what, in every process (``KeyManager``), and their setup.

One :class:`KeyManager` per process and configuration (:func:`keys_for`): the gateway, the catalog
actor, every partition host, the coordinator.  It implements the record and file key interfaces of
``events/encryption.py`` over a key provider (``events/keyring.py``, ``events/kms.py``) and two topics
of the plain log it is given:

- ``dynamoray.keys``: the wrapped data keys (``DataKeyCreated``), folded by ``core.encryption``;
  each master key's newest data key seals new records.  Any process may add one (a rotation, a
  table's first customer key); the others learn it on their next refresh.
- ``dynamoray.catalog``: the table descriptions, read for one thing: a table whose SSEDescription
  names a KMS key has its topic and snapshots sealed under that key; every other topic (and every
  other table) is sealed under the server's own key.

A refresh folds what is new in both topics.  It happens at most every :data:`REFRESH_EVERY`
seconds on the write path, always before a writer's first append to a table's topic (so a new
table's first record already takes its key), and whenever a record names a data key not seen yet.  So after a rotation or
an UpdateTable that changes the key, every process seals under the new key within a second, with no
restart; old records keep naming their own data keys and stay readable.

A KeyManager pickles as "the KeyManager of this configuration in the receiving process", so the log
factories and snapshot stores that carry one to a Ray actor carry no key material.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any, Callable

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .. import logs
from ..core import encryption as sealed
from ..events.codec import CodecError, EventCodec
from ..events.encryption import KEYS_TOPIC, DecryptionError, EncryptedLog, FileCipher, KeyInaccessible, Sealer
from ..events.keyring import KeyProvider, KeyUnavailable
from ..events.log import EventLog, FencedError, TopicExistsError, UnknownTopicError
from ..schemas.events import DataKeyCreated, TableCreated, TableDeleted, TableUpdated
from .key_config import EncryptionConfig  # also re-exported: callers import it from here
from .key_files import reencrypt_files  # noqa: F401 - re-exported (admin_keys)

log = logs.get("keys")

CATALOG_TOPIC = "dynamoray.catalog"
TABLE_PREFIX = "dynamoray.table."
REFRESH_EVERY = 1.0  # seconds between refreshes on the write path
_READ = 1000
_PLAIN = EventCodec()


_MANAGERS: dict[str, KeyManager] = {}
_MANAGERS_LOCK = threading.Lock()


def keys_for(config: EncryptionConfig, log_: EventLog | None = None, provider: KeyProvider | None = None,
             *, owns_log: bool = False) -> KeyManager:
    """This process's KeyManager of ``config``, made on first use over ``log_`` (closed with it
    when ``owns_log``) or over a log of its own from ``config.log_factory``."""
    with _MANAGERS_LOCK:
        found = _MANAGERS.get(config.token)
        if found is None:
            owns = log_ is None or owns_log
            log_ = config.log_factory() if log_ is None else log_
            found = _MANAGERS[config.token] = KeyManager(config, provider or config.provider(), log_, owns_log=owns)
        elif config.log_factory is not None and found.config.log_factory is None:
            found.config = config  # the same keys, now able to travel to other processes
        return found


def forget(config: EncryptionConfig) -> None:
    """Drop (and close) this process's KeyManager of ``config``."""
    with _MANAGERS_LOCK:
        found = _MANAGERS.pop(config.token, None)
    if found is not None:
        found.close()


def table_of(topic: str) -> str | None:
    return topic[len(TABLE_PREFIX):].split(".", 1)[0] if topic.startswith(TABLE_PREFIX) else None


class KeyManager:
    """Record and file keys of one process (see the module docstring); thread-safe."""

    def __init__(self, config: EncryptionConfig, provider: KeyProvider, log_: EventLog, *, owns_log: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.provider = provider
        self._log = log_
        self._view = EncryptedLog(log_, self)  # the catalog, read through ourselves
        self._owns_log = owns_log
        self._clock = clock
        self._lock = threading.RLock()
        self._keys = sealed.DataKeys()
        self._tables: dict[str, str] = {}  # table id -> master key ARN (tables with SSE only)
        self._names: dict[str, str] = {}  # table name -> table id (tables with SSE only)
        self._health: Any = None  # actors/key_health.KeyHealth, made on first use
        self._catalog_offset = 0
        self._refreshed = float("-inf")
        self._default: str | None = None
        self._data_keys: dict[str, bytes] = {}  # data key id -> plaintext
        self._openers: dict[tuple[bytes, bytes], AESGCM] = {}
        self._sealers: dict[str, Sealer] = {}  # master key ARN -> this process's record key
        self._by_topic: dict[str, tuple[Sealer, int]] = {}  # topic -> its sealer, as of ``_version``
        self._version = 0  # bumped whenever a fold changes which key a topic takes
        self._file_keys: dict[bytes, bytes] = {}  # wrapped -> plaintext

    def __reduce__(self) -> tuple:
        return keys_for, (self.config,)

    @property
    def accept_plaintext(self) -> bool:
        return self.provider.accept_plaintext

    def default_key(self) -> str:
        if self._default is None:
            self._default = self.provider.default_key()
        return self._default

    # --- what the topics say -----------------------------------------------------------------------

    def refresh(self, force: bool = False) -> None:
        if not force and self._clock() - self._refreshed < REFRESH_EVERY:
            return
        with self._lock:
            self._refreshed = self._clock()
            self._fold_keys()
            self._fold_catalog()

    def _fold_keys(self) -> None:
        with self._lock:
            state = self._keys
            while True:
                try:
                    batch = self._log.read(KEYS_TOPIC, 0, state.offset, _READ)
                except UnknownTopicError:
                    break
                for record in batch:
                    state = sealed.evolve(state, _PLAIN.decode(record.value), record.offset)
                if not batch:
                    break
            if state.active != self._keys.active:
                self._version += 1
            self._keys = state

    def _fold_catalog(self) -> None:
        while True:
            try:
                batch = self._view.read(CATALOG_TOPIC, 0, self._catalog_offset, _READ)
            except UnknownTopicError:
                return
            if not batch:
                return
            for record in batch:
                self._fold_table(record.value)
            self._catalog_offset = batch[-1].offset + 1

    def _fold_table(self, value: bytes) -> None:
        try:
            event = _PLAIN.decode(value)
        except CodecError as error:
            log.warning("catalog_record_skipped", error=str(error))
            return
        if isinstance(event, (TableCreated, TableUpdated)):
            arn = (event.description.get("SSEDescription") or {}).get("KMSMasterKeyArn")
            if arn != self._tables.get(event.table_id):
                self._version += 1
            if arn:
                self._tables[event.table_id] = arn
                self._names[event.table_name] = event.table_id
            else:
                self._tables.pop(event.table_id, None)
        elif isinstance(event, TableDeleted) and self._tables.pop(event.table_id, None) is not None:
            self._version += 1
            if self._names.get(event.table_name) == event.table_id:
                del self._names[event.table_name]

    def master_of_table(self, table_id: str | None) -> str:
        return (self._tables.get(table_id) if table_id else None) or self.default_key()

    def master_of_name(self, table: str) -> str | None:
        """The master key of the table named ``table`` when it has one of its own (SSE), else None."""
        table_id = self._names.get(table)
        return self._tables.get(table_id) if table_id is not None else None

    def table_masters(self) -> list[str]:
        return list(self._tables.values())

    @property
    def health(self) -> Any:
        """Whether the tables' master keys are still usable (actors/key_health.py), checked on a
        thread of its own once started."""
        if self._health is None:
            from .key_health import KeyHealth

            self._health = KeyHealth(self)
        return self._health

    def data_keys(self) -> sealed.DataKeys:
        self.refresh(force=True)
        return self._keys

    # --- record keys (events.encryption.RecordKeys) ----------------------------------------------

    def prepare(self, topic: str) -> None:
        """Before a writer's first append: learn the table's key (it may be new)."""
        if table_of(topic) is not None:
            self.refresh(force=True)

    def sealer(self, topic: str) -> Sealer:
        if self._clock() - self._refreshed >= REFRESH_EVERY:
            self.refresh()
        cached = self._by_topic.get(topic)  # (sealer, the state it was chosen in)
        if cached is not None and cached[1] == self._version and cached[0].count < sealed.RECORDS_PER_SALT:
            return cached[0]
        master = self.master_of_table(table_of(topic))
        with self._lock:
            version = self._version
            found = self._sealers.get(master)
            active = self._keys.active.get(master)
            if found is None or found.count >= sealed.RECORDS_PER_SALT or active != found.key_id.hex():
                key_id = active or self._create_data_key(master)
                salt = os.urandom(sealed.SALT_SIZE)
                aead = AESGCM(sealed.derive_record_key(self._data_key(key_id), salt))
                found = self._sealers[master] = Sealer(bytes.fromhex(key_id), salt, aead)
            self._by_topic[topic] = (found, version)
            return found

    def opener(self, key_id: bytes, salt: bytes) -> AESGCM:
        found = self._openers.get((key_id, salt))
        if found is None:
            text = key_id.hex()
            if text not in self._keys.keys:
                self._fold_keys()
            if text not in self._keys.keys:
                raise DecryptionError(f"sealed under data key {text}, which is not in {KEYS_TOPIC}")
            found = AESGCM(sealed.derive_record_key(self._data_key(text), salt))
            self._openers[(key_id, salt)] = found
        return found

    def _data_key(self, key_id: str) -> bytes:
        found = self._data_keys.get(key_id)
        if found is None:
            entry = self._keys.keys[key_id]
            try:
                found = self.provider.unwrap(entry.master_key, entry.wrapped)
            except KeyUnavailable as error:
                raise self._inaccessible(f"data key {key_id} of {entry.master_key} cannot be unwrapped: {error}",
                                         entry.master_key, error) from None
            if self._health is not None:  # a key refused at start (or since) is usable again
                self._health.accessible(entry.master_key)
            self._data_keys[key_id] = found
        return found

    def _inaccessible(self, message: str, master: str, error: Exception) -> KeyInaccessible:
        """The error for data under ``master`` that the provider refused to unwrap; the key is
        noted unusable at once (KeyHealth: the tables naming it are
        INACCESSIBLE_ENCRYPTION_CREDENTIALS), before any periodic check, and even before this
        process has read which tables name it (at start)."""
        from .key_health import kms_code

        code = kms_code(error)
        self.health.refused(master, code)
        return KeyInaccessible(message, master, code)

    # --- file keys (events.encryption.FileKeys) ---------------------------------------------------

    def new_file_key(self, table_id: str | None) -> tuple[str, bytes, bytes]:
        if table_id is not None:
            # files are rare: a table not known to have a key of its own may be one created (or
            # changed) since the last refresh, so look before choosing the server's key for it
            self.refresh(force=table_id not in self._tables)
        master = self.master_of_table(table_id)
        data_key, wrapped = self.provider.generate(master)
        return master, data_key, wrapped

    def file_key(self, master_key: str, wrapped: bytes) -> bytes:
        found = self._file_keys.get(wrapped)
        if found is None:
            try:
                found = self.provider.unwrap(master_key, wrapped)
            except KeyUnavailable as error:
                raise self._inaccessible(f"the file's data key of {master_key} cannot be unwrapped: {error}",
                                         master_key, error) from None
            if len(self._file_keys) >= 4096:  # one per file read: keep the cache bounded
                self._file_keys.clear()
            self._file_keys[wrapped] = found
        return found

    def rewrapped(self, master_key: str, wrapped: bytes) -> tuple[str, bytes] | None:
        new = self.provider.rewrap(master_key, wrapped)
        return None if new is None else (master_key, new)

    def file_cipher(self) -> FileCipher:
        return FileCipher(self)

    # --- control (the gateway) -------------------------------------------------------------------

    def _create_data_key(self, master: str) -> str:
        """A new data key of ``master``, recorded in the keys topic (then the active one)."""
        data_key, wrapped = self.provider.generate(master)
        key_id = os.urandom(sealed.KEY_ID_SIZE).hex()
        self._append(DataKeyCreated(key_id, master, wrapped, time.time_ns() // 1_000_000))
        self._data_keys[key_id] = data_key
        self._fold_keys()
        log.info("data_key_created", key_id=key_id, master_key=master)
        return key_id

    def _append(self, event: DataKeyCreated) -> None:
        value = _PLAIN.encode(event)
        try:
            self._log.create_topic(KEYS_TOPIC, 1)
        except TopicExistsError:
            pass
        for attempt in range(10):  # writers of other processes may fence ours: open again
            writer = self._log.open_writer(KEYS_TOPIC, 0)
            try:
                writer.append([value])
                return
            except FencedError:
                time.sleep(0.01 * (attempt + 1))
            finally:
                writer.close()
        raise KeyUnavailable(f"could not record a new data key in {KEYS_TOPIC}")

    def ensure_data_key(self, master: str | None = None) -> str:
        """The active data key of ``master`` (the server's own key by default), made if none."""
        master = master or self.default_key()
        with self._lock:
            self._fold_keys()
            return self._keys.active.get(master) or self._create_data_key(master)

    def resolve(self, key_id: str) -> str:
        """The ARN of a master key named by id, ARN, alias or alias ARN (KeyNotFound, KeyDisabled)."""
        return self.provider.describe(key_id)

    def rotate(self, key_id: str | None = None) -> dict:
        """A new version of a master key (the server's own by default) and a new data key under it:
        new records are sealed with it from now on (in every process within a second)."""
        master = self.resolve(key_id) if key_id else self.default_key()
        version = self.provider.rotate(master)
        with self._lock:
            data_key = self._create_data_key(master)
        return {"KeyArn": master, "Version": version, "DataKeyId": data_key}

    def check(self) -> int:
        """Unwrap every data key of the keys topic (DecryptionError at the first that fails)."""
        state = self.data_keys()
        for key_id in state.keys:
            self._data_key(key_id)
        return len(state.keys)

    def describe_keys(self) -> list[dict]:
        state = self.data_keys()
        out = []
        for key in self.provider.list_keys():
            ids = [k.key_id for k in state.keys.values() if k.master_key == key["KeyArn"]]
            out.append({**key, "DataKeys": ids, "ActiveDataKey": state.active.get(key["KeyArn"])})
        return out

    def close(self) -> None:
        if self._health is not None:
            self._health.stop()
        if self._owns_log:
            self._log.close()


# --- the encrypted log, as a picklable factory ---------------------------------------------------


class EncryptedLogAt:
    """A picklable log factory: the plain log of ``config.log_factory``, encrypted."""

    def __init__(self, config: EncryptionConfig) -> None:
        self.config = config

    def __reduce__(self) -> tuple:
        return EncryptedLogAt, (self.config,)

    def __call__(self) -> EventLog:
        return EncryptedLog(self.config.log_factory(), keys_for(self.config))

    def plain(self) -> Callable[[], EventLog]:
        return self.config.log_factory
