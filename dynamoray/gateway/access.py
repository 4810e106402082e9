"""What a request asks IAM for: its actions, resources and DynamoDB condition keys.

:func:`accesses` maps a validated request body to the :class:`Access` checks DynamoDB makes: one
for most operations; one per table for BatchGetItem/BatchWriteItem (their own actions); one per
item for transactions, with the underlying action (``dynamodb:PutItem``, ``UpdateItem``,
``DeleteItem``, ``ConditionCheckItem``, and ``GetItem`` for TransactGetItems); one per PartiQL
statement (``dynamodb:PartiQLSelect``/``PartiQLInsert``/``PartiQLUpdate``/``PartiQLDelete``,
``core/partiql/permissions.py``).  Resources are
table ARNs, ``.../index/<name>`` for index reads, stream ARNs and backup ARNs.

Condition keys (what :func:`leading_keys` and :func:`attributes` compute, only when a policy
asks for them):

- ``dynamodb:LeadingKeys``: the partition-key value of every item the request names (the Key or
  Item of single-item writes and reads, each key of a batch, Query's hash key).  Absent for Scan.
- ``dynamodb:Attributes``: the top-level attribute names the request reads or writes: key and
  projected attributes of reads, the attributes of a put item, the attributes an update sets or
  removes, and those its conditions and filters test.
- ``dynamodb:Select``: for reads, the request's Select, or the Select it amounts to:
  ``SPECIFIC_ATTRIBUTES`` with a projection, ``ALL_ATTRIBUTES`` without (so a policy requiring
  SPECIFIC_ATTRIBUTES also stops a GetItem that would return every attribute).
- ``dynamodb:ReturnValues`` and ``dynamodb:ReturnConsumedCapacity``: as sent, when sent.
- ``dynamodb:FullTableScan``: for a PartiQL SELECT, whether it scans rather than queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Callable, Mapping

from ..core import errors, partiql, values
from ..core.expressions import ExpressionContext, ast, legacy
from . import requests

ALL, SPECIFIC = "ALL_ATTRIBUTES", "SPECIFIC_ATTRIBUTES"


@dataclass(frozen=True, slots=True)
class Access:
    """One IAM check: ``action`` on ``resource``; ``shape`` and ``spec`` say how to read its keys."""

    action: str
    resource: str
    table: str | None = None  # the table whose key schema the condition keys need
    shape: str = ""  # get | put | update | delete | check | query | scan | batch_get | batch_write
    spec: Any = None  # the part of the body this check covers
    context: Mapping[str, str] = field(default_factory=dict)  # cheap keys, always present


def table_arn(region: str, account: str, table: str) -> str:
    return table if table.startswith("arn:") else f"arn:aws:dynamodb:{region}:{account}:table/{table}"


def table_name(table: str) -> str:
    """A TableName parameter may also be the table's ARN."""
    if table.startswith("arn:") and ":table/" in table:
        return table.split(":table/", 1)[1].split("/")[0]
    return table


class _Builder:
    def __init__(self, region: str, account: str, body: dict) -> None:
        self.region, self.account, self.body = region, account, body
        consumed = body.get("ReturnConsumedCapacity")
        self.common = {"dynamodb:returnconsumedcapacity": consumed} if isinstance(consumed, str) else {}

    def arn(self, table: str, index: str | None = None) -> str:
        base = table_arn(self.region, self.account, table)
        return f"{base}/index/{index}" if index else base

    def item(self, action: str, shape: str, spec: dict) -> Access:
        table = spec.get("TableName", "")
        context = dict(self.common)
        if shape in ("put", "update", "delete") and isinstance(spec.get("ReturnValues"), str):
            context["dynamodb:returnvalues"] = spec["ReturnValues"]
        if shape in ("get", "query", "scan", "batch_get"):
            context["dynamodb:select"] = _select(spec)
        resource = self.arn(table, spec.get("IndexName") if shape in ("query", "scan") else None)
        return Access(action, resource, table_name(table), shape, spec, context)

    def plain(self, action: str, resource: str) -> Access:
        return Access(action, resource, None, "", None, dict(self.common))


def _select(spec: dict) -> str:
    select = spec.get("Select")
    if isinstance(select, str):
        return select
    return SPECIFIC if ("ProjectionExpression" in spec or "AttributesToGet" in spec) else ALL


