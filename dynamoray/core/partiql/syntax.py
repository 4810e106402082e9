"""The parsed form of a PartiQL statement: small frozen nodes, before parameters are bound.

Conditions (WHERE) and document paths reuse the expression AST (``core/expressions/ast.py``):
``ast.Compare``, ``ast.And``, ``ast.Path``, ``ast.Size``, ...  Before binding, an operand may also
be a :class:`Param` (a ``?``) or a :class:`ListValue` / :class:`MapValue` that holds one; a value
with no parameter in it is already an ``ast.Literal`` (sets always are: ``?`` is refused in a
bag).  ``bind.py`` replaces parameters with the request's values, so what reaches ``translate.py``
is made of ``ast`` nodes only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from ..expressions import ast


@dataclass(frozen=True, slots=True)
class Param:
    """The ``index``-th ``?`` of the statement (0-based, in text order)."""

    index: int


@dataclass(frozen=True, slots=True)
class ListValue:
    """``[a, b, ...]`` with a parameter somewhere inside."""

    elements: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class MapValue:
    """``{'k': v, ...}`` with a parameter somewhere inside (keys are always strings)."""

    entries: tuple[tuple[str, Any], ...]


Value = Union[ast.Literal, Param, ListValue, MapValue]


@dataclass(frozen=True, slots=True)
class Source:
    """``FROM "table"`` or ``FROM "table"."index"``."""

    table: str
    index: str | None = None


@dataclass(frozen=True, slots=True)
class OrderKey:
    name: str
    descending: bool = False


@dataclass(frozen=True, slots=True)
class Select:
    """``SELECT * | path, ... FROM source [WHERE condition] [ORDER BY key [ASC|DESC], ...]``;
    ``projection`` None is ``*``."""

    source: Source
    projection: tuple[ast.Path, ...] | None = None
    where: Any = None  # ast.Condition
    order_by: tuple[OrderKey, ...] = ()


@dataclass(frozen=True, slots=True)
class Insert:
    """``INSERT INTO table VALUE {...}`` (or ``VALUE ?``)."""

    table: str
    item: Value


@dataclass(frozen=True, slots=True)
class SetFunction:
    """``set_add(path, set)`` (``function`` "ADD") or ``set_delete(path, set)`` ("DELETE")."""

    function: str
    path: ast.Path
    value: Value


@dataclass(frozen=True, slots=True)
class Assignment:
    """``SET path = value``: a value, a path, ``a + b``/``a - b`` (``ast.Arithmetic``),
    ``list_append(a, b)`` (``ast.ListAppend``) or a :class:`SetFunction`."""

    path: ast.Path
    value: Any


@dataclass(frozen=True, slots=True)
class Update:
    """``UPDATE table SET ... REMOVE ... WHERE condition [RETURNING ...]``.  ``actions`` holds
    :class:`Assignment` and ``ast.RemoveAction`` nodes in the order written; ``returning`` is
    ``ALL_OLD``, ``ALL_NEW``, ``UPDATED_OLD``, ``UPDATED_NEW`` or None."""

    table: str
    actions: tuple[Any, ...]
    where: Any
    returning: str | None = None


@dataclass(frozen=True, slots=True)
class Delete:
    """``DELETE FROM table WHERE condition [RETURNING ALL OLD *]``."""

    table: str
    where: Any
    returning: str | None = None


@dataclass(frozen=True, slots=True)
class Exists:
    """``EXISTS(SELECT ... WHERE key AND condition)``: a ConditionCheck in ExecuteTransaction."""

    select: Select


Statement = Union[Select, Insert, Update, Delete, Exists]


@dataclass(frozen=True, slots=True)
class Parsed:
    """A statement and how many ``?`` it has."""

    statement: Statement
    parameters: int


# What RETURNING ... * is called in the UpdateItem/DeleteItem API.
RETURNING = {("ALL", "OLD"): "ALL_OLD", ("ALL", "NEW"): "ALL_NEW",
             ("MODIFIED", "OLD"): "UPDATED_OLD", ("MODIFIED", "NEW"): "UPDATED_NEW"}
RETURNING_TEXT = {mode: f"{a} {b} *" for (a, b), mode in RETURNING.items()}


def is_read(statement: Statement) -> bool:
    """SELECT is a read; INSERT, UPDATE, DELETE and EXISTS (a condition check) are writes."""
    return isinstance(statement, Select)


def source_of(statement: Statement) -> Source:
    """The table (or index) a statement reads or writes."""
    if isinstance(statement, Select):
        return statement.source
    if isinstance(statement, Exists):
        return statement.select.source
    return Source(statement.table)


def table_of(statement: Statement) -> str:
    return source_of(statement).table
