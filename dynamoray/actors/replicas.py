"""Where the Ray engine sends a read: the leader, or a follower (``follower.py``).

Each table partition has ``replicas`` copies (``dynamoray serve --replicas N``):

1. the **leader**, on host ``host_index(table_id)``: the only writer;
2. a **gateway follower** (unless disabled): in the gateway process itself;
3. **host followers** for the rest, on the hosts after the leader's (``h+1, h+2, ...`` modulo the
   pool), at most one per host and never on the leader's host.

- ``ConsistentRead=true`` and every write go to the leader.
- An eventually consistent read goes to the gateway follower when there is one.  With none, reads
  rotate over the leader and the host followers.  A follower that cannot answer (its host is down
  or restarting, its log unreadable) hands the read to the leader, and its host gets no follower
  reads until a probe through Ray answers again: losing a follower loses and blocks nothing.
- A write acknowledged here marks the gateway follower of its table, which catches up before its
  next read: a client reads its own writes through one gateway, also with eventual reads.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from dataclasses import dataclass
from typing import Any

from .. import logs
from ..core.errors import DynamoError
from .follower import FollowerSet, FollowerUnavailable, ReplicaLag

log = logs.get("replicas")

PROBES, PROBE_INTERVAL = 120, 1.0  # a down host's followers are retried for about two minutes
_FALL_BACK = frozenset({"ServiceUnavailable", "InternalServerError", "ResourceNotFoundException"})


def replica_hosts(leader: int, hosts: int, followers: int) -> list[int]:
    """The hosts of a partition's replicas: the leader's first, then ``followers`` distinct others."""
    return [(leader + i) % hosts for i in range(min(followers, hosts - 1) + 1)]


def host_followers(replicas: int, hosts: int, gateway_follower: bool) -> int:
    """How many followers live in hosts, for ``replicas`` copies in all."""
    return max(0, min(replicas - 1 - int(gateway_follower), hosts - 1))


@dataclass(frozen=True)
class ReplicaMetrics:
    lags: list[ReplicaLag]
    reads: dict  # (replica kind, consistent) -> reads served
    open_followers: int | None  # the gateway's followers in memory (None: it has none)


class ReplicaReads:
    """Mixed into ``RayEngine``: needs ``_ref``, ``_hosts``, ``_leader_index`` and ``_on_host``."""

    _followers: FollowerSet | None = None
    _host_followers: int = 0

    def _init_replicas(self, followers: FollowerSet | None, host_followers: int) -> None:
        self._followers = followers
        self._host_followers = host_followers
        self._turn = 0
        self._down: set[int] = set()  # hosts whose followers failed: skipped until a probe answers
        self._probes: set[asyncio.Task] = set()
        self.reads: Counter = Counter()  # (replica kind, consistent) -> reads served

    async def _read(self, name: str, method: str, consistent: bool, *args: Any) -> Any:
        if not consistent:
            ref = self._refs.get(name) or await self._ref(name)
            if self._followers is not None:
                try:
                    result = await getattr(self._followers, method)(ref, *args)
                    self.reads["gateway", False] += 1
                    return result
                except FollowerUnavailable as error:
                    log.warning("gateway_follower_unavailable", table=name, error=str(error))
                except DynamoError as error:
                    if error.error_type != "ResourceNotFoundException":
                        raise
                    self._followers.drop(ref.table_id)  # the leader's answer refreshes the route
            if self._host_followers:
                found = await self._from_host_follower(ref, method, args)
                if found is not _LEADER:
                    return found
        self.reads["leader", consistent] += 1
        return await self._on_host(name, method, *args)

    async def _from_host_follower(self, ref: Any, method: str, args: tuple) -> Any:
        """A read from the next replica in turn; ``_LEADER`` when that is the leader (or a follower
        could not answer: the caller then asks the leader)."""
        hosts = replica_hosts(self._leader_index(ref), len(self._hosts), self._host_followers)
        self._turn = (self._turn + 1) % len(hosts)
        if self._turn == 0 and self._followers is None:
            return _LEADER
        replica = hosts[self._turn or 1]
        if replica in self._down:
            return _LEADER
        if getattr(self._hosts[replica], "lost", False):  # its channel dropped: do not wait for it
            self._mark_down(replica)
            return _LEADER
        try:
            result = await self._hosts[replica].call(f"replica_{method}", ref, *args)
        except DynamoError as error:
            if error.error_type not in _FALL_BACK:
                raise
            log.info("host_follower_unavailable", table=ref.name, host=replica, error=error.error_type)
            if error.error_type != "ResourceNotFoundException":
                self._mark_down(replica)
            return _LEADER
        self.reads["host", False] += 1
        return result

    def _mark_down(self, index: int) -> None:
        """Send no read to host ``index``'s followers until it answers again (probed through Ray,
        which waits out a restart), so no read ever waits for a dead or restarting follower."""
        if index in self._down:
            return
        self._down.add(index)
        task = asyncio.get_running_loop().create_task(self._probe(index))
        self._probes.add(task)
        task.add_done_callback(self._probes.discard)

    async def _probe(self, index: int) -> None:
        try:
            for _ in range(PROBES):
                host = self._hosts[index]
                try:
                    if hasattr(host, "reconnect"):
                        await host.reconnect()
                    else:
                        await host.call("replica_lag")
                    return
                except Exception:  # noqa: BLE001 - not back yet (503, 500, unreachable): later
                    await asyncio.sleep(PROBE_INTERVAL)
        finally:
            self._down.discard(index)

    def _written(self, name: str) -> None:
        """A write to ``name`` went through this gateway: its follower catches up before reading."""
        ref = self._refs.get(name)
        if ref is not None and self._followers is not None:
            self._followers.written(ref)

    def _close_replicas(self) -> None:
        for task in list(self._probes):
            try:
                task.cancel()
            except RuntimeError:  # its event loop is closed already
                pass
        if self._followers is not None:
            self._followers.close()

    def _dropped(self, ref: Any) -> None:
        if self._followers is not None:
            self._followers.drop(ref.table_id)

    async def replica_metrics(self) -> ReplicaMetrics:
        """What ``GET /metrics`` reports (``gateway/metrics.py``)."""
        followers = self._followers
        return ReplicaMetrics(await self.replica_lag(), dict(self.reads),
                              followers.open_count() if followers is not None else None)

    async def replica_lag(self) -> list[ReplicaLag]:
        """The lag of every open follower: the gateway's, then each host's (``/metrics``)."""
        out: list[ReplicaLag] = []
        if self._followers is not None:
            out += await asyncio.to_thread(self._followers.lag)
        if self._host_followers:
            for host in self._hosts:
                try:
                    lags = await host.call("replica_lag")
                except DynamoError:  # a host restarting: its followers are gone anyway
                    continue
                out += [dataclasses.replace(lag, replica=host.name) for lag in lags]
        return out


class _Leader:
    def __repr__(self) -> str:
        return "<the leader>"


_LEADER = _Leader()
