"""Phase 2: parse one PartiQL statement into ``syntax.py`` nodes.

The statements DynamoDB supports::

    SELECT * | path [, ...] FROM table[.index] [WHERE condition] [ORDER BY key [ASC|DESC] [, ...]]
    INSERT INTO table VALUE {'attr': value, ...}
    UPDATE table (SET path = value [, ...] | REMOVE path [, ...]) ... WHERE condition
        [RETURNING (ALL | MODIFIED) (OLD | NEW) *]
    DELETE FROM table WHERE condition [RETURNING ALL OLD *]
    EXISTS(SELECT * FROM table WHERE condition)      -- ExecuteTransaction only

with an optional ``;`` at the end.  ``parse`` is memoized on the statement text.  Clauses PartiQL
has but DynamoDB refuses (``LIMIT``, ``GROUP BY``, ``DISTINCT``, aliases, joins, ``VALUES``) get
DynamoDB's own messages rather than a syntax error.
"""

from __future__ import annotations

import functools
from typing import Any

from .. import errors
from ..expressions import ast
from . import grammar
from .grammar import Cursor
from .syntax import (
    RETURNING, RETURNING_TEXT, Assignment, Delete, Exists, Insert, OrderKey, Parsed, Select,
    SetFunction, Source, Update,
)
from .tokens import EOF, IDENT, PARAM, tokenize


@functools.lru_cache(maxsize=2048)
def parse(text: str) -> Parsed:
    """The statement ``text`` parsed; raises ValidationException for anything malformed."""
    c = Cursor(tokenize(text))
    statement = _statement(c)
    c.punct(";")
    if c.peek().kind != EOF:
        raise c.unexpected()
    return Parsed(statement, c.params)


def _statement(c: Cursor) -> Any:
    token = c.peek()
    if token.is_word("SELECT"):
        return _select(c)
    if token.is_word("INSERT"):
        return _insert(c)
    if token.is_word("UPDATE"):
        return _update(c)
    if token.is_word("DELETE"):
        return _delete(c)
    if token.is_word("EXISTS"):
        c.take()
        c.expect("(")
        if not c.peek().is_word("SELECT"):
            raise c.unexpected()
        select = _select(c)
        c.expect(")")
        return Exists(select)
    raise errors.partiql_syntax("Expected data manipulation")


# --- SELECT --------------------------------------------------------------------------------------


def _select(c: Cursor) -> Select:
    c.take()
    if c.peek().is_word("DISTINCT"):
        raise errors.partiql_unsupported_token("DISTINCT")
    c.word("ALL")
    projection = _projection(c)
    c.expect_word("FROM")
    source = _source(c)
    _no_alias(c)
    if c.punct(","):
        raise errors.partiql_single_source()
    where = grammar.condition(c) if c.word("WHERE") else None
    if c.word("GROUP"):
        raise errors.partiql_unsupported_clause("GROUP BY")
    if c.word("HAVING"):
        raise errors.partiql_unsupported_clause("HAVING")
    order_by: tuple[OrderKey, ...] = ()
    if c.word("ORDER"):
        c.expect_word("BY")
        keys = [_order_key(c)]
        while c.punct(","):
            keys.append(_order_key(c))
        order_by = tuple(keys)
    if c.word("LIMIT"):
        raise errors.partiql_unsupported_clause("LIMIT")
    return Select(source, projection, where, order_by)


def _projection(c: Cursor) -> tuple[ast.Path, ...] | None:
    if c.punct("*"):
        if c.peek().is_punct(","):
            raise errors.partiql_star_with_attributes()
        return None
    paths = [_projected_path(c)]
    while c.punct(","):
        if c.peek().is_punct("*"):
            raise errors.partiql_star_with_attributes()
        paths.append(_projected_path(c))
    return tuple(paths)


def _projected_path(c: Cursor) -> ast.Path:
    if c.calls() is not None and c.calls() in grammar.KNOWN_FUNCTIONS:
        raise errors.partiql_unsupported_operation(c.peek().value)
    found = grammar.path(c)
    _no_alias(c)
    return found


def _no_alias(c: Cursor) -> None:
    if c.peek().is_word("AS") or (grammar.starts_path(c) and c.peek().kind == IDENT):
        raise errors.partiql_alias()


def _source(c: Cursor) -> Source:
    table = grammar.name(c)
    if not c.punct("."):
        return Source(table)
    index = grammar.name(c)
    if c.peek().is_punct("."):
        raise errors.partiql_source_components()
    return Source(table, index)


