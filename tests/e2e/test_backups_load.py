"""A backup taken during a transactional write load is a consistent cut (issue 7), on the local and
the Ray engine.

Writer threads move money between accounts spread over every shard of a table with
TransactWriteItems: debit one account (if it can pay), credit another, and put a ``tx#<id>``
record of the transfer, all or nothing.  Meanwhile CreateBackup runs several times, and instants
are noted for point-in-time recovery (they fall anywhere, inside commits too).  Every backup and
every instant, restored, must hold:

- the total of the balances, unchanged;
- each balance equal to its opening balance plus the transfers recorded in the table (no half
  transaction: a transfer is there with both of its balance changes, or not at all);
- every transfer acknowledged before CreateBackup was called (before the instant), and, for an
  instant, no transfer started after it.
"""

from __future__ import annotations

import itertools
import random
import threading
import time

import pytest
from botocore.exceptions import ClientError

from .conftest import create, make_client, unique
from .test_backups import wait_active

ACCOUNTS, OPENING, WRITERS = 12, 100, 3


def transfer(ddb, table: str, tx: str, src: str, dst: str, amount: int) -> None:
    ddb.transact_write_items(TransactItems=[
        {"Update": {"TableName": table, "Key": {"p": {"S": src}}, "UpdateExpression": "ADD balance :m",
                    "ConditionExpression": "balance >= :a",
                    "ExpressionAttributeValues": {":m": {"N": str(-amount)}, ":a": {"N": str(amount)}}}},
        {"Update": {"TableName": table, "Key": {"p": {"S": dst}}, "UpdateExpression": "ADD balance :a",
                    "ExpressionAttributeValues": {":a": {"N": str(amount)}}}},
        {"Put": {"TableName": table, "ConditionExpression": "attribute_not_exists(p)",
                 "Item": {"p": {"S": f"tx#{tx}"}, "src": {"S": src}, "dst": {"S": dst}, "amount": {"N": str(amount)}}}},
    ])


class Load:
    """Writer threads making transfers until stopped; ``acked`` maps a transfer id to (started,
    acknowledged) times."""

    def __init__(self, endpoint: str, table: str) -> None:
        self.endpoint, self.table = endpoint, table
        self.acked: dict[str, tuple[float, float]] = {}
        self.started: dict[str, float] = {}
        self.stop = threading.Event()
        self.errors: list[Exception] = []
        self.threads = [threading.Thread(target=self.run, args=(w,)) for w in range(WRITERS)]

    def run(self, writer: int) -> None:
        ddb, rng = make_client(self.endpoint), random.Random(writer)
        for n in itertools.count():
            if self.stop.is_set():
                return
            src, dst = rng.sample(range(ACCOUNTS), 2)
            tx = f"{writer}-{n}"
            self.started[tx] = time.time()
            try:
                transfer(ddb, self.table, tx, f"acct{src}", f"acct{dst}", rng.randint(1, 30))
            except ClientError as error:
                if error.response["Error"]["Code"] not in ("TransactionCanceledException",
                                                           "TransactionConflictException"):
                    self.errors.append(error)
                continue
            self.acked[tx] = (self.started[tx], time.time())

    def acked_before(self, moment: float) -> set[str]:
        return {tx for tx, (_, acked) in list(self.acked.items()) if acked < moment}

    def started_after(self, moment: float) -> set[str]:
        return {tx for tx, started in list(self.started.items()) if started > moment}


def check(ddb, name: str, must_have: set[str], must_not_have: set[str] = frozenset()) -> int:
    """The invariants of a restored table; returns the transfers it holds."""
    pages = ddb.get_paginator("scan").paginate(TableName=name, ConsistentRead=True)
    items = [i for page in pages for i in page["Items"]]
    balances = {i["p"]["S"]: int(i["balance"]["N"]) for i in items if not i["p"]["S"].startswith("tx#")}
    transfers = {i["p"]["S"][3:]: i for i in items if i["p"]["S"].startswith("tx#")}
    assert sum(balances.values()) == ACCOUNTS * OPENING, name
    implied = {f"acct{a}": OPENING for a in range(ACCOUNTS)}
    for t in transfers.values():
        implied[t["src"]["S"]] -= int(t["amount"]["N"])
        implied[t["dst"]["S"]] += int(t["amount"]["N"])
    assert balances == implied, name  # every recorded transfer, with both of its changes, and nothing else
    assert must_have <= transfers.keys(), (name, sorted(must_have - transfers.keys())[:5])
    assert not must_not_have & transfers.keys(), (name, sorted(must_not_have & transfers.keys())[:5])
    return len(transfers)


def test_backups_and_instants_under_a_transactional_load_are_consistent_cuts(server, ddb, request):
    if request.node.callspec.params.get("server") == "local-kafka":
        pytest.skip("the local and Ray engines are enough here (the Kafka log's cut is the same code)")
    table = create(ddb, [("p", "S", "HASH")])
    for a in range(ACCOUNTS):
        ddb.put_item(TableName=table, Item={"p": {"S": f"acct{a}"}, "balance": {"N": str(OPENING)}})
    ddb.update_continuous_backups(TableName=table,
                                  PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    load = Load(server.endpoint, table)
    for thread in load.threads:
        thread.start()
    cuts, instants = [], []
    try:
        time.sleep(0.5)
        for _ in range(3):
            called = time.time()
            backup = ddb.create_backup(TableName=table, BackupName=unique("load"))["BackupDetails"]
            cuts.append((backup["BackupArn"], load.acked_before(called)))
            time.sleep(0.2)
            instants.append(time.time())
            time.sleep(0.3)
    finally:
        load.stop.set()
        for thread in load.threads:
            thread.join(60)
    assert load.errors == [] and len(load.acked) > 20
    held = []
    for arn, acked in cuts:
        target = unique("cut")
        ddb.restore_table_from_backup(TargetTableName=target, BackupArn=arn)
        wait_active(ddb, target, deadline=120)
        held.append(check(ddb, target, acked))
    for moment in instants:
        target = unique("instant")
        ddb.restore_table_to_point_in_time(SourceTableName=table, TargetTableName=target, RestoreDateTime=moment)
        wait_active(ddb, target, deadline=120)
        held.append(check(ddb, target, load.acked_before(moment), load.started_after(moment + 0.002)))
    check(ddb, table, set(load.acked))  # the table itself, after the load
    in_time_order = [held[i // 2 + (i % 2) * len(cuts)] for i in range(len(held))]  # cut, instant, cut...
    assert in_time_order == sorted(in_time_order) and held[-1] > held[0]  # later cuts hold more transfers
