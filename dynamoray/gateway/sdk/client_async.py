"""The asyncio client: the sync :class:`Client`'s methods, awaited.

    from dynamoray.gateway import AsyncClient

    async with AsyncClient("http://127.0.0.1:8000") as client:
        orders = await client.create_table("orders", hash_key=("pk", "S"))
        await orders.put({"pk": "o#1", "total": 12})

One client serves any number of concurrent tasks of one event loop over a pool of keep-alive
connections (``max_connections``, 64 by default).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar, overload

from . import backups, flows, forks, settings
from .accelerator import AcceleratorConfig, ItemAccelerator
from .backups import Progress
from .client_base import ClientBase
from .errors import DynamoDBError
from .models import KeySchema
from .retry import Backoff, RetryConfig
from .settings import GlobalIndex
from .streams import StartAt, StreamRecord, follow_stream
from .table_async import AsyncTable
from .transactions import AsyncTransaction, Get
from .transport import AsyncSender, AsyncTransport
from .waiters import Wait

M = TypeVar("M")


class AsyncClient(ClientBase):
    """An asyncio DynamoDB client of a dynamoray gateway (see :class:`ClientBase` for the settings)."""

    def __init__(self, endpoint: str | None = None, *, region: str | None = None,
                 access_key: str | None = None, secret_key: str | None = None,
                 session_token: str | None = None, profile: str | None = None,
                 retry: RetryConfig | None = None, batch_backoff: Backoff | None = None,
                 max_connections: int = 64, timeout: float = 60.0, verify: bool | str = True,
                 transport: AsyncSender | None = None, accelerator: bool | AcceleratorConfig = False) -> None:
        super().__init__(endpoint, region=region, access_key=access_key, secret_key=secret_key,
                         session_token=session_token, profile=profile, retry=retry, batch_backoff=batch_backoff)
        self._transport = transport or AsyncTransport(self.endpoint, max_connections, timeout, verify=verify)
        # the in-process item cache (accelerator.py): AsyncTable.get answers from it, a task feeds it
        self._accelerator = ItemAccelerator(accelerator if isinstance(accelerator, AcceleratorConfig) else None) \
            if accelerator else None
        self._feed: asyncio.Task[None] | None = None

    def _ensure_feed(self) -> None:
        """Start the accelerator's feed task on the running loop (again, on a new loop)."""
        loop = asyncio.get_running_loop()
        if self._accelerator is not None and (self._feed is None or self._feed.done()
                                              or self._feed.get_loop() is not loop):
            self._feed = loop.create_task(self._follow(self._accelerator))

    async def _follow(self, accelerator: ItemAccelerator) -> None:
        while True:
            await asyncio.sleep(accelerator.config.poll_interval)
            try:
                await flows.run_async(accelerator.poll(), self._call)
            except Exception:  # noqa: BLE001 - the feed failed: serve nothing stale
                accelerator.forget_all()

    async def _call(self, operation: str, payload: dict[str, Any], service: str = "dynamodb") -> dict[str, Any]:
        """Send one request, with retries; the decoded answer or the matching DynamoDBError."""
        state = self._retry_state()
        while True:
            body, headers = self._wire.encode(service, operation, payload)
            try:
                result = self._wire.decode(await self._transport.send(body, headers))
            except DynamoDBError as error:
                delay = state.should_retry(error)
                if delay is None:
                    raise
                await asyncio.sleep(delay)
                continue
            state.succeeded()
            return result

    async def call(self, operation: str, service: str = "dynamodb", /, **params: Any) -> dict[str, Any]:
        """Any operation in the wire form (attribute values as ``{"S": ...}``): the escape hatch."""
        return await self._call(operation, params, service)

    async def close(self) -> None:
        feed, self._feed = self._feed, None
        if feed is not None and feed.get_loop() is asyncio.get_running_loop():
            feed.cancel()
            try:
                await feed
            except asyncio.CancelledError:
                pass
        await self._transport.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        await self.close()

    # --- tables ----------------------------------------------------------------------------------

    @overload
    def table(self, name: str, model: None = None) -> AsyncTable[dict[str, Any]]: ...

    @overload
    def table(self, name: str, model: type[M]) -> AsyncTable[M]: ...

    def table(self, name: str, model: type[Any] | None = None) -> AsyncTable[Any]:
        return AsyncTable(self, name, model)

    @overload
    async def create_table(self, name: str, *, hash_key: tuple[str, str] | None = None,
                           range_key: tuple[str, str] | None = None, model: None = None,
                           billing_mode: str = "PAY_PER_REQUEST", read_capacity: int | None = None,
                           write_capacity: int | None = None, stream: str | None = None,
                           tags: dict[str, str] | None = None, wait: bool = True,
                           **extra: Any) -> AsyncTable[dict[str, Any]]: ...

    @overload
    async def create_table(self, name: str, *, hash_key: tuple[str, str] | None = None,
                           range_key: tuple[str, str] | None = None, model: type[M],
                           billing_mode: str = "PAY_PER_REQUEST", read_capacity: int | None = None,
                           write_capacity: int | None = None, stream: str | None = None,
                           tags: dict[str, str] | None = None, wait: bool = True, **extra: Any) -> AsyncTable[M]: ...

    async def create_table(self, name: str, *, hash_key: tuple[str, str] | None = None,
                           range_key: tuple[str, str] | None = None, model: type[Any] | None = None,
                           billing_mode: str = "PAY_PER_REQUEST", read_capacity: int | None = None,
                           write_capacity: int | None = None, stream: str | None = None,
                           tags: dict[str, str] | None = None, wait: bool = True, **extra: Any) -> AsyncTable[Any]:
        """Create a table: keys as ``hash_key=("pk", "S")``, ``range_key=("sk", "N")``, or declared by
        ``model``; ``stream`` is a StreamViewType; ``extra`` is passed to CreateTable as is."""
        payload, keys = self._create_payload(name, hash_key, range_key, model, billing_mode, read_capacity,
                                             write_capacity, stream, tags, extra)
        await self._call("CreateTable", payload)
        table = AsyncTable(self, name, model, key_schema=KeySchema(keys.hash_key, keys.range_key))
        if wait:
            await table.wait_until_exists()
        return table

    async def describe_table(self, name: str) -> dict[str, Any]:
        table: dict[str, Any] = (await self._call("DescribeTable", {"TableName": name}))["Table"]
        return table

    async def delete_table(self, name: str, *, wait: bool = True) -> None:
        await self._call("DeleteTable", {"TableName": name})
        if wait:
            await flows.run_async(flows.wait_for_table_gone(name, Wait()), self._call)

    async def list_tables(self, limit: int | None = None) -> list[str]:
        return await flows.run_async(flows.list_tables(limit), self._call)

    async def wait_until_exists(self, name: str, wait: Wait | None = None) -> dict[str, Any]:
        """Wait until the table is ACTIVE (and done restoring); its description."""
        return await flows.run_async(flows.wait_for_table(name, wait or Wait()), self._call)

    async def wait_until_not_exists(self, name: str, wait: Wait | None = None) -> None:
        """Wait until DescribeTable answers ResourceNotFoundException."""
        await flows.run_async(flows.wait_for_table_gone(name, wait or Wait()), self._call)

    # --- table settings --------------------------------------------------------------------------

    async def update_table(self, name: str, *, billing_mode: str | None = None, read_capacity: int | None = None,
                           write_capacity: int | None = None, stream: str | bool | None = None,
                           create_index: GlobalIndex | None = None,
                           index_capacity: Mapping[str, tuple[int, int]] | None = None,
                           delete_index: str | None = None, deletion_protection: bool | None = None,
                           sse: bool | None = None, kms_key: str | None = None, table_class: str | None = None,
                           replica_updates: Sequence[Mapping[str, Any]] | None = None, wait: bool = True,
                           **extra: Any) -> dict[str, Any]:
        """UpdateTable (see :meth:`Client.update_table`)."""
        payload = settings.update_table_request(
            name, billing_mode=billing_mode, read_capacity=read_capacity, write_capacity=write_capacity,
            stream=stream, create_index=create_index, index_capacity=index_capacity, delete_index=delete_index,
            deletion_protection=deletion_protection, sse=sse, kms_key=kms_key, table_class=table_class,
            replica_updates=replica_updates, extra=extra)
        return await flows.run_async(settings.update_table(payload, Wait() if wait else None), self._call)

    async def tag_resource(self, resource: str, tags: Mapping[str, str]) -> None:
        """TagResource; ``resource`` is an ARN or a table's name."""
        await flows.run_async(settings.tag_resource(resource, tags), self._call)

    async def untag_resource(self, resource: str, keys: Iterable[str]) -> None:
        await flows.run_async(settings.untag_resource(resource, keys), self._call)

    async def list_tags_of_resource(self, resource: str) -> dict[str, str]:
        """Every tag of the resource (an ARN or a table's name), over every page."""
        return await flows.run_async(settings.list_tags(resource), self._call)

    async def update_time_to_live(self, table: str, attribute: str, *, enabled: bool = True) -> dict[str, Any]:
        """UpdateTimeToLive; returns the TimeToLiveSpecification."""
        response = await self._call("UpdateTimeToLive", settings.ttl_request(table, attribute, enabled))
        spec: dict[str, Any] = response["TimeToLiveSpecification"]
        return spec

    async def describe_time_to_live(self, table: str) -> dict[str, Any]:
        """The TimeToLiveDescription (``TimeToLiveStatus``, ``AttributeName``)."""
        response = await self._call("DescribeTimeToLive", {"TableName": table})
        description: dict[str, Any] = response["TimeToLiveDescription"]
        return description

    async def describe_limits(self) -> dict[str, int]:
        """The account's and a table's maximum read and write capacity units."""
        response = await self._call("DescribeLimits", {})
        return {k: int(v) for k, v in response.items() if k.endswith("CapacityUnits")}

    async def describe_endpoints(self) -> list[dict[str, Any]]:
        """DescribeEndpoints: ``[{"Address", "CachePeriodInMinutes"}]``."""
        endpoints: list[dict[str, Any]] = (await self._call("DescribeEndpoints", {}))["Endpoints"]
        return endpoints

    # --- transactions ----------------------------------------------------------------------------

    def transaction(self, token: str | None = None) -> AsyncTransaction:
        """``async with client.transaction() as tx: tx.put(...)``: one TransactWriteItems on exit."""
        return AsyncTransaction(self, token)

    async def transact_get(self, *gets: Get) -> list[Any]:
        """TransactGetItems: the items (None for a missing one), in the order of ``gets``."""
        response = await self._call("TransactGetItems", {"TransactItems": [g.action() for g in gets]})
        return [g.load(r) for g, r in zip(gets, response.get("Responses", []))]

    # --- streams ---------------------------------------------------------------------------------

    async def stream(self, stream_arn: str, *, start: StartAt = "TRIM_HORIZON", follow: bool = True,
                     poll_interval: float = 1.0) -> AsyncIterator[StreamRecord]:
        """The records of a stream (by ARN), following shard lineage (see ``streams.py``)."""
        async for record in flows.iterate_async(follow_stream(stream_arn, start, follow, poll_interval),
                                                self._call):
            yield record

    # --- backups and point-in-time recovery ------------------------------------------------------

    async def create_backup(self, table: str, name: str) -> dict[str, Any]:
        """CreateBackup; returns the BackupDetails (``BackupArn``, ``BackupStatus``, ...)."""
        response = await self._call("CreateBackup", self._backup_payload(table, name))
        details: dict[str, Any] = response["BackupDetails"]
        return details

    async def describe_backup(self, backup_arn: str) -> dict[str, Any]:
        response = await self._call("DescribeBackup", {"BackupArn": backup_arn})
        description: dict[str, Any] = response["BackupDescription"]
        return description

    async def delete_backup(self, backup_arn: str) -> dict[str, Any]:
        response = await self._call("DeleteBackup", {"BackupArn": backup_arn})
        description: dict[str, Any] = response["BackupDescription"]
        return description

    async def list_backups(self, table: str | None = None, backup_type: str = "USER") -> list[dict[str, Any]]:
        return await flows.run_async(backups.list_backups(table, backup_type), self._call)

    async def restore_table_from_backup(self, backup_arn: str, target: str, *, wait: bool = True,
                                        progress: bool | Progress = False, **overrides: Any) -> dict[str, Any]:
        """RestoreTableFromBackup; with ``wait`` (default) returns once the table is ACTIVE."""
        flow = backups.restore_from_backup(backup_arn, target, Wait() if wait else None, progress, overrides)
        return await flows.run_async(flow, self._call)

    async def enable_point_in_time_recovery(self, table: str, *, enabled: bool = True,
                                            recovery_days: int | None = None) -> dict[str, Any]:
        response = await self._call("UpdateContinuousBackups", self._pitr_payload(table, enabled, recovery_days))
        description: dict[str, Any] = response["ContinuousBackupsDescription"]
        return description

    async def fork_table(self, source: str, target: str, *, at: datetime | float | None = None,
                         offsets: list[int] | None = None, wait: bool = True) -> dict[str, Any]:
        """A new table ``target`` as a copy of ``source`` as of ``at``, or of the log ``offsets``
        (``table_offsets``), or of now (a dynamoray extension, the admin API: root credentials)."""
        flow = forks.fork_table(source, target, at, offsets, Wait() if wait else None)
        return await flows.run_async(flow, self._call)

    async def table_offsets(self, table: str) -> list[int]:
        """The table's log offsets now, one per shard: a point to fork at later."""
        return await flows.run_async(forks.table_offsets(table), self._call)

    async def restore_table_to_point_in_time(self, source: str, target: str, *, at: datetime | float | None = None,
                                             wait: bool = True, progress: bool | Progress = False,
                                             **overrides: Any) -> dict[str, Any]:
        """RestoreTableToPointInTime as of ``at`` (default: the latest restorable time)."""
        flow = backups.restore_to_point_in_time(source, target, at, Wait() if wait else None, progress, overrides)
        return await flows.run_async(flow, self._call)
