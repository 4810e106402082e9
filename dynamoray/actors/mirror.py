"""Global tables on Kafka: the replicated changes go topic to topic, from the source region's log
into a replication topic on the target region's own Kafka cluster.

When both regions of a pair list ``kafka_bootstrap`` in the regions file, a
:class:`~.replicator.Replicator` hands each batch of its table's local changes (the same body as
``ApplyChanges``) to a :class:`MirrorSender`, which appends it to the topic
``dynamoray.replication.from.<source region>`` (one partition, so each source's batches stay in
order) on the *target's* cluster; the replicator's checkpoint moves once the target's brokers
acknowledged the append, so it resumes where it was after any restart.  The target region runs a
:class:`MirrorFollower`: it tails that topic of each other region in its own cluster, applies every
batch through its write path as last-writer-wins replicated writes (so a batch applied twice
changes nothing), and keeps its own checkpoint of the next offset per source, moved after each
batch is applied.  Control calls (joining or leaving a replica group, settings) still go through
the replication endpoint.

Records on the replication topic are encrypted at rest like every other topic, under a key only
the target and the regions that replicate to it hold: AES-256-GCM with a key derived (HKDF-SHA256)
from the target region's root secret in the regions file, with the topic as associated data.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Awaitable, Callable

import orjson
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .. import logs
from ..events.log import EventLog, LogError, TopicExistsError, TruncatedError, UnknownTopicError
from .background import BackgroundLoop

log = logs.get("mirror")

TOPIC_PREFIX = "dynamoray.replication.from."
MAGIC = b"DRM1"
READ_BATCH = 100
IDLE = 0.05
MAX_BACKOFF = 5.0


def mirror_topic(source_region: str) -> str:
    return TOPIC_PREFIX + source_region


class MirrorCipher:
    """Seals and opens the records of one replication topic (see the module docstring)."""

    def __init__(self, secret: str, topic: str) -> None:
        key = HKDF(hashes.SHA256(), 32, b"dynamoray-replication", topic.encode()).derive(secret.encode())
        self._aead, self._aad = AESGCM(key), topic.encode()

    def seal(self, body: dict) -> bytes:
        nonce = os.urandom(12)
        return MAGIC + nonce + self._aead.encrypt(nonce, orjson.dumps(body), self._aad)

    def open(self, value: bytes) -> dict:
        if not value.startswith(MAGIC):
            raise ValueError("not a replication record")
        nonce, sealed = value[len(MAGIC):len(MAGIC) + 12], value[len(MAGIC) + 12:]
        return orjson.loads(self._aead.decrypt(nonce, sealed, self._aad))


def ensure_topic(log_: EventLog, topic: str) -> None:
    try:
        log_.partition_count(topic)
    except UnknownTopicError:
        try:
            log_.create_topic(topic, 1)
        except TopicExistsError:
            pass


class MirrorSender:
    """Appends a source region's batches to the replication topic in a target's cluster."""

    def __init__(self, target_log: EventLog, source_region: str, target_secret: str) -> None:
        self._log = target_log
        self.topic = mirror_topic(source_region)
        self._cipher = MirrorCipher(target_secret, self.topic)
        self._writer: Any = None
        self._lock = asyncio.Lock()

    def _append(self, value: bytes) -> int:
        if self._writer is None:
            ensure_topic(self._log, self.topic)
            self._writer = self._log.open_writer(self.topic, 0)
        try:
            return self._writer.append([value])[0]
        except LogError:
            self._writer, writer = None, self._writer
            writer.close()
            raise

    async def send(self, body: dict) -> dict:
        """Durable in the target's cluster once this returns (the replicator's acknowledgement)."""
        value = self._cipher.seal(body)
        async with self._lock:  # one append at a time: batches stay in order
            offset = await asyncio.to_thread(self._append, value)
        return {"Mirrored": offset, "Received": len(body.get("Changes") or ())}

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._log.close()


Apply = Callable[[dict], Awaitable[Any]]


class MirrorFollower(BackgroundLoop):
    """Tails each source region's replication topic in this region's cluster and applies it."""

    def __init__(self, log_: EventLog, local_region: str, secret: str, sources: list[str], checkpoints: Any,
                 apply: Apply, *, idle: float = IDLE, max_backoff: float = MAX_BACKOFF) -> None:
        self._log = log_
        self.local_region = local_region
        self._sources = sorted(sources)
        self._ciphers = {s: MirrorCipher(secret, mirror_topic(s)) for s in self._sources}
        self._checkpoints = checkpoints
        self._apply = apply
        self._idle, self._max_backoff = idle, max_backoff
        self.applied = 0  # batches applied since start
        self._ensured: set[str] = set()  # sources whose topic is known to exist
        self._task: asyncio.Task | None = None

    def _next(self, source: str) -> int:
        found = self._checkpoints.load("mirror", source)
        return found.get(0, 0) if found else 0

    def _read(self, source: str, offset: int) -> list:
        """Blocking: the next records of the source's topic, waiting up to ``idle`` seconds for one
        (a long poll: a batch appended meanwhile is returned at once)."""
        topic = mirror_topic(source)
        if source not in self._ensured:
            ensure_topic(self._log, topic)
            self._ensured.add(source)
        try:
            return self._log.tail(topic, 0, offset, self._idle, READ_BATCH)
        except TruncatedError:  # older than the topic's retention: from its start
            return self._log.read(topic, 0, self._log.start_offset(topic, 0), READ_BATCH)

    async def _run(self) -> None:
        offsets = {s: await asyncio.to_thread(self._next, s) for s in self._sources}
        backoff = self._idle
        while True:
            moved = False
            try:
                for source in self._sources:
                    for record in await asyncio.to_thread(self._read, source, offsets[source]):
                        await self._apply(self._ciphers[source].open(record.value))
                        offsets[source] = record.offset + 1
                        self.applied += 1
                        moved = True
                        await asyncio.to_thread(self._checkpoints.save, "mirror", source, {0: offsets[source]})
                backoff = self._idle
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - the cluster or the table is unavailable: retry
                log.warning("mirror_apply_failed", region=self.local_region, error=repr(error))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            if not moved and not self._sources:
                await asyncio.sleep(self._idle)  # (each read above waited up to ``idle`` for a record)

    def close(self) -> None:
        self._log.close()
