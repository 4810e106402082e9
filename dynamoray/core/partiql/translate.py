"""Phase 4: turn a bound statement into the commands and read plans the engines already run.

- ``INSERT`` is a PutCommand conditioned on ``attribute_not_exists(<hash key>)`` (the operation
  reports a failed condition as DuplicateItemException).
- ``UPDATE`` is an UpdateCommand on the key named in WHERE, conditioned on the item existing and
  on the rest of the WHERE clause (so a false WHERE, or a missing item, is ConditionalCheckFailed).
- ``DELETE`` is a DeleteCommand conditioned on ``attribute_not_exists(<hash key>) OR <the rest>``:
  deleting a missing item succeeds, an existing item that fails the condition does not.
- ``EXISTS(SELECT ...)`` is a ConditionCheckCommand (``attribute_exists`` and the rest).
- ``SELECT`` is a :class:`ReadPlan`: one Query per partition-key value fixed by ``=`` or ``IN``
  (with the first usable sort-key condition as its range), else one Scan; whatever the key does
  not cover is the filter.

A write must fix every key attribute with ``=`` in the top-level AND of its WHERE clause.  The
conditions are checked the way a ConditionExpression / FilterExpression is (``resolve.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import errors, keys, values
from ..commands import (
    ConditionCheckCommand, DeleteCommand, PutCommand, QuerySpec, ScanSpec, UpdateCommand,
)
from ..expressions import ast, resolve
from ..expressions import update as update_mod
from .results import check_projection
from .syntax import Delete, Exists, Insert, Select, SetFunction, Update

MAX_QUERIES = 50  # partition-key values one SELECT may decompose into
_FLIPPED = {"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


@dataclass(frozen=True, slots=True)
class WriteAction:
    """A write statement as a command on one table.  ``insert``: a failed condition means the
    item exists (DuplicateItem); ``returning``: the statement's RETURNING mode, if any."""

    table: str
    command: Any  # PutCommand | UpdateCommand | DeleteCommand | ConditionCheckCommand
    key: dict
    insert: bool = False
    returning: str | None = None


@dataclass(frozen=True, slots=True)
class ReadPlan:
    """A SELECT: its Queries in order (none: a Scan), and the PartiQL projection to apply."""

    table: str
    index: str | None
    queries: tuple[QuerySpec, ...]
    scan: ScanSpec | None
    projection: tuple[ast.Path, ...] | None


# --- writes --------------------------------------------------------------------------------------


def write_action(statement: Any, schema: keys.KeySchema, return_old_on_failure: bool = False) -> WriteAction:
    """The command of a bound INSERT, UPDATE, DELETE or EXISTS statement."""
    if isinstance(statement, Insert):
        return _insert(statement, schema, return_old_on_failure)
    if isinstance(statement, Update):
        key, rest = key_of(statement.where, schema)
        update = _update(statement)
        update_mod.check_update_keys(update, schema.names)
        condition = _checked(_join([ast.AttributeExists(_hash(schema)), *rest]))
        command = UpdateCommand(key, update, condition, statement.returning or "NONE", return_old_on_failure)
        return WriteAction(statement.table, command, key, returning=statement.returning)
    if isinstance(statement, Delete):
        key, rest = key_of(statement.where, schema)
        condition = None
        if rest:
            condition = _checked(ast.Or(ast.AttributeNotExists(_hash(schema)), _join(rest)))
        command = DeleteCommand(key, condition, statement.returning or "NONE", return_old_on_failure)
        return WriteAction(statement.table, command, key, returning=statement.returning)
    if isinstance(statement, Exists):
        select = statement.select
        if select.source.index is not None:
            raise errors.partiql_transaction_index()
        key, rest = key_of(select.where, schema, errors.partiql_exists_key)
        condition = _checked(_join([ast.AttributeExists(_hash(schema)), *rest]))
        return WriteAction(select.source.table, ConditionCheckCommand(key, condition, return_old_on_failure), key)
    raise errors.partiql_transaction_unsupported()


