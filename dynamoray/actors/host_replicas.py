"""What a partition host serves besides its own partitions (mixed into ``PartitionHost``):

- **followers** of partitions other hosts lead (``follower.py``): ``replica_get``,
  ``replica_query``, ``replica_scan`` serve eventually consistent reads, ``replica_lag`` feeds the
  gateway's ``/metrics``;
- **the direct channel** (``channel.py``): ``open_channel`` serves the batchable calls on a socket,
  about 60 µs a call instead of a Ray call's ~1 ms.

Needs ``_logs``, ``_max_open``, ``_snapshots``, ``_one``, ``write_now``, ``_channel`` and ``_replicas``
from ``PartitionHost``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .. import logs
from ..core import errors
from ..core.commands import Item, Page, QuerySpec, ScanSpec, WriteOutcome
from . import channel
from .follower import FollowerSet, FollowerUnavailable, ReplicaLag

log = logs.get("host")


class ReplicaCalls:
    _channel: channel.ChannelServer | None = None
    _replicas: FollowerSet | None = None

    def _followers(self) -> FollowerSet:
        if self._replicas is None:
            self._replicas = FollowerSet(self._logs, name="host", max_open=self._max_open,
                                         snapshots=self._snapshots)
        return self._replicas

    async def _replica_read(self, method: str, ref: Any, *args: Any) -> Any:
        try:
            return await getattr(self._followers(), method)(ref, *args)
        except FollowerUnavailable as error:  # the gateway then reads from the leader
            log.warning("follower_unavailable", table_id=ref.table_id, error=str(error))
            raise errors.service_unavailable() from None

    async def replica_get(self, ref: Any, key: Item, projection: Any = None) -> Item | None:
        """An eventually consistent GetItem served by this host's follower of ``ref``."""
        return await self._replica_read("get", ref, key, projection)

    async def replica_query(self, ref: Any, spec: QuerySpec) -> Page:
        return await self._replica_read("query", ref, spec)

    async def replica_scan(self, ref: Any, spec: ScanSpec) -> Page:
        return await self._replica_read("scan", ref, spec)

    async def replica_lag(self) -> list[ReplicaLag]:
        """The lag of this host's followers (for the gateway's ``/metrics``)."""
        if self._replicas is None:
            return []
        return await asyncio.to_thread(self._replicas.lag)

    async def _channel_call(self, method: str, args: tuple) -> tuple[bool, Any]:
        """``_one``, minus what the gateway never reads: a write's change (both item images)."""
        return _answer(*await self._one(method, args))

    def _channel_call_now(self, method: str, args: tuple) -> tuple[bool, Any] | None:
        """A lone write answered on the turn its frame arrived (``PartitionHost.write_now``), or
        None: the channel runs ``_channel_call`` instead."""
        if method != "write":
            return None
        try:
            outcome = self.write_now(*args)
        except Exception as error:  # noqa: BLE001 - like _one: one failing call fails alone
            return failed(method, error)
        return None if outcome is None else _answer(True, outcome)

    async def open_channel(self, token: bytes, host: str = "127.0.0.1") -> tuple[str, int]:
        """Serve the batchable calls on a socket too, to holders of ``token`` (``channel.py``): about
        60 µs a call instead of a Ray call's ~1 ms.  Returns the address to connect to."""
        if self._channel is None:
            self._channel = channel.ChannelServer(self._channel_call, self._channel_call_now)
        return await self._channel.open(token, host)


def failed(method: str, error: Exception) -> tuple[bool, errors.DynamoError]:
    """A call's failure as a ``(False, DynamoError)`` answer: a DynamoError as it is, anything else
    logged and answered as a 500 (one failing call must not fail the others)."""
    if isinstance(error, errors.DynamoError):
        return False, error
    log.exception("host_call_failed", method=method, error=repr(error))
    return False, errors.internal_server_error()


def _answer(ok: bool, value: Any) -> tuple[bool, Any]:
    if ok and type(value) is WriteOutcome and value.change is not None:
        value = WriteOutcome(None, value.attributes, value.old_size, value.new_size, value.index_writes,
                             value.collection)
    return ok, value
