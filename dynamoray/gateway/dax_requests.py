"""What the standalone accelerator (``dax_process.py``) may answer itself, read from a request's JSON.

Pure functions over the request body as the client sent it (no I/O):

- :func:`plan_read`: whether an eventually consistent GetItem, BatchGetItem, Query or Scan can be
  looked up in the caches, and under which cache keys.  Only requests the upstream would accept
  exactly as they are qualify: a known set of parameters, keys already in normal form (numbers
  normalized, base64 canonical), no projection.  Anything else is forwarded, so every validation
  error still comes from the upstream, word for word.
- :func:`hit_response`: the answer to a request the caches hold entirely (a hit consumes nothing,
  as on DAX: ``ConsumedCapacity`` is 0 when asked for).
- :func:`write_effects`: what a successful write does to the item cache (write-through images,
  keys to evict, tables to drop).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from ..core import capacity, values
from ..core.errors import DynamoError

MODES = (None, "NONE", "TOTAL", "INDEXES")
GET_FIELDS = frozenset({"TableName", "Key", "ConsistentRead", "ReturnConsumedCapacity"})
BATCH_FIELDS = frozenset({"RequestItems", "ReturnConsumedCapacity"})
BATCH_TABLE_FIELDS = frozenset({"Keys", "ConsistentRead"})
MAX_BATCH_KEYS = 100


@dataclass(frozen=True)
class ReadPlan:
    """A cacheable read: ``keys`` per table (item cache) or ``page`` (the query cache's key)."""

    op: str
    mode: str | None  # ReturnConsumedCapacity
    keys: dict[str, list[dict]] = field(default_factory=dict)  # table -> normalized keys
    table: str | None = None  # Query, Scan
    page: str | None = None
    resources: tuple[tuple[str, str | None], ...] = ()  # (table, index) the IAM action is on


def normal_key(key: Any) -> dict | None:
    """``key`` if it is a non-empty map of attribute values already in normal form, else None."""
    if not isinstance(key, dict) or not key:
        return None
    try:
        normal = values.validate_item(key)
    except DynamoError:
        return None
    return normal if normal == key else None


def _table(name: Any) -> str | None:
    return name if isinstance(name, str) and name and not name.startswith("arn:") else None


def _eventual(consistent: Any) -> bool:
    return consistent is None or consistent is False


def plan_read(op: str, body: dict) -> ReadPlan | None:
    """The cache plan of a read, or None: it goes to the upstream."""
    mode = body.get("ReturnConsumedCapacity")
    if mode not in MODES:
        return None
    if op == "GetItem":
        return _plan_get(body, mode)
    if op == "BatchGetItem":
        return _plan_batch(body, mode)
    if op in ("Query", "Scan"):
        table = _table(body.get("TableName"))
        index = body.get("IndexName")
        if table is None or not _eventual(body.get("ConsistentRead")) or not isinstance(index, (str, type(None))):
            return None
        request = {k: v for k, v in body.items() if k != "ReturnConsumedCapacity"}
        page = f"{op}:" + orjson.dumps(request, option=orjson.OPT_SORT_KEYS).decode()
        return ReadPlan(op, mode, table=table, page=page, resources=((table, index),))
    return None


def _plan_get(body: dict, mode: str | None) -> ReadPlan | None:
    table, key = _table(body.get("TableName")), normal_key(body.get("Key"))
    if table is None or key is None or not GET_FIELDS.issuperset(body) or not _eventual(body.get("ConsistentRead")):
        return None
    return ReadPlan("GetItem", mode, keys={table: [key]}, resources=((table, None),))


def _plan_batch(body: dict, mode: str | None) -> ReadPlan | None:
    requested = body.get("RequestItems")
    if not BATCH_FIELDS.issuperset(body) or not isinstance(requested, dict) or not requested:
        return None
    keys: dict[str, list[dict]] = {}
    count = 0
    for name, entry in requested.items():
        table = _table(name)
        if table is None or not isinstance(entry, dict) or not BATCH_TABLE_FIELDS.issuperset(entry):
            return None
        listed = entry.get("Keys")
        if not _eventual(entry.get("ConsistentRead")) or not isinstance(listed, list) or not listed:
            return None
        normal = [normal_key(k) for k in listed]
        tokens = {_token(k) for k in normal if k is not None}
        if len(tokens) != len(listed):  # a key not in normal form, or a duplicate (the upstream's error)
            return None
        keys[table] = normal
        count += len(normal)
    if count > MAX_BATCH_KEYS:
        return None
    return ReadPlan("BatchGetItem", mode, keys=keys, resources=tuple((t, None) for t in keys))


def _token(key: dict) -> tuple:
    return tuple(sorted((name, orjson.dumps(value, option=orjson.OPT_SORT_KEYS)) for name, value in key.items()))


def _consumed(table: str, mode: str | None) -> dict | None:
    return capacity.consumed_capacity(table, read_units=0, mode=mode)


def hit_response(plan: ReadPlan, found: dict[str, list[dict | None]] | dict) -> dict:
    """The answer of a request every part of which the caches hold: for GetItem/BatchGetItem,
    ``found`` maps each table to its keys' items (None: absent); for Query/Scan it is the page."""
    if plan.op in ("Query", "Scan"):
        response = dict(found)
        consumed = _consumed(plan.table, plan.mode)  # type: ignore[arg-type]
        if consumed is not None:
            response["ConsumedCapacity"] = consumed
        return response
    if plan.op == "GetItem":
        ((table, (item,)),) = found.items()
        response = {"Item": item} if item is not None else {}
        consumed = _consumed(table, plan.mode)
        if consumed is not None:
            response["ConsumedCapacity"] = consumed
        return response
    response = {"Responses": {table: [i for i in items if i is not None] for table, items in found.items()},
                "UnprocessedKeys": {}}
    if plan.mode not in (None, "NONE"):
        response["ConsumedCapacity"] = [_consumed(table, plan.mode) for table in found]
    return response


def batch_results(plan: ReadPlan, answer: dict) -> dict[str, list[tuple[dict, dict | None]]]:
    """What a forwarded BatchGetItem answered, key by key: (key, item or None), leaving out the
    keys the upstream did not process."""
    out: dict[str, list[tuple[dict, dict | None]]] = {}
    responses = answer.get("Responses") or {}
    unprocessed = answer.get("UnprocessedKeys") or {}
    for table, listed in plan.keys.items():
        skipped = {_token(k) for k in (unprocessed.get(table) or {}).get("Keys", [])}
        names = tuple(listed[0])
        by_key = {_token({n: item[n] for n in names if n in item}): item for item in responses.get(table, [])}
        out[table] = [(key, by_key.get(_token(key))) for key in listed if _token(key) not in skipped]
    return out


def cacheable_page(answer: dict) -> dict:
    """A Query/Scan answer as the query cache keeps it (without ConsumedCapacity)."""
    return {k: v for k, v in answer.items() if k != "ConsumedCapacity"}


@dataclass
class WriteEffects:
    """What a successful write does to the item cache."""

    images: list[tuple[str, dict, dict | None]] = field(default_factory=list)  # (table, key, image or None)
    evict: list[tuple[str, dict]] = field(default_factory=list)  # (table, key)
    items_of: list[tuple[str, dict]] = field(default_factory=list)  # (table, whole item): key needs the schema
    drop: list[str] = field(default_factory=list)  # tables whose items are dropped
    forget: list[str] = field(default_factory=list)  # tables deleted


def _normal_item(item: Any) -> dict | None:
    try:
        return values.validate_item(item) if isinstance(item, dict) else None
    except DynamoError:
        return None


def write_effects(op: str, body: dict, answer: dict) -> WriteEffects:
    """The cache effects of a write the upstream accepted (``answer``: its response)."""
    effects = WriteEffects()
    table = body.get("TableName")
    if op == "PutItem":
        effects.items_of.append((table, body.get("Item")))
    elif op == "DeleteItem":
        _image_or_drop(effects, table, body.get("Key"), None)
    elif op == "UpdateItem":
        new = answer.get("Attributes") if body.get("ReturnValues") == "ALL_NEW" else None
        if new is not None:
            _image_or_drop(effects, table, body.get("Key"), new)
        else:
            _evict_or_drop(effects, table, body.get("Key"))
    elif op == "BatchWriteItem":
        _batch_write(effects, body, answer)
    elif op == "TransactWriteItems":
        for action in body.get("TransactItems") or []:
            for kind, spec in (action or {}).items():
                name = (spec or {}).get("TableName")
                if kind == "Put":
                    effects.items_of.append((name, None if spec is None else spec.get("Item")))
                elif spec is not None:
                    _evict_or_drop(effects, name, spec.get("Key"))
    elif op == "DeleteTable":
        effects.forget.append(table)
    return effects


def _batch_write(effects: WriteEffects, body: dict, answer: dict) -> None:
    unprocessed = answer.get("UnprocessedItems") or {}
    for table, requests in (body.get("RequestItems") or {}).items():
        if unprocessed.get(table):  # some were not written: let the reads find out
            effects.drop.append(table)
            continue
        for request in requests or []:
            if "PutRequest" in request:
                effects.items_of.append((table, (request["PutRequest"] or {}).get("Item")))
            elif "DeleteRequest" in request:
                _image_or_drop(effects, table, (request["DeleteRequest"] or {}).get("Key"), None)


def _image_or_drop(effects: WriteEffects, table: Any, key: Any, image: dict | None) -> None:
    normal = _normal_item(key)
    if normal is None or not isinstance(table, str):
        effects.drop.append(table)
    else:
        effects.images.append((table, normal, image))


def _evict_or_drop(effects: WriteEffects, table: Any, key: Any) -> None:
    normal = _normal_item(key)
    if normal is None or not isinstance(table, str):
        effects.drop.append(table)
    else:
        effects.evict.append((table, normal))


def item_key(item: Any, names: list[str]) -> tuple[dict, dict] | None:
    """(the normalized key, the normalized item) of a written item, given the key's attribute names."""
    normal = _normal_item(item)
    if normal is None or any(n not in normal for n in names):
        return None
    return {n: normal[n] for n in names}, normal