_SINGLE = {"GetItem": "get", "PutItem": "put", "UpdateItem": "update", "DeleteItem": "delete",
           "Query": "query", "Scan": "scan"}
_TRANSACT = {"Put": ("PutItem", "put"), "Update": ("UpdateItem", "update"), "Delete": ("DeleteItem", "delete"),
             "ConditionCheck": ("ConditionCheckItem", "check"), "Get": ("GetItem", "get")}
_ANY_RESOURCE = frozenset({
    "ListTables", "DescribeLimits", "DescribeEndpoints", "ListBackups", "ListGlobalTables", "ListExports",
    "ListImports", "ListStreams", "ListContributorInsights",
})
_ARN_PARAMS = ("ResourceArn", "StreamArn", "BackupArn", "TableArn", "ExportArn", "ImportArn")


def accesses(service: str, name: str, body: dict, region: str, account: str,
             stream_arn_of: Callable[[str], str] | None = None) -> list[Access]:
    """The IAM checks a request needs (``stream_arn_of`` decodes a GetRecords shard iterator)."""
    b = _Builder(region, account, body)
    action = f"dynamodb:{name}"
    if name in _SINGLE:
        return [b.item(action, _SINGLE[name], body)]
    if name == "BatchGetItem":
        return [b.item(action, "batch_get", {**spec, "TableName": t}) for t, spec in _items(body)]
    if name == "BatchWriteItem":
        return [b.item(action, "batch_write", {"TableName": t, "Requests": r}) for t, r in _items(body)]
    if name in ("TransactWriteItems", "TransactGetItems"):
        return _transaction(b, body)
    if name in _PARTIQL:
        return _partiql(b, body.get(_PARTIQL[name]) if _PARTIQL[name] else [body])
    if name == "GetRecords" and stream_arn_of is not None:
        return [b.plain(action, stream_arn_of(body.get("ShardIterator", "")))]
    if name in _ANY_RESOURCE:
        return [b.plain(action, "*")]
    for param in _ARN_PARAMS:
        if isinstance(body.get(param), str):
            return [b.plain(action, body[param])]
    for param in ("TableName", "SourceTableName", "TargetTableName", "GlobalTableName"):
        if isinstance(body.get(param), str):
            return [b.plain(action, b.arn(body[param]))]
    created = body.get("TableCreationParameters")  # ImportTable: the table it creates
    if name == "ImportTable" and isinstance(created, dict) and isinstance(created.get("TableName"), str):
        return [b.plain(action, b.arn(created["TableName"]))]
    return [b.plain(action, "*")]


# --- PartiQL: one check per statement, dynamodb:PartiQLSelect/Insert/Update/Delete ----------------

_PARTIQL = {"ExecuteStatement": None, "BatchExecuteStatement": "Statements", "ExecuteTransaction": "TransactStatements"}


def _partiql(b: _Builder, specs: Any) -> list[Access]:
    """A statement that does not parse needs no check: its handler reports the error."""
    out = []
    for spec in specs if isinstance(specs, list) else ():
        if not isinstance(spec, dict):
            continue
        try:
            statement = partiql.prepare(spec.get("Statement", ""), spec.get("Parameters"))
        except errors.DynamoError:
            continue
        source = partiql.source_of(statement)
        out.append(Access(partiql.permissions.action(statement), b.arn(source.table, source.index),
                          table_name(source.table), "partiql" if source.index is None else "partiql_index",
                          statement, dict(b.common)))
    return out


def _items(body: dict) -> list[tuple[str, Any]]:
    items = body.get("RequestItems")
    return list(items.items()) if isinstance(items, dict) else []


def _transaction(b: _Builder, body: dict) -> list[Access]:
    out = []
    for entry in body.get("TransactItems") or []:
        if not isinstance(entry, dict):
            continue
        for kind, spec in entry.items():
            if kind in _TRANSACT and isinstance(spec, dict):
                op, shape = _TRANSACT[kind]
                out.append(b.item(f"dynamodb:{op}", shape, spec))
    return out


# --- dynamodb:LeadingKeys --------------------------------------------------------------------------


def _key_text(value: Any) -> str | None:
    if not isinstance(value, dict) or len(value) != 1:
        return None
    kind, raw = next(iter(value.items()))
    if kind == "N":
        try:
            return values.normalize_number(raw)
        except errors.DynamoError:
            return None
    return raw if kind in ("S", "B") and isinstance(raw, str) else None