def _insert(statement: Insert, schema: keys.KeySchema, return_old_on_failure: bool) -> WriteAction:
    item = statement.item.value if isinstance(statement.item, ast.Literal) else None
    if not isinstance(item, dict) or "M" not in item:
        raise errors.partiql_insert_format()
    item = values.validate_item(values.validate_value(item)["M"])
    key = keys.extract_key(schema, item)
    command = PutCommand(item, ast.AttributeNotExists(_hash(schema)), "NONE", return_old_on_failure)
    return WriteAction(statement.table, command, key, insert=True)


def _update(statement: Update) -> ast.Update:
    sets, removes, adds, deletes = [], [], [], []
    for action in statement.actions:
        if isinstance(action, ast.RemoveAction):
            removes.append(action)
        elif isinstance(action.value, SetFunction):
            function = action.value
            if not any(kind in function.value.value for kind in values.SET_TYPES):
                raise errors.partiql_set_function_value(function.function)
            node = ast.AddAction if function.function == "ADD" else ast.DeleteAction
            (adds if function.function == "ADD" else deletes).append(node(action.path, function.value))
        else:
            sets.append(ast.SetAction(action.path, action.value))
    update = ast.Update(tuple(sets), tuple(removes), tuple(adds), tuple(deletes))
    return resolve.resolve_update(update, None, None).node


def key_of(where: Any, schema: keys.KeySchema, missing=errors.partiql_incomplete_key) -> tuple[dict, list]:
    """The full primary key a write's WHERE fixes with ``=`` (top-level AND only), and the other
    conditions; ``missing`` makes the error for a key attribute with no equality."""
    found: dict[str, Any] = {}
    rest = []
    for part in conjuncts(where):
        name, value = _equality(part, schema.names)
        if name is None:
            rest.append(part)
            continue
        if name in found:
            raise errors.partiql_repeated_key_condition(name)
        found[name] = value
    if any(name not in found for name in schema.names):
        raise missing()
    for name, kind, _ in schema.typed:
        if values.type_of(found[name]) != kind:
            raise errors.partiql_key_type(name)
    return keys.validate_key(schema, found), rest


def _equality(part: Any, names: tuple[str, ...]) -> tuple[str | None, Any]:
    if isinstance(part, ast.Compare) and part.op == "=":
        for one, other in ((part.left, part.right), (part.right, part.left)):
            name = _key_name(one, names)
            if name is not None and isinstance(other, ast.Literal):
                return name, other.value
    return None, None


def _key_name(node: Any, names: tuple[str, ...]) -> str | None:
    if isinstance(node, ast.Path) and len(node.elements) == 1 and node.elements[0] in names:
        return node.elements[0]
    return None


def _hash(schema: keys.KeySchema) -> ast.Path:
    return ast.Path((schema.hash_name,))


def _checked(condition: Any, kind: str = "ConditionExpression") -> Any:
    return resolve.resolve_condition(condition, None, None, kind).node


def conjuncts(condition: Any) -> list:
    """The terms of the top-level AND of ``condition`` (none for no condition)."""
    if condition is None:
        return []
    if isinstance(condition, ast.And):
        return conjuncts(condition.left) + conjuncts(condition.right)
    return [condition]


def _join(parts: list) -> Any:
    if not parts:
        return None
    joined = parts[0]
    for part in parts[1:]:
        joined = ast.And(joined, part)
    return joined


# --- reads ---------------------------------------------------------------------------------------


def read_plan(select: Select, schema: keys.KeySchema) -> ReadPlan:
    """How to run a bound SELECT on a table (or index) with key schema ``schema``."""
    check_projection(select.projection)
    where = _checked(select.where, "FilterExpression") if select.where is not None else None
    parts = conjuncts(where)
    hashes, rest = _hash_values(parts, schema)
    _check_order(select, schema, hashes)
    source = select.source
    if not hashes:
        return ReadPlan(source.table, source.index, (), ScanSpec(filter=where), select.projection)
    forward = True
    for order in select.order_by:
        if order.name == schema.hash_name:
            hashes = sorted(hashes, key=keys.sort_key_bytes, reverse=order.descending)
        elif order.name == schema.range_name:
            forward = not order.descending
    range_condition, rest = _range_condition(rest, schema)
    queries = tuple(QuerySpec(hash_value=h, range=range_condition, forward=forward, filter=_join(rest))
                    for h in hashes)
    return ReadPlan(source.table, source.index, queries, None, select.projection)


