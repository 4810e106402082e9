"""Shared pieces of the hook tests: tables, an orders workload, the totals hook and its check."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from typing import Any, Callable

from dynamoray.core import tables
from dynamoray.core.commands import DeleteCommand, PutCommand, ScanSpec
from dynamoray.events.consumer import GroupMember



def description(name: str, hash_name: str = "id") -> dict:
    request = {"TableName": name, "KeySchema": [{"AttributeName": hash_name, "KeyType": "HASH"}],
               "AttributeDefinitions": [{"AttributeName": hash_name, "AttributeType": "S"}],
               "BillingMode": "PAY_PER_REQUEST"}
    return tables.new_table_description(request, arn=f"arn:aws:dynamodb:us-east-1:000000000000:table/{name}",
                                        table_id=str(uuid.uuid4()), now=time.time())


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def make_totals(totals: str) -> Callable:
    """A hook keeping per-customer ``amount_sum`` and ``orders_count`` of an orders table."""

    def totals_hook(records: list, ctx: Any) -> None:
        for record in records:
            body = record["dynamodb"]
            for image, sign in ((body.get("OldImage"), -1), (body.get("NewImage"), 1)):
                if image:
                    ctx.update_item(TableName=totals, Key={"customer": image["customer"]},
                                    UpdateExpression="ADD amount_sum :a, orders_count :n",
                                    ExpressionAttributeValues={":a": {"N": str(sign * int(image["amount"]["N"]))},
                                                               ":n": {"N": str(sign)}})

    return totals_hook


def order(i: int, customer: int, amount: int) -> PutCommand:
    return PutCommand({"id": {"S": f"o{i}"}, "customer": {"S": f"c{customer}"}, "amount": {"N": str(amount)}})


def delete_order(i: int) -> DeleteCommand:
    return DeleteCommand({"id": {"S": f"o{i}"}})


async def scan_all(engine: Any, table: str) -> list[dict]:
    items, start = [], None
    while True:
        page = await engine.scan(table, ScanSpec(exclusive_start=start), True)
        items.extend(page.items)
        start = page.last_evaluated_key
        if start is None:
            return items


def expected_totals(orders: list[dict]) -> dict[str, tuple[int, int]]:
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for item in orders:
        out[item["customer"]["S"]][0] += int(item["amount"]["N"])
        out[item["customer"]["S"]][1] += 1
    return {c: (a, n) for c, (a, n) in out.items()}


def actual_totals(items: list[dict]) -> dict[str, tuple[int, int]]:
    out = {i["customer"]["S"]: (int(i["amount_sum"]["N"]), int(i["orders_count"]["N"])) for i in items}
    return {c: v for c, v in out.items() if v != (0, 0)}


async def until(check: Callable, timeout: float = 60.0, interval: float = 0.05) -> Any:
    """Await ``check()`` (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(interval)


class Greedy(GroupMember):
    """A member that owns every partition whatever the group says (a zombie, or a rebalance overlap)."""

    def assignment(self):
        return self.partitions()

    def committed(self, topic, partition):
        return None

    def commit(self, topic, partition, offset):
        pass

    def close(self):
        pass


def greedy_join(log, group, topics, member_id, starting_position, session_ms=0):
    return Greedy(log, group, topics, member_id, starting_position)