def _order_key(c: Cursor) -> OrderKey:
    key = grammar.name(c)
    if c.peek().is_punct(".", "["):
        raise c.unexpected()
    if c.word("DESC"):
        return OrderKey(key, True)
    c.word("ASC")
    return OrderKey(key)


# --- writes --------------------------------------------------------------------------------------


def _table(c: Cursor) -> str:
    table = grammar.name(c)
    if c.peek().is_punct("."):
        raise errors.partiql_not_on_index()
    return table


def _insert(c: Cursor) -> Insert:
    c.take()
    c.expect_word("INTO")
    table = _table(c)
    if c.word("VALUES"):
        raise errors.partiql_insert_several()
    c.expect_word("VALUE")
    token = c.peek()
    if token.is_punct("<<"):
        raise errors.partiql_insert_several()
    if not token.is_punct("{") and token.kind != PARAM:
        raise errors.partiql_insert_format()
    item = grammar.value(c)
    if c.peek().is_word("RETURNING"):
        raise errors.partiql_insert_returning()
    return Insert(table, item)


def _update(c: Cursor) -> Update:
    c.take()
    table = _table(c)
    actions: list[Any] = []
    while True:
        if c.word("SET"):
            actions.append(_assignment(c))
            while c.punct(","):
                actions.append(_assignment(c))
        elif c.word("REMOVE"):
            actions.append(ast.RemoveAction(grammar.path(c)))
            while c.punct(","):
                actions.append(ast.RemoveAction(grammar.path(c)))
        else:
            break
    if not actions:
        raise c.unexpected()
    where = grammar.condition(c) if c.word("WHERE") else None
    return Update(table, tuple(actions), where, _returning(c))


def _assignment(c: Cursor) -> Assignment:
    target = grammar.path(c)
    c.expect("=")
    function = c.calls()
    if function in ("set_add", "set_delete"):
        return Assignment(target, _set_function(c, target))
    if function == "list_append":
        c.take()
        arguments = _update_arguments(c)
        if len(arguments) != 2:
            raise errors.partiql_syntax("Unexpected token")
        return Assignment(target, ast.ListAppend(*arguments))
    left = _update_operand(c)
    if c.peek().is_punct("+", "-"):
        op = c.take().value
        return Assignment(target, ast.Arithmetic(op, left, _update_operand(c)))
    return Assignment(target, left)


def _update_operand(c: Cursor) -> Any:
    function = c.calls()
    if function is not None:
        if function in grammar.KNOWN_FUNCTIONS:
            raise errors.partiql_unsupported_operation(c.peek().value)
        raise errors.partiql_unrecognized_function(c.peek().value)
    return grammar.path(c) if grammar.starts_path(c) else grammar.value(c)


def _update_arguments(c: Cursor) -> list:
    c.expect("(")
    arguments = [_update_operand(c)]
    while c.punct(","):
        arguments.append(_update_operand(c))
    c.expect(")")
    return arguments


def _set_function(c: Cursor, target: ast.Path) -> SetFunction:
    function = "ADD" if c.take().value.lower() == "set_add" else "DELETE"
    arguments = _update_arguments(c)
    if len(arguments) != 2:
        raise errors.partiql_set_function_arguments(function)
    first, second = arguments
    if first != target:
        raise errors.partiql_set_function_target(function)
    if isinstance(second, ast.Path) or (isinstance(second, ast.Literal) and not _is_set(second.value)):
        raise errors.partiql_set_function_value(function)
    return SetFunction(function, target, second)


def _is_set(value: dict) -> bool:
    return any(kind in value for kind in ("SS", "NS", "BS"))


def _delete(c: Cursor) -> Delete:
    c.take()
    c.expect_word("FROM")
    table = _table(c)
    where = grammar.condition(c) if c.word("WHERE") else None
    returning = _returning(c)
    if returning not in (None, "ALL_OLD"):
        raise errors.partiql_delete_returning(RETURNING_TEXT[returning])
    return Delete(table, where, returning)


def _returning(c: Cursor) -> str | None:
    if not c.word("RETURNING"):
        return None
    first = c.take().value.upper() if c.peek().is_word("ALL", "MODIFIED") else None
    second = c.take().value.upper() if first and c.peek().is_word("OLD", "NEW") else None
    if first is None or second is None:
        raise c.unexpected()
    if not c.punct("*"):
        raise errors.partiql_returning_star()
    return RETURNING[(first, second)]