def _hash_values(parts: list, schema: keys.KeySchema) -> tuple[list, list]:
    """The partition-key values the first ``pk = v`` / ``pk IN [...]`` / OR of equalities fixes,
    and the remaining conditions."""
    for i, part in enumerate(parts):
        found = _hash_options(part, schema.hash_name)
        if found is None:
            continue
        unique = list({_identity(v): v for v in found}.values())
        if len(unique) > MAX_QUERIES:
            raise errors.partiql_too_many_reads()
        for value in unique:
            if values.type_of(value) != schema.hash_type:
                raise errors.partiql_key_type(schema.hash_name)
        return unique, parts[:i] + parts[i + 1:]
    return [], parts


def _identity(value: dict) -> tuple:
    kind, raw = next(iter(value.items()))
    return kind, raw if isinstance(raw, str) else repr(raw)


def _hash_options(part: Any, hash_name: str) -> list | None:
    name, value = _equality(part, (hash_name,))
    if name is not None:
        return [value]
    if isinstance(part, ast.In) and _key_name(part.operand, (hash_name,)):
        if all(isinstance(option, ast.Literal) for option in part.options):
            return [option.value for option in part.options]
    if isinstance(part, ast.Or):
        left, right = _hash_options(part.left, hash_name), _hash_options(part.right, hash_name)
        if left is not None and right is not None:
            return left + right
    return None


def _range_condition(parts: list, schema: keys.KeySchema) -> tuple[ast.RangeKeyCondition | None, list]:
    if schema.range_name is None:
        return None, parts
    for i, part in enumerate(parts):
        found = _as_range(part, schema.range_name, schema.range_type)
        if found is not None:
            return found, parts[:i] + parts[i + 1:]
    return None, parts


def _as_range(part: Any, name: str, kind: str) -> ast.RangeKeyCondition | None:
    def literal(node: Any) -> dict | None:
        return node.value if isinstance(node, ast.Literal) and values.type_of(node.value) == kind else None

    if isinstance(part, ast.Compare) and part.op in _FLIPPED:
        if _key_name(part.left, (name,)) and literal(part.right):
            return ast.RangeKeyCondition(name, part.op, (literal(part.right),))
        if _key_name(part.right, (name,)) and literal(part.left):
            return ast.RangeKeyCondition(name, _FLIPPED[part.op], (literal(part.left),))
    if isinstance(part, ast.Between) and _key_name(part.operand, (name,)):
        low, high = literal(part.low), literal(part.high)
        if low and high:
            return ast.RangeKeyCondition(name, "BETWEEN", (low, high))
    if isinstance(part, ast.BeginsWith) and kind in ("S", "B") and _key_name(part.operand, (name,)):
        prefix = literal(part.prefix)
        if prefix:
            return ast.RangeKeyCondition(name, "begins_with", (prefix,))
    return None


def _check_order(select: Select, schema: keys.KeySchema, hashes: list) -> None:
    if not select.order_by:
        return
    if select.where is None:
        raise errors.partiql_order_by_without_where()
    if not hashes:
        raise errors.partiql_order_by_without_hash()
    named = [order.name for order in select.order_by]
    for name in named:
        if name not in schema.names:
            raise errors.partiql_order_by_not_key(name)
    if len(hashes) > 1 and schema.hash_name not in named:
        raise errors.partiql_order_by_hash_required()


def key_read(select: Select, schema: keys.KeySchema, not_single=errors.partiql_batch_select) -> dict:
    """The key of a single-item SELECT (BatchExecuteStatement, ExecuteTransaction): WHERE must be
    exactly an equality on every key attribute."""
    check_projection(select.projection)
    key, rest = key_of(select.where, schema, not_single)
    if rest:
        raise not_single()
    return key
