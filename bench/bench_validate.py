"""Micro-benchmark: µs per validate_request call for typical GetItem, PutItem and Query bodies.

Run: .venv/bin/python bench/bench_validate.py
"""

from __future__ import annotations

import timeit

from dynamoray.schemas.validate import validate_request

BODIES = {
    "GetItem": {
        "TableName": "Music",
        "Key": {"Artist": {"S": "No One You Know"}, "SongTitle": {"S": "Call Me Today"}},
        "ProjectionExpression": "#a, Year",
        "ExpressionAttributeNames": {"#a": "AlbumTitle"},
        "ConsistentRead": True,
    },
    "PutItem": {
        "TableName": "Music",
        "Item": {
            "Artist": {"S": "No One You Know"},
            "SongTitle": {"S": "Call Me Today"},
            "AlbumTitle": {"S": "Somewhat Famous"},
            "Year": {"N": "2015"},
            "Tags": {"SS": ["pop", "indie"]},
            "Awards": {"M": {"Grammy": {"N": "1"}}},
        },
        "ConditionExpression": "attribute_not_exists(Artist)",
        "ReturnValues": "NONE",
        "ReturnConsumedCapacity": "TOTAL",
    },
    "Query": {
        "TableName": "Music",
        "IndexName": "AlbumIndex",
        "KeyConditionExpression": "Artist = :a AND begins_with(SongTitle, :t)",
        "FilterExpression": "#y > :y",
        "ExpressionAttributeNames": {"#y": "Year"},
        "ExpressionAttributeValues": {":a": {"S": "No One You Know"}, ":t": {"S": "Call"}, ":y": {"N": "2000"}},
        "Limit": 25,
        "ScanIndexForward": False,
        "ReturnConsumedCapacity": "INDEXES",
    },
}


def main() -> None:
    for operation, body in BODIES.items():
        validate_request("dynamodb", operation, body)  # compile once, outside the timing
        runs = 20_000
        best = min(timeit.repeat(lambda: validate_request("dynamodb", operation, body), number=runs, repeat=5))  # noqa: B023  (called before the loop moves on)
        print(f"{operation:8s} {best / runs * 1e6:6.2f} µs/call")


if __name__ == "__main__":
    main()
