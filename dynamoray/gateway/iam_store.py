"""The IAM store's I/O shell: principals, keys and policies event-sourced on topic ``dynamoray.iam``.

The gateway process owns it (it is small and read on every request), for both engines: its topic
lives in the engine's log (``engine.stream_log()``, the embedded log under the data directory, or
an in-memory log for tests).  :meth:`IamStore.open` replays the topic into a
:class:`~dynamoray.core.principals.IamState`, becomes the topic's writer and registers every
access key with the :class:`~.auth.Authenticator`.  :meth:`IamStore.execute` runs a command of
``core.principals`` under a lock: decide against the state, append the events, and fold them in
only once they are durable (then keys are (un)registered and the policy caches dropped).

Several gateway processes (``serve --gateways N``, ``replicas.py``) share the topic: each one
follows it (:meth:`IamStore.catch_up`, every ``follow_interval`` seconds and before every change),
so a user, key or policy made through one process reaches the others within that interval, much
like IAM's own propagation delay.  Each process opens the writer when it changes something; a
writer fenced by another process's is opened again, the state caught up, and the command decided
again (optimistic concurrency: a decision is only appended by the topic's current writer, from
state that holds every record before its epoch).

Ids and secrets are generated here (``secrets``), like AWS's: user ids ``AIDA...``, role ids
``AROA...``, access key ids ``AKIA...`` and 40-character secret keys.  Secrets never reach a log line.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
import string
from typing import Any, Awaitable, Callable

from .. import logs
from ..actors import records
from ..core import errors, iam, principals
from ..core.principals import IamState
from ..events.log import EventLog, FencedError, TopicExistsError, system_clock
from ..schemas.events import AccessKeyCreated, AccessKeyDeleted, PrincipalDeleted
from .auth import Authenticator, Principal

IAM_TOPIC = "dynamoray.iam"
FENCED_RETRIES = 5  # a change fenced this many times in a row (writers of other processes) fails
_ID_CHARS = string.ascii_uppercase + "234567"
log = logs.get("iam")


def random_id(prefix: str, length: int = 16) -> str:
    return prefix + "".join(secrets.choice(_ID_CHARS) for _ in range(length))


def new_secret() -> str:
    return secrets.token_urlsafe(30)[:40]


def user_arn(account_id: str, kind: str, name: str) -> str:
    return f"arn:aws:iam::{account_id}:{kind}/{name}"


def caller_arn(account_id: str, record: principals.Principal) -> str:
    """The ARN a principal's requests are made as: the user, or a session of the role."""
    if record.kind == principals.ROLE:
        return f"arn:aws:sts::{account_id}:assumed-role/{record.name}/{record.name}"
    return record.arn


@functools.lru_cache(maxsize=2048)
def compile_policy(document: str, resource_policy: bool = False) -> iam.Policy:
    """A stored document, parsed once (documents were validated when they were stored)."""
    return iam.parse_policy(document, resource_policy=resource_policy)


