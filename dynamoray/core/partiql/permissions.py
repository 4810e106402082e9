"""What a PartiQL statement asks IAM for: its action, and the keys and attributes it touches.

DynamoDB authorizes ``ExecuteStatement``, ``BatchExecuteStatement`` and ``ExecuteTransaction``
per statement with ``dynamodb:PartiQLSelect`` / ``PartiQLInsert`` / ``PartiQLUpdate`` /
``PartiQLDelete`` on the table (or index) the statement names; an ``EXISTS`` check reads, so it is
a PartiQLSelect.  ``dynamodb:LeadingKeys`` are the partition-key values the statement fixes (none
for a SELECT that scans); ``dynamodb:Attributes`` the top-level attribute names it reads, writes
or tests.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Any

from .. import keys
from ..expressions import ast
from .syntax import Delete, Exists, Insert, Select, Update
from .translate import key_of, read_plan

ACTIONS = {Select: "PartiQLSelect", Exists: "PartiQLSelect", Insert: "PartiQLInsert",
           Update: "PartiQLUpdate", Delete: "PartiQLDelete"}


def action(statement: Any) -> str:
    return "dynamodb:" + ACTIONS[type(statement)]


def leading_keys(statement: Any, schema: keys.KeySchema) -> list[dict] | None:
    """The partition-key values (attribute values) a bound statement fixes; None when it names
    none (a SELECT that scans)."""
    if isinstance(statement, Insert):
        item = statement.item.value.get("M", {}) if isinstance(statement.item, ast.Literal) else {}
        return [item[schema.hash_name]] if schema.hash_name in item else []
    if isinstance(statement, Select):
        plan = read_plan(statement, schema)
        return None if plan.scan is not None else [q.hash_value for q in plan.queries]
    where = statement.select.where if isinstance(statement, Exists) else statement.where
    return [key_of(where, schema)[0][schema.hash_name]]


def attribute_names(statement: Any) -> tuple[str, ...]:
    """Every top-level attribute name the bound statement mentions."""
    names = set(_names(statement))
    if isinstance(statement, Insert) and isinstance(statement.item, ast.Literal):
        names |= set(statement.item.value.get("M", {}))
    return tuple(sorted(names))


def _names(node: Any):
    if isinstance(node, ast.Path):
        if node.elements and isinstance(node.elements[0], str):
            yield node.elements[0]
    elif isinstance(node, tuple):
        for child in node:
            yield from _names(child)
    elif is_dataclass(node) and not isinstance(node, ast.Literal):
        for field in fields(node):
            yield from _names(getattr(node, field.name))