def _maps(access: Access) -> list[dict]:
    spec = access.spec
    if access.shape == "put":
        return [spec.get("Item")]
    if access.shape in ("get", "update", "delete", "check"):
        return [spec.get("Key")]
    if access.shape == "batch_get":
        return list(spec.get("Keys") or [])
    if access.shape == "batch_write":
        out = []
        for request in spec.get("Requests") or []:
            if isinstance(request, dict):
                out.append((request.get("PutRequest") or {}).get("Item") or (request.get("DeleteRequest") or {}).get("Key"))
        return out
    return []


def leading_keys(access: Access, schema: Any) -> tuple[str, ...] | None:
    """The partition-key values the request touches (None when it names none: Scan, control plane)."""
    if access.shape == "scan" or not access.shape or access.shape == "partiql_index":
        return None
    if access.shape == "partiql":
        try:
            found = partiql.permissions.leading_keys(access.spec, schema)
        except errors.DynamoError:
            return None  # the handler reports the statement's error
        return None if found is None else tuple(dict.fromkeys(t for t in map(_key_text, found) if t is not None))
    if access.shape == "query":
        value = requests.key_condition(ExpressionContext(*_placeholders(access.spec)), access.spec, schema).hash_value
        text = _key_text(value)
        return (text,) if text is not None else ()
    found = []
    for item in _maps(access):
        text = _key_text(item.get(schema.hash_name)) if isinstance(item, dict) else None
        if text is not None:
            found.append(text)
    return tuple(dict.fromkeys(found))


def full_table_scan(access: Access, schema: Any) -> str | None:
    """``dynamodb:FullTableScan`` of a PartiQL SELECT: "true" when it scans the table or index."""
    if not access.shape.startswith("partiql") or not isinstance(access.spec, partiql.Select):
        return None
    if access.shape == "partiql_index":
        return None if access.spec.where is not None else "true"
    try:
        return "true" if partiql.read_plan(access.spec, schema).scan is not None else "false"
    except errors.DynamoError:
        return None


# --- dynamodb:Attributes ---------------------------------------------------------------------------


def _placeholders(spec: dict) -> tuple[Any, Any]:
    return spec.get("ExpressionAttributeNames"), spec.get("ExpressionAttributeValues")


def top_level_names(node: Any) -> set[str]:
    """The first element of every document path in an expression AST."""
    if isinstance(node, ast.Path):
        first = node.elements[0] if node.elements else None
        return {first} if isinstance(first, str) else set()
    if isinstance(node, ast.KeyCondition):
        return {node.hash_name} | ({node.range.name} if node.range is not None else set())
    if isinstance(node, (tuple, list)):
        return set().union(*(top_level_names(n) for n in node)) if node else set()
    if is_dataclass(node) and not isinstance(node, ast.Literal):
        return set().union(*(top_level_names(getattr(node, f.name)) for f in fields(node)))
    return set()


def _expression_nodes(access: Access, schema: Any) -> list[Any]:
    spec, shape = access.spec, access.shape
    ex = ExpressionContext(*_placeholders(spec))
    nodes: list[Any] = []
    if shape in ("get", "query", "scan", "batch_get"):
        nodes.append(requests.projection(ex, spec))
    if shape in ("put", "update", "delete", "check"):
        nodes.append(requests.write_condition(ex, spec))
    if shape == "update":
        if "UpdateExpression" in spec:
            nodes.append(ex.update(spec["UpdateExpression"]))
        elif "AttributeUpdates" in spec:
            nodes.append(legacy.attribute_updates_to_update(spec["AttributeUpdates"]))
    if shape == "query":
        nodes.append(requests.key_condition(ex, spec, schema))
        nodes.append(requests.filter_condition(ex, spec, "QueryFilter"))
    if shape == "scan":
        nodes.append(requests.filter_condition(ex, spec, "ScanFilter"))
    return nodes


def attributes(access: Access, schema: Any) -> tuple[str, ...] | None:
    """The top-level attribute names the request reads, writes or tests (None: not an item access)."""
    if not access.shape:
        return None
    if access.shape.startswith("partiql"):
        return partiql.permissions.attribute_names(access.spec)
    names: set[str] = set()
    for item in _maps(access):
        if isinstance(item, dict):
            names |= set(item)
    for node in _expression_nodes(access, schema):
        if node is not None:
            names |= top_level_names(node)
    return tuple(sorted(names))
