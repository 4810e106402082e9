"""dynamoray's stream extensions for boto3 users (``docs/extensions.md``).

A stock ``dynamodbstreams`` client keeps working against dynamoray; these helpers only add what
its service model cannot express:

- :func:`keep_transaction_members`: botocore builds each GetRecords record from the service model
  and drops members it does not know, such as dynamoray's ``dynamorayTransaction`` (the
  transaction id of a record and its position, "Index of Count").  Registered on a client, it
  copies that member from the raw answer into the parsed records.
- :data:`REPLAY_TRIM_HORIZON` and the other ``REPLAY_*`` iterator types: botocore does not check
  enum values, so ``get_shard_iterator(ShardIteratorType=REPLAY_TRIM_HORIZON, ...)`` reaches the
  server, which then reads the stream from any retained point of the log rather than the last 24
  hours.
"""

from __future__ import annotations

import json
from typing import Any

TRANSACTION_MEMBER = "dynamorayTransaction"  # = events.streams.TRANSACTION_MEMBER (no server import here)
REPLAY_TRIM_HORIZON = "REPLAY_TRIM_HORIZON"
REPLAY_AT_TIMESTAMP = "REPLAY_AT_TIMESTAMP"
REPLAY_AT_SEQUENCE_NUMBER = "REPLAY_AT_SEQUENCE_NUMBER"
REPLAY_AFTER_SEQUENCE_NUMBER = "REPLAY_AFTER_SEQUENCE_NUMBER"


def keep_transaction_members(client: Any) -> Any:
    """Make ``client`` (a boto3 ``dynamodbstreams`` client) keep each record's
    ``dynamorayTransaction`` member; returns the client."""

    def copy(http_response: Any, parsed: dict, **_: Any) -> None:
        records = parsed.get("Records") if isinstance(parsed, dict) else None
        if not records:
            return
        try:
            raw = json.loads(http_response.content or b"{}").get("Records") or []
        except (ValueError, AttributeError):
            return
        for record, original in zip(records, raw):
            if isinstance(original, dict) and TRANSACTION_MEMBER in original:
                record[TRANSACTION_MEMBER] = original[TRANSACTION_MEMBER]

    client.meta.events.register(f"after-call.{client.meta.service_model.service_id.hyphenize()}.GetRecords", copy)
    return client
