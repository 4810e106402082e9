"""CloudTrail-shaped audit records (pure: the time, ids and the caller come in as arguments).

:func:`record` builds one record per API call in CloudTrail's shape (``eventVersion``,
``eventTime``, ``eventSource`` ``dynamodb.amazonaws.com``, ``eventName``, ``awsRegion``,
``userIdentity``, ``sourceIPAddress``, ``userAgent``, ``requestParameters``,
``responseElements``, ``errorCode``/``errorMessage``, ``requestID``, ``eventID``, ``readOnly``,
``resources``, ``eventType``, ``managementEvent``, ``recipientAccountId``, ``eventCategory``).

- **Control-plane calls** (CreateTable, UpdateTable, tags, backups, ...) are management events,
  always recorded; **data-plane calls** (item reads and writes, PartiQL, stream records) are data
  events, recorded for the tables that ask for them (``gateway/audit.py``).
- **requestParameters never hold item values.**  Member names are camelCased as CloudTrail does.
  A call's primary key stays (``key``, like CloudTrail's data events; a put's key is taken from its
  item when the key schema is known), and so do expressions and ``expressionAttributeNames``.
  Dropped: items, ``ExpressionAttributeValues``, PartiQL ``Parameters``, the values of the legacy
  ``Expected``/``AttributeUpdates``/``QueryFilter``/``ScanFilter``/``KeyConditions`` (only their
  attribute names stay), and PartiQL statements are kept with their literals replaced by ``?``.
- **responseElements** are the response of a control-plane call that changed something (a table
  description, ...); ``null`` for reads and data events, as in CloudTrail, and for the admin API
  (which hands out secrets).
- :func:`matches` filters records for ``dynamoray audit`` (table, event name, time, user).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping

EVENT_VERSION = "1.09"
DYNAMODB_SOURCE = "dynamodb.amazonaws.com"
ADMIN_SOURCE = "dynamoray.admin"  # the admin API (users, keys, hooks, audit, usage): an extension

DATA_EVENTS = frozenset({
    "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem", "BatchWriteItem",
    "TransactGetItems", "TransactWriteItems", "ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction",
    "GetRecords", "GetShardIterator",
})
_READS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems", "GetRecords", "GetShardIterator"})
_READ_PREFIXES = ("Describe", "List", "Get", "Lookup")
_KEY_MEMBERS = frozenset({"Key", "ExclusiveStartKey", "LastEvaluatedKey"})
_NAME_ONLY = frozenset({"Expected", "AttributeUpdates", "QueryFilter", "ScanFilter", "KeyConditions"})
_DROPPED = frozenset({"Item", "ExpressionAttributeValues", "Parameters", "Function", "SecretAccessKey",
                      "PolicyDocument"})
_LITERAL = re.compile(r"'(?:[^']|'')*'|(?<![\w.$])-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")


def is_data_event(name: str) -> bool:
    return name in DATA_EVENTS


def read_only(name: str, body: Mapping[str, Any]) -> bool:
    if name in _READS:
        return True
    if name == "ExecuteStatement":
        return str(body.get("Statement", "")).lstrip()[:6].upper() == "SELECT"
    if name in DATA_EVENTS:
        return False
    return name.startswith(_READ_PREFIXES)


def camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def redact_statement(text: str) -> str:
    """A PartiQL statement with its string and number literals replaced by ``?``."""
    return _LITERAL.sub("?", text)


def _scrub(value: Any, key_of: Callable[[str, dict], dict | None] | None, table: str | None) -> Any:
    """A request member without item values, its member names camelCased."""
    if isinstance(value, list):
        return [_scrub(entry, key_of, table) for entry in value]
    if not isinstance(value, dict):
        return value
    table = value.get("TableName", table) if isinstance(value.get("TableName", table), str) else table
    out: dict[str, Any] = {}
    for member, inner in value.items():
        if member in _KEY_MEMBERS or member == "ExpressionAttributeNames":
            out[camel(member)] = inner
        elif member == "Keys" and isinstance(inner, list):
            out["keys"] = inner
        elif member == "Item":
            key = key_of(table, inner) if key_of is not None and table is not None and isinstance(inner, dict) else None
            if key is not None:
                out["key"] = key
        elif member in _DROPPED:
            continue
        elif member in _NAME_ONLY and isinstance(inner, dict):
            out[camel(member)] = sorted(inner)
        elif member == "Statement" and isinstance(inner, str):
            out["statement"] = redact_statement(inner)
        elif member == "RequestItems" and isinstance(inner, dict):
            out["requestItems"] = {name: _scrub(spec, key_of, name) for name, spec in inner.items()}
        else:
            out[camel(member)] = _scrub(inner, key_of, table)
    return out


def request_parameters(body: Mapping[str, Any], key_of: Callable[[str, dict], dict | None] | None = None) -> dict:
    """``requestParameters``: the request without item values (``key_of(table, item)`` gives a put
    item's key, or None)."""
    return _scrub(dict(body), key_of, None)


def _camel_all(value: Any) -> Any:
    if isinstance(value, list):
        return [_camel_all(entry) for entry in value]
    if isinstance(value, dict):
        return {camel(k): _camel_all(v) for k, v in value.items()}
    return value


def response_elements(name: str, response: Mapping[str, Any] | None, source: str = DYNAMODB_SOURCE) -> dict | None:
    """``responseElements``: a control-plane change's response, camelCased; None otherwise."""
    if response is None or source != DYNAMODB_SOURCE or name in DATA_EVENTS or name.startswith(_READ_PREFIXES):
        return None
    return _camel_all(dict(response)) or None


def user_identity(arn: str, access_key: str, account_id: str) -> dict:
    """CloudTrail's ``userIdentity`` for the signer of a request."""
    if arn.endswith(":root"):
        return {"type": "Root", "principalId": account_id, "arn": arn, "accountId": account_id,
                "accessKeyId": access_key}
    if ":assumed-role/" in arn:
        role = arn.split(":assumed-role/", 1)[1].split("/")[0]
        return {"type": "AssumedRole", "principalId": access_key, "arn": arn, "accountId": account_id,
                "accessKeyId": access_key, "sessionContext": {"sessionIssuer": {"type": "Role", "userName": role}}}
    return {"type": "IAMUser", "principalId": access_key, "arn": arn, "accountId": account_id,
            "accessKeyId": access_key, "userName": arn.rsplit("/", 1)[-1]}


def event_time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_id(request_id: str) -> str:
    """A UUID-shaped event id from a request id (32 hex digits), unique as it is."""
    h = (request_id.lower() + "0" * 32)[:32]
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def record(*, name: str, time_ms: int, region: str, principal_arn: str, access_key: str, account_id: str,
           request_id: str, source_ip: str | None, user_agent: str | None, body: Mapping[str, Any],
           response: Mapping[str, Any] | None = None, error: tuple[str, str] | None = None,
           tables: Iterable[str] = (), admin: bool = False,
           key_of: Callable[[str, dict], dict | None] | None = None) -> dict:
    """One CloudTrail-shaped record of an API call (``error``: its code and message)."""
    source = ADMIN_SOURCE if admin else DYNAMODB_SOURCE
    data = not admin and is_data_event(name)
    out: dict[str, Any] = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": user_identity(principal_arn, access_key, account_id),
        "eventTime": event_time(time_ms),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": source_ip or "",
        "userAgent": user_agent or "",
        "requestParameters": request_parameters(body, key_of),
        "responseElements": None if error is not None else response_elements(name, response, source),
    }
    if error is not None:
        out["errorCode"], out["errorMessage"] = error
    out.update({
        "requestID": request_id,
        "eventID": event_id(request_id),
        "readOnly": read_only(name, body),
        "resources": [{"accountId": account_id, "type": "AWS::DynamoDB::Table",
                       "ARN": f"arn:aws:dynamodb:{region}:{account_id}:table/{t}"} for t in sorted(set(tables))],
        "eventType": "AwsApiCall",
        "managementEvent": not data,
        "recipientAccountId": account_id,
        "eventCategory": "Data" if data else "Management",
    })
    return out


def tables_of(record_: Mapping[str, Any]) -> list[str]:
    return [r["ARN"].rsplit(":table/", 1)[-1] for r in record_.get("resources") or ()]


def matches(record_: Mapping[str, Any], *, table: str | None = None, event_name: str | None = None,
            since: str | None = None, until: str | None = None, user: str | None = None) -> bool:
    """``dynamoray audit``'s filters: ``since``/``until`` are ISO 8601 UTC times (``eventTime``
    compares as text); ``user`` matches the caller's ARN, user name or access key id."""
    if table is not None and table not in tables_of(record_):
        return False
    if event_name is not None and record_.get("eventName") != event_name:
        return False
    when = record_.get("eventTime", "")
    if since is not None and when < since:
        return False
    if until is not None and when > until:
        return False
    if user is not None:
        identity = record_.get("userIdentity") or {}
        names = {identity.get("arn"), identity.get("userName"), identity.get("accessKeyId"),
                 (identity.get("arn") or "").rsplit("/", 1)[-1]}
        if user not in names:
            return False
    return True
