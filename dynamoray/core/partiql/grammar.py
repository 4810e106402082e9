"""Phase 2, the shared half of the grammar: names, document paths, values and WHERE conditions.

A :class:`Cursor` walks the tokens; the functions below each read one construct and return its
node (``syntax.py`` values, ``ast`` paths and conditions).  ``parser.py`` builds the statements
on top.  Precedence in conditions: comparisons, BETWEEN, IN and IS bind tightest, then NOT, AND,
OR; parentheses group.  Keywords and function names are case-insensitive.
"""

from __future__ import annotations

from typing import Any

from .. import errors, values
from ..errors import DynamoError
from ..expressions import ast
from .reserved import is_reserved
from .syntax import ListValue, MapValue, Param
from .tokens import EOF, IDENT, NUMBER, PARAM, QUOTED, STRING, Token

COMPARATORS = ("=", "<>", "!=", "<", "<=", ">", ">=")
CONDITION_FUNCTIONS = ("begins_with", "contains", "attribute_type", "attribute_exists", "attribute_not_exists")
KNOWN_FUNCTIONS = CONDITION_FUNCTIONS + ("size", "list_append", "set_add", "set_delete")
_NULL_TYPE = ast.Literal({"S": "NULL"})


class Cursor:
    """The tokens of one statement, a position in them, and the ``?`` counted so far."""

    __slots__ = ("tokens", "pos", "params")

    def __init__(self, tokens: tuple[Token, ...]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.params = 0

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def take(self) -> Token:
        token = self.peek()
        if token.kind != EOF:
            self.pos += 1
        return token

    def word(self, *words: str) -> bool:
        if self.peek().is_word(*words):
            self.pos += 1
            return True
        return False

    def expect_word(self, word: str) -> None:
        if not self.word(word):
            raise self.unexpected()

    def punct(self, *marks: str) -> bool:
        if self.peek().is_punct(*marks):
            self.pos += 1
            return True
        return False

    def expect(self, mark: str) -> None:
        if not self.punct(mark):
            raise self.unexpected()

    def calls(self) -> str | None:
        """The function name (lower case) if a call ``name(`` starts here."""
        token = self.peek()
        if token.kind == IDENT and self.peek(1).is_punct("("):
            return token.value.lower()
        return None

    def param(self) -> Param:
        self.take()
        self.params += 1
        return Param(self.params - 1)

    def unexpected(self) -> DynamoError:
        token = self.peek()
        if token.kind == IDENT and is_reserved(token.value):
            return errors.partiql_syntax("Unexpected keyword")
        return errors.partiql_syntax("Unexpected token")


# --- names and paths ---------------------------------------------------------------------------


def name(c: Cursor) -> str:
    """A table, index or attribute name: ``"quoted"`` or a bare word that is not reserved."""
    token = c.peek()
    if token.kind == QUOTED or (token.kind == IDENT and not is_reserved(token.value)):
        c.take()
        return token.value
    raise c.unexpected()


def path(c: Cursor) -> ast.Path:
    """``a``, ``a.b``, ``a[0]``, ``"a.b"['c']``: an attribute and its map keys / list indexes."""
    elements: list[Any] = [name(c)]
    while True:
        if c.punct("."):
            elements.append(name(c))
        elif c.punct("["):
            token = c.peek()
            if token.kind == NUMBER and token.value.isdigit():
                elements.append(int(token.value))
            elif token.kind == STRING:
                elements.append(token.value)
            else:
                raise c.unexpected()
            c.take()
            c.expect("]")
        else:
            return ast.Path(tuple(elements))


def starts_path(c: Cursor) -> bool:
    token = c.peek()
    return token.kind == QUOTED or (token.kind == IDENT and not is_reserved(token.value))


# --- values ------------------------------------------------------------------------------------


def value(c: Cursor) -> Any:
    """A literal (``ast.Literal``), a ``?`` (:class:`Param`) or a list/map holding a ``?``."""
    token = c.peek()
    if token.kind == PARAM:
        return c.param()
    if token.kind == STRING:
        c.take()
        return ast.Literal({"S": token.value})
    if token.kind == NUMBER or (token.is_punct("-", "+") and c.peek(1).kind == NUMBER):
        return ast.Literal({"N": _number(c)})
    if c.word("TRUE", "FALSE"):
        return ast.Literal({"BOOL": token.value.upper() == "TRUE"})
    if c.word("NULL"):
        return ast.Literal({"NULL": True})
    if token.is_word("MISSING"):
        raise errors.partiql_missing_comparison()
    if c.punct("["):
        return _list(c)
    if c.punct("{"):
        return _map(c)
    if c.punct("<<"):
        return _bag(c)
    raise c.unexpected()


def _number(c: Cursor) -> str:
    sign = c.take().value if c.peek().is_punct("-", "+") else ""
    return values.normalize_number(sign + c.take().value)


def _list(c: Cursor) -> Any:
    elements = []
    if not c.punct("]"):
        elements.append(value(c))
        while c.punct(","):
            elements.append(value(c))
        c.expect("]")
    if all(isinstance(e, ast.Literal) for e in elements):
        return ast.Literal({"L": [e.value for e in elements]})
    return ListValue(tuple(elements))


def _map(c: Cursor) -> Any:
    entries: list[tuple[str, Any]] = []
    seen: set[str] = set()
    if not c.punct("}"):
        while True:
            token = c.peek()
            if token.kind != STRING:
                raise c.unexpected()
            c.take()
            if token.value in seen:
                raise errors.partiql_duplicate_tuple_key(token.value, "item")
            seen.add(token.value)
            c.expect(":")
            entries.append((token.value, value(c)))
            if not c.punct(","):
                break
        c.expect("}")
    if all(isinstance(v, ast.Literal) for _, v in entries):
        return ast.Literal({"M": {k: v.value for k, v in entries}})
    return MapValue(tuple(entries))


def _bag(c: Cursor) -> ast.Literal:
    """``<<'a', 'b'>>`` or ``<<1, 2>>``: a string or number set (never empty, never a ``?``)."""
    members: list[ast.Literal] = []
    if c.punct(">>"):
        raise errors.partiql_empty_bag()
    while True:
        if c.peek().kind == PARAM:
            raise errors.partiql_bag_type()
        member = value(c)
        if not isinstance(member, ast.Literal) or ("S" not in member.value and "N" not in member.value):
            raise errors.partiql_bag_type()
        members.append(member)
        if not c.punct(","):
            break
    c.expect(">>")
    kinds = {next(iter(m.value)) for m in members}
    if len(kinds) > 1:
        raise errors.partiql_bag_type()
    kind = kinds.pop()
    return ast.Literal(values.validate_value({kind + "S": [m.value[kind] for m in members]}))


# --- operands and conditions ---------------------------------------------------------------------


def operand(c: Cursor) -> Any:
    """A WHERE operand: a path, ``size(path)`` or a value."""
    function = c.calls()
    if function is not None:
        if function == "size":
            c.take()
            c.take()
            target = path(c)
            c.expect(")")
            return ast.Size(target)
        if function in KNOWN_FUNCTIONS:
            raise errors.partiql_unsupported_operation(c.peek().value)
        raise errors.partiql_unrecognized_function(c.peek().value)
    if starts_path(c):
        return path(c)
    return value(c)


def condition(c: Cursor) -> Any:
    left = _conjunction(c)
    while c.word("OR"):
        left = ast.Or(left, _conjunction(c))
    return left


def _conjunction(c: Cursor) -> Any:
    left = _negation(c)
    while c.word("AND"):
        left = ast.And(left, _negation(c))
    return left


def _negation(c: Cursor) -> Any:
    if c.word("NOT"):
        return ast.Not(_negation(c))
    if c.punct("("):
        inner = condition(c)
        c.expect(")")
        return inner
    if c.calls() in CONDITION_FUNCTIONS:
        return _condition_function(c)
    return _predicate(c, operand(c))


def _predicate(c: Cursor, left: Any) -> Any:
    token = c.peek()
    if token.is_punct(*COMPARATORS):
        c.take()
        return ast.Compare("<>" if token.value == "!=" else token.value, left, operand(c))
    negated = c.word("NOT")
    if c.word("BETWEEN"):
        low = operand(c)
        c.expect_word("AND")
        node: Any = ast.Between(left, low, operand(c))
    elif c.word("IN"):
        node = ast.In(left, _in_list(c, left))
    elif not negated and c.word("IS"):
        return _is(c, left)
    else:
        raise c.unexpected()
    return ast.Not(node) if negated else node


def _in_list(c: Cursor, left: Any) -> tuple:
    if not isinstance(left, ast.Path):
        raise errors.partiql_in_operands()
    closing = "]" if c.punct("[") else ")" if c.punct("(") else None
    if closing is None:
        raise c.unexpected()
    if c.punct(closing):
        raise errors.partiql_in_operands()
    options = [operand(c)]
    while c.punct(","):
        options.append(operand(c))
    c.expect(closing)
    return tuple(options)


def _is(c: Cursor, left: Any) -> Any:
    """``path IS [NOT] MISSING`` and ``path IS [NOT] NULL``."""
    if not isinstance(left, ast.Path):
        raise c.unexpected()
    negated = c.word("NOT")
    if c.word("MISSING"):
        return ast.AttributeExists(left) if negated else ast.AttributeNotExists(left)
    if c.word("NULL"):
        node = ast.AttributeType(left, _NULL_TYPE)
        return ast.Not(node) if negated else node
    raise c.unexpected()


def _condition_function(c: Cursor) -> Any:
    function = c.take().value.lower()
    arguments = call_arguments(c)
    if function in ("attribute_exists", "attribute_not_exists"):
        if len(arguments) != 1 or not isinstance(arguments[0], ast.Path):
            raise errors.partiql_syntax("Unexpected token")
        node = ast.AttributeExists if function == "attribute_exists" else ast.AttributeNotExists
        return node(arguments[0])
    if len(arguments) != 2:
        raise errors.partiql_syntax("Unexpected token")
    first, second = arguments
    if function == "begins_with":
        return ast.BeginsWith(first, second)
    if function == "contains":
        return ast.Contains(first, second)
    if not isinstance(first, ast.Path):
        raise errors.partiql_syntax("Unexpected token")
    return ast.AttributeType(first, second)


def call_arguments(c: Cursor) -> list:
    """``(operand, ...)`` after a function name."""
    c.expect("(")
    arguments = [operand(c)]
    while c.punct(","):
        arguments.append(operand(c))
    c.expect(")")
    return arguments
