"""The sync client.

    from dynamoray.gateway import Client

    with Client("http://127.0.0.1:8000") as client:
        orders = client.create_table("orders", hash_key=("pk", "S"))
        orders.put({"pk": "o#1", "total": 12})

Thread-safe: one client (and its connection pool) can serve many threads.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar, overload

from . import backups, flows, forks, settings
from .accelerator import AcceleratorConfig, FeedThread, ItemAccelerator
from .backups import Progress
from .client_base import ClientBase
from .errors import DynamoDBError
from .models import KeySchema
from .retry import Backoff, RetryConfig
from .settings import GlobalIndex
from .streams import StartAt, StreamRecord, follow_stream
from .table import Table
from .transactions import Get, Transaction
from .transport import SyncSender, SyncTransport
from .waiters import Wait

M = TypeVar("M")


class Client(ClientBase):
    """A sync DynamoDB client of a dynamoray gateway (see :class:`ClientBase` for the settings)."""

    def __init__(self, endpoint: str | None = None, *, region: str | None = None,
                 access_key: str | None = None, secret_key: str | None = None,
                 session_token: str | None = None, profile: str | None = None,
                 retry: RetryConfig | None = None, batch_backoff: Backoff | None = None,
                 max_connections: int = 10, timeout: float = 60.0, verify: bool | str = True,
                 transport: SyncSender | None = None, accelerator: bool | AcceleratorConfig = False) -> None:
        super().__init__(endpoint, region=region, access_key=access_key, secret_key=secret_key,
                         session_token=session_token, profile=profile, retry=retry, batch_backoff=batch_backoff)
        self._transport = transport or SyncTransport(self.endpoint, max_connections, timeout, verify=verify)
        # the in-process item cache (accelerator.py): Table.get answers from it, a thread feeds it
        self._accelerator = ItemAccelerator(accelerator if isinstance(accelerator, AcceleratorConfig) else None) \
            if accelerator else None
        self._feed = FeedThread(self._accelerator, lambda flow: flows.run_sync(flow, self._call)) \
            if self._accelerator is not None else None

    def _call(self, operation: str, payload: dict[str, Any], service: str = "dynamodb") -> dict[str, Any]:
        """Send one request, with retries; the decoded answer or the matching DynamoDBError."""
        state = self._retry_state()
        while True:
            body, headers = self._wire.encode(service, operation, payload)
            try:
                result = self._wire.decode(self._transport.send(body, headers))
            except DynamoDBError as error:
                delay = state.should_retry(error)
                if delay is None:
                    raise
                time.sleep(delay)
                continue
            state.succeeded()
            return result

    def call(self, operation: str, service: str = "dynamodb", /, **params: Any) -> dict[str, Any]:
        """Any operation in the wire form (attribute values as ``{"S": ...}``): the escape hatch."""
        return self._call(operation, params, service)

    def close(self) -> None:
        if self._feed is not None:
            self._feed.close()
        self._transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    # --- tables ----------------------------------------------------------------------------------

    @overload
    def table(self, name: str, model: None = None) -> Table[dict[str, Any]]: ...

    @overload
    def table(self, name: str, model: type[M]) -> Table[M]: ...

    def table(self, name: str, model: type[Any] | None = None) -> Table[Any]:
        return Table(self, name, model)

    @overload
    def create_table(self, name: str, *, hash_key: tuple[str, str] | None = None,
                     range_key: tuple[str, str] | None = None, model: None = None,
                     billing_mode: str = "PAY_PER_REQUEST", read_capacity: int | None = None,
                     write_capacity: int | None = None, stream: str | None = None,
                     tags: dict[str, str] | None = None, wait: bool = True,
                     **extra: Any) -> Table[dict[str, Any]]: ...

    @overload
    def create_table(self, name: str, *, hash_key: tuple[str, str] | None = None,
                     range_key: tuple[str, str] | None = None, model: type[M],
                     billing_mode: str = "PAY_PER_REQUEST", read_capacity: int | None = None,
                     write_capacity: int | None = None, stream: str | None = None,
                     tags: dict[str, str] | None = None, wait: bool = True, **extra: Any) -> Table[M]: ...

    def create_table(self, name: str, *, hash_key: tuple[str, str] | None = None,
                     range_key: tuple[str, str] | None = None, model: type[Any] | None = None,
                     billing_mode: str = "PAY_PER_REQUEST", read_capacity: int | None = None,
                     write_capacity: int | None = None, stream: str | None = None,
                     tags: dict[str, str] | None = None, wait: bool = True, **extra: Any) -> Table[Any]:
        """Create a table: keys as ``hash_key=("pk", "S")``, ``range_key=("sk", "N")``, or declared by
        ``model``; ``stream`` is a StreamViewType; ``extra`` is passed to CreateTable as is."""
        payload, keys = self._create_payload(name, hash_key, range_key, model, billing_mode, read_capacity,
                                             write_capacity, stream, tags, extra)
        self._call("CreateTable", payload)
        table = Table(self, name, model, key_schema=KeySchema(keys.hash_key, keys.range_key))
        if wait:
            table.wait_until_exists()
        return table

    def describe_table(self, name: str) -> dict[str, Any]:
        table: dict[str, Any] = self._call("DescribeTable", {"TableName": name})["Table"]
        return table

    def delete_table(self, name: str, *, wait: bool = True) -> None:
        self._call("DeleteTable", {"TableName": name})
        if wait:
            flows.run_sync(flows.wait_for_table_gone(name, Wait()), self._call)

    def list_tables(self, limit: int | None = None) -> list[str]:
        return flows.run_sync(flows.list_tables(limit), self._call)

    def wait_until_exists(self, name: str, wait: Wait | None = None) -> dict[str, Any]:
        """Wait until the table is ACTIVE (and done restoring); its description."""
        return flows.run_sync(flows.wait_for_table(name, wait or Wait()), self._call)

    def wait_until_not_exists(self, name: str, wait: Wait | None = None) -> None:
        """Wait until DescribeTable answers ResourceNotFoundException."""
        flows.run_sync(flows.wait_for_table_gone(name, wait or Wait()), self._call)

    # --- table settings --------------------------------------------------------------------------

    def update_table(self, name: str, *, billing_mode: str | None = None, read_capacity: int | None = None,
                     write_capacity: int | None = None, stream: str | bool | None = None,
                     create_index: GlobalIndex | None = None,
                     index_capacity: Mapping[str, tuple[int, int]] | None = None,
                     delete_index: str | None = None, deletion_protection: bool | None = None,
                     sse: bool | None = None, kms_key: str | None = None, table_class: str | None = None,
                     replica_updates: Sequence[Mapping[str, Any]] | None = None, wait: bool = True,
                     **extra: Any) -> dict[str, Any]:
        """UpdateTable; only what is given changes.  ``stream``: a StreamViewType, or False to turn
        the stream off; ``index_capacity``: ``{index: (read, write)}``; ``sse``/``kms_key``: the
        SSESpecification; ``replica_updates`` and ``extra`` are passed as is.  With ``wait``
        (default) returns once the table and its global secondary indexes are ACTIVE."""
        payload = settings.update_table_request(
            name, billing_mode=billing_mode, read_capacity=read_capacity, write_capacity=write_capacity,
            stream=stream, create_index=create_index, index_capacity=index_capacity, delete_index=delete_index,
            deletion_protection=deletion_protection, sse=sse, kms_key=kms_key, table_class=table_class,
            replica_updates=replica_updates, extra=extra)
        return flows.run_sync(settings.update_table(payload, Wait() if wait else None), self._call)

    def tag_resource(self, resource: str, tags: Mapping[str, str]) -> None:
        """TagResource; ``resource`` is an ARN or a table's name."""
        flows.run_sync(settings.tag_resource(resource, tags), self._call)

    def untag_resource(self, resource: str, keys: Iterable[str]) -> None:
        flows.run_sync(settings.untag_resource(resource, keys), self._call)

    def list_tags_of_resource(self, resource: str) -> dict[str, str]:
        """Every tag of the resource (an ARN or a table's name), over every page."""
        return flows.run_sync(settings.list_tags(resource), self._call)

    def update_time_to_live(self, table: str, attribute: str, *, enabled: bool = True) -> dict[str, Any]:
        """UpdateTimeToLive; returns the TimeToLiveSpecification."""
        response = self._call("UpdateTimeToLive", settings.ttl_request(table, attribute, enabled))
        spec: dict[str, Any] = response["TimeToLiveSpecification"]
        return spec

    def describe_time_to_live(self, table: str) -> dict[str, Any]:
        """The TimeToLiveDescription (``TimeToLiveStatus``, ``AttributeName``)."""
        description: dict[str, Any] = self._call("DescribeTimeToLive", {"TableName": table})["TimeToLiveDescription"]
        return description

    def describe_limits(self) -> dict[str, int]:
        """The account's and a table's maximum read and write capacity units."""
        response = self._call("DescribeLimits", {})
        return {k: int(v) for k, v in response.items() if k.endswith("CapacityUnits")}

    def describe_endpoints(self) -> list[dict[str, Any]]:
        """DescribeEndpoints: ``[{"Address", "CachePeriodInMinutes"}]``."""
        endpoints: list[dict[str, Any]] = self._call("DescribeEndpoints", {})["Endpoints"]
        return endpoints

    # --- transactions ----------------------------------------------------------------------------

    def transaction(self, token: str | None = None) -> Transaction:
        """``with client.transaction() as tx: tx.put(...)``: one TransactWriteItems on exit."""
        return Transaction(self, token)

    def transact_get(self, *gets: Get) -> list[Any]:
        """TransactGetItems: the items (None for a missing one), in the order of ``gets``."""
        response = self._call("TransactGetItems", {"TransactItems": [g.action() for g in gets]})
        return [g.load(r) for g, r in zip(gets, response.get("Responses", []))]

    # --- streams ---------------------------------------------------------------------------------

    def stream(self, stream_arn: str, *, start: StartAt = "TRIM_HORIZON", follow: bool = True,
               poll_interval: float = 1.0) -> Iterator[StreamRecord]:
        """The records of a stream (by ARN), following shard lineage (see ``streams.py``)."""
        return flows.iterate_sync(follow_stream(stream_arn, start, follow, poll_interval), self._call)

    # --- backups and point-in-time recovery ------------------------------------------------------

    def create_backup(self, table: str, name: str) -> dict[str, Any]:
        """CreateBackup; returns the BackupDetails (``BackupArn``, ``BackupStatus``, ...)."""
        details: dict[str, Any] = self._call("CreateBackup", self._backup_payload(table, name))["BackupDetails"]
        return details

    def describe_backup(self, backup_arn: str) -> dict[str, Any]:
        description: dict[str, Any] = self._call("DescribeBackup", {"BackupArn": backup_arn})["BackupDescription"]
        return description

    def delete_backup(self, backup_arn: str) -> dict[str, Any]:
        description: dict[str, Any] = self._call("DeleteBackup", {"BackupArn": backup_arn})["BackupDescription"]
        return description

    def list_backups(self, table: str | None = None, backup_type: str = "USER") -> list[dict[str, Any]]:
        return flows.run_sync(backups.list_backups(table, backup_type), self._call)

    def restore_table_from_backup(self, backup_arn: str, target: str, *, wait: bool = True,
                                  progress: bool | Progress = False, **overrides: Any) -> dict[str, Any]:
        """RestoreTableFromBackup; with ``wait`` (default) returns once the table is ACTIVE."""
        flow = backups.restore_from_backup(backup_arn, target, Wait() if wait else None, progress, overrides)
        return flows.run_sync(flow, self._call)

    def enable_point_in_time_recovery(self, table: str, *, enabled: bool = True,
                                      recovery_days: int | None = None) -> dict[str, Any]:
        response = self._call("UpdateContinuousBackups", self._pitr_payload(table, enabled, recovery_days))
        description: dict[str, Any] = response["ContinuousBackupsDescription"]
        return description

    def fork_table(self, source: str, target: str, *, at: datetime | float | None = None,
                   offsets: list[int] | None = None, wait: bool = True) -> dict[str, Any]:
        """A new table ``target`` as a copy of ``source`` as of ``at``, or of the log ``offsets``
        (``table_offsets``), or of now (a dynamoray extension, the admin API: root credentials)."""
        flow = forks.fork_table(source, target, at, offsets, Wait() if wait else None)
        return flows.run_sync(flow, self._call)

    def table_offsets(self, table: str) -> list[int]:
        """The table's log offsets now, one per shard: a point to fork at later."""
        return flows.run_sync(forks.table_offsets(table), self._call)

    def restore_table_to_point_in_time(self, source: str, target: str, *, at: datetime | float | None = None,
                                       wait: bool = True, progress: bool | Progress = False,
                                       **overrides: Any) -> dict[str, Any]:
        """RestoreTableToPointInTime as of ``at`` (default: the latest restorable time)."""
        flow = backups.restore_to_point_in_time(source, target, at, Wait() if wait else None, progress, overrides)
        return flows.run_sync(flow, self._call)