class IamStore:
    def __init__(self, authenticator: Authenticator, account_id: str,
                 log_source: Callable[[], Awaitable[EventLog]], clock: Callable[[], int] = system_clock) -> None:
        self.authenticator = authenticator
        self.account_id = account_id
        self._log_source = log_source
        self.clock = clock
        self.state = IamState()
        self._log: EventLog | None = None
        self._writer = None
        self._lock = asyncio.Lock()
        self._identity_cache: dict[str, tuple[iam.Policy, ...]] = {}
        self.follow_interval: float | None = None  # seconds between catch-ups (gateway replicas); None: never
        self._next = 0  # the offset of the next record to fold
        self._following: asyncio.Task | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    async def open(self) -> None:
        """Replay the topic, become its writer and register every access key."""
        self._log = await self._log_source()
        self.state = await asyncio.to_thread(self._replay)
        for key in self.state.keys.values():
            self._register(key)
        log.info("iam_opened", principals=len(self.state.principals), keys=len(self.state.keys))
        if self.follow_interval is not None:
            self._following = asyncio.get_running_loop().create_task(self._follow(), name="iam-follow")

    def _replay(self) -> IamState:
        try:
            self._log.create_topic(IAM_TOPIC, 1)
        except TopicExistsError:
            pass
        self._writer = self._log.open_writer(IAM_TOPIC, 0)
        state = IamState()
        for offset, value in records.read_all_with_offsets(self._log, IAM_TOPIC):
            state = principals.evolve(state, records.decode_catalog(value))
            self._next = offset + 1
        return state

    def _read_new(self) -> list[tuple[int, Any]]:
        """The records after the last one folded (blocking: on a worker thread)."""
        found, offset = [], max(self._next, self._log.start_offset(IAM_TOPIC, 0))
        while True:
            batch = self._log.read(IAM_TOPIC, 0, offset, 1000)
            if not batch:
                return found
            found.extend((record.offset, records.decode_catalog(record.value)) for record in batch)
            offset = batch[-1].offset + 1

    async def catch_up(self) -> int:
        """Fold the records other processes appended since the last catch-up; how many there were."""
        async with self._lock:  # never while a change of ours is between its append and its fold
            return await self._catch_up()

    async def _catch_up(self) -> int:
        if self._log is None:
            return 0
        new = await asyncio.to_thread(self._read_new)
        for offset, event in new:
            if offset >= self._next:  # (a concurrent catch-up may have folded it)
                self._apply(event)
                self._next = offset + 1
        return len(new)

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(self.follow_interval)
            try:
                await self.catch_up()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the log may be briefly unavailable: try again next round
                log.exception("iam_follow_failed")

    async def close(self) -> None:
        if self._following is not None:
            self._following.cancel()
            await asyncio.gather(self._following, return_exceptions=True)
            self._following = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    # --- changes -----------------------------------------------------------------------------

    async def execute(self, command: Callable[[IamState], list]) -> list:
        """Decide ``command`` against the state, make its events durable, then fold them in."""
        async with self._lock:
            if self._writer is None:
                raise errors.service_unavailable("The IAM store is not open")
            for _ in range(FENCED_RETRIES):
                await self._catch_up()  # what other gateway processes changed
                events = command(self.state)
                if not events:
                    return events
                try:
                    offsets = await asyncio.to_thread(self._writer.append, [records.encode_catalog(e) for e in events])
                except FencedError:  # another process wrote meanwhile: take the writer back, decide again
                    fenced, self._writer = self._writer, await asyncio.to_thread(self._log.open_writer, IAM_TOPIC, 0)
                    fenced.close()
                    continue
                except Exception:
                    log.exception("iam_append_failed")
                    raise errors.internal_server_error("The IAM change could not be made durable") from None
                for event in events:
                    self._apply(event)
                self._next = max(self._next, offsets[-1] + 1)
                return events
            raise errors.service_unavailable("The IAM store is busy with changes from other gateway processes")

    def _apply(self, event: Any) -> None:
        if isinstance(event, AccessKeyDeleted):
            self.authenticator.remove_key(event.access_key_id)
        if isinstance(event, PrincipalDeleted):
            for key in self.state.keys_of(event.kind, event.name):
                self.authenticator.remove_key(key.access_key_id)
        self.state = principals.evolve(self.state, event)
        if isinstance(event, AccessKeyCreated):
            self._register(self.state.keys[event.access_key_id])
        self._identity_cache.clear()

    def _register(self, key: principals.AccessKey) -> None:
        record = self.state.principals.get((key.kind, key.name))
        if record is not None:
            principal = Principal(key.access_key_id, caller_arn(self.account_id, record), self.account_id)
            self.authenticator.add_key(key.access_key_id, key.secret_access_key, principal)

    # --- reads on the request path -----------------------------------------------------------

    def principal_of(self, access_key: str) -> principals.Principal | None:
        key = self.state.keys.get(access_key)
        if key is None:
            return None
        return self.state.principals.get((key.kind, key.name))

    def identity_policies(self, access_key: str) -> tuple[iam.Policy, ...]:
        """The caller's identity-based policies, parsed (cached until the next change)."""
        cached = self._identity_cache.get(access_key)
        if cached is None:
            key = self.state.keys.get(access_key)
            documents = self.state.documents_of(key.kind, key.name) if key is not None else []
            cached = self._identity_cache[access_key] = tuple(compile_policy(d) for d in documents)
        return cached

    def resource_policy(self, arn: str) -> iam.Policy | None:
        stored = self.state.resource_policies.get(arn)
        return compile_policy(stored.document, True) if stored is not None else None

    def has_resource_policies(self) -> bool:
        return bool(self.state.resource_policies)
