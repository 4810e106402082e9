"""The gateway bench's data: a table keyed (pk S, sk N), 1 KB items, and the request bodies.

``partitions`` partition keys hold ``per_partition`` items each, so a Query of one partition returns
about ten items.  Request bodies are built before the timed phases, in pools cycled by the clients,
so the timed loop only signs and sends.  Sizes follow DynamoDB's item-size rule
(:func:`dynamoray.core.values.item_size`): every item is exactly ``item_bytes``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Iterator

import orjson

from dynamoray.core.values import item_size

GET, PUT, UPDATE, QUERY = "GetItem", "PutItem", "UpdateItem", "Query"
OPERATIONS = (GET, PUT, UPDATE, QUERY)
BATCH = 25


@dataclass(frozen=True)
class Workload:
    table: str = "bench"
    partitions: int = 200
    per_partition: int = 10
    item_bytes: int = 1024

    @property
    def items(self) -> int:
        return self.partitions * self.per_partition

    def key(self, partition: int, sort: int) -> dict:
        return {"pk": {"S": f"user#{partition:06d}"}, "sk": {"N": str(sort)}}

    def item(self, partition: int, sort: int, version: int) -> dict:
        """An item of exactly ``item_bytes`` (DynamoDB's size: names plus values)."""
        item = {**self.key(partition, sort), "v": {"N": str(version)}, "data": {"S": ""}}
        pad = self.item_bytes - item_size(item)
        if pad < 0:
            raise ValueError(f"item_bytes {self.item_bytes} is below the key's own size")
        item["data"] = {"S": (f"{partition}-{sort}-{version}-" * (pad // 8 + 1))[:pad]}
        return item

    def create_table(self) -> dict:
        return {
            "TableName": self.table,
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                          {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                     {"AttributeName": "sk", "AttributeType": "N"}],
            "BillingMode": "PAY_PER_REQUEST",
        }

    def preload(self) -> Iterator[dict]:
        """BatchWriteItem payloads that put every item once (25 per request)."""
        puts = [{"PutRequest": {"Item": self.item(p, s, 0)}}
                for p in range(self.partitions) for s in range(self.per_partition)]
        for start in range(0, len(puts), BATCH):
            yield {"RequestItems": {self.table: puts[start : start + BATCH]}}

    def payload(self, operation: str, rng: random.Random) -> dict:
        partition, sort = rng.randrange(self.partitions), rng.randrange(self.per_partition)
        if operation == GET:
            return {"TableName": self.table, "Key": self.key(partition, sort)}
        if operation == PUT:
            return {"TableName": self.table, "Item": self.item(partition, sort, rng.randrange(10**6))}
        if operation == UPDATE:
            return {"TableName": self.table, "Key": self.key(partition, sort),
                    "UpdateExpression": "SET #s = :s ADD #h :one",
                    "ExpressionAttributeNames": {"#s": "status", "#h": "hits"},
                    "ExpressionAttributeValues": {":s": {"S": f"seen-{rng.randrange(100)}"},
                                                  ":one": {"N": "1"}}}
        if operation == QUERY:
            return {"TableName": self.table, "KeyConditionExpression": "pk = :p",
                    "ExpressionAttributeValues": {":p": self.key(partition, 0)["pk"]}}
        raise ValueError(operation)

    def pools(self, size: int, seed: int) -> dict[str, list[bytes]]:
        """``size`` encoded request bodies per operation, reproducible from ``seed``."""
        rng = random.Random(seed)
        return {op: [orjson.dumps(self.payload(op, rng)) for _ in range(size)] for op in OPERATIONS}
