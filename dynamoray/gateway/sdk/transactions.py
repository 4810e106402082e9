"""Transactions as context managers.

    with client.transaction() as tx:          # async: async with client.transaction() as tx:
        tx.put(orders, {"pk": "o#1", "state": "new"}, condition=Attr("pk").not_exists())
        tx.update(stock, {"sku": "s1"}, Update().add("count", -1), condition=Attr("count").gt(0))

The actions are collected and sent as one TransactWriteItems when the block ends without an
exception (nothing is sent if it raises).  A failed condition or conflict raises
:class:`TransactionCanceledException`, whose ``reasons`` say which action failed and why.  Every
transaction carries a ``ClientRequestToken`` (a fresh uuid4 unless given), so the automatic
retries after a lost answer are idempotent, as with botocore.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Union

from .convert import item_to_wire
from .expressions import Attr, Condition, Placeholders, Update, projection
from .table_base import TableBase

if TYPE_CHECKING:
    from .client_async import AsyncClient
    from .client_sync import Client

TableRef = Union[str, TableBase[Any]]


def _name(table: TableRef) -> str:
    return table if isinstance(table, str) else table.name


def _key(table: TableRef, key: Any) -> dict[str, Any]:
    return dict(key) if isinstance(table, str) else table._key(key)


def _conditional(action: dict[str, Any], p: Placeholders, condition: Condition | None,
                 on_condition_failure: str) -> dict[str, Any]:
    if condition is not None:
        action["ConditionExpression"] = condition.render(p)
    if on_condition_failure != "NONE":
        action["ReturnValuesOnConditionCheckFailure"] = on_condition_failure
    action.update(p.params())
    return action


class TransactionBuilder:
    """Collects the actions of one TransactWriteItems (at most 100, on distinct items)."""

    def __init__(self, token: str | None = None) -> None:
        self.token = token or str(uuid.uuid4())
        self.actions: list[dict[str, Any]] = []

    def put(self, table: TableRef, item: Any, *, condition: Condition | None = None,
            on_condition_failure: str = "NONE") -> None:
        attributes = item if isinstance(table, str) else table._item(item)
        action = {"TableName": _name(table), "Item": item_to_wire(attributes)}
        self.actions.append({"Put": _conditional(action, Placeholders(), condition, on_condition_failure)})

    def update(self, table: TableRef, key: Any, update: Update, *, condition: Condition | None = None,
               on_condition_failure: str = "NONE") -> None:
        p = Placeholders()
        action = {"TableName": _name(table), "Key": item_to_wire(_key(table, key)),
                  "UpdateExpression": update.render(p)}
        self.actions.append({"Update": _conditional(action, p, condition, on_condition_failure)})

    def delete(self, table: TableRef, key: Any, *, condition: Condition | None = None,
               on_condition_failure: str = "NONE") -> None:
        action = {"TableName": _name(table), "Key": item_to_wire(_key(table, key))}
        self.actions.append({"Delete": _conditional(action, Placeholders(), condition, on_condition_failure)})

    def condition_check(self, table: TableRef, key: Any, condition: Condition, *,
                        on_condition_failure: str = "NONE") -> None:
        action = {"TableName": _name(table), "Key": item_to_wire(_key(table, key))}
        self.actions.append({"ConditionCheck": _conditional(action, Placeholders(), condition,
                                                            on_condition_failure)})

    def payload(self) -> dict[str, Any]:
        return {"TransactItems": self.actions, "ClientRequestToken": self.token}


class Transaction(TransactionBuilder):
    """``with client.transaction() as tx:`` (sync): commits when the block ends normally."""

    def __init__(self, client: Client, token: str | None = None) -> None:
        super().__init__(token)
        self._client = client
        self.committed = False

    def __enter__(self) -> Transaction:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if kind is None:
            self.commit()

    def commit(self) -> None:
        if self.actions and not self.committed:
            self._client._call("TransactWriteItems", self.payload())
        self.committed = True


class AsyncTransaction(TransactionBuilder):
    """``async with client.transaction() as tx:``: commits when the block ends normally."""

    def __init__(self, client: AsyncClient, token: str | None = None) -> None:
        super().__init__(token)
        self._client = client
        self.committed = False

    async def __aenter__(self) -> AsyncTransaction:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        if kind is None:
            await self.commit()

    async def commit(self) -> None:
        if self.actions and not self.committed:
            await self._client._call("TransactWriteItems", self.payload())
        self.committed = True


@dataclass(frozen=True)
class Get:
    """One read of :meth:`Client.transact_get`."""

    table: TableRef
    key: Any
    projection: Iterable[Attr | str] | None = None

    def action(self) -> dict[str, Any]:
        p = Placeholders()
        action: dict[str, Any] = {"TableName": _name(self.table), "Key": item_to_wire(_key(self.table, self.key))}
        if self.projection is not None:
            action["ProjectionExpression"] = projection(self.projection, p)
        action.update(p.params())
        return {"Get": action}

    def load(self, response: dict[str, Any]) -> Any:
        from .convert import item_from_wire

        raw = response.get("Item")
        if not raw:
            return None
        attributes = item_from_wire(raw)
        return attributes if isinstance(self.table, str) else self.table._load(attributes)
