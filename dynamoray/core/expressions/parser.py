"""Phase 2 of the expression front-end: ONE recursive-descent grammar for every expression kind.

``parse(text, kind)`` turns ConditionExpression / FilterExpression / KeyConditionExpression,
UpdateExpression and ProjectionExpression text into ``ast.py`` nodes, with ``#name`` and ``:value``
placeholders left unresolved (``resolve.py`` substitutes them).  Parsing is pure and memoized on
``(text, kind)``, so a request repeating an expression pays only for resolution.

Errors, in DynamoDB's order: a syntax error wins (token and surrounding text, as DynamoDB quotes
them); then, for a parse that succeeded, the first problem of the highest-ranked category found
anywhere (see ``_PRIORITY``): redundant parentheses, unknown or misused functions, reserved words,
paths nested too deep, a repeated update section, too many IN operands.  Problems that DynamoDB
reports only after checking placeholders (wrong operand count, a value where a path is required)
become ``Rejected`` nodes, raised by ``resolve.py`` in their turn.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, NoReturn

from .. import errors
from ..errors import DynamoError
from . import ast
from . import tokens as tk
from .reserved import is_reserved

CONDITION = "ConditionExpression"
FILTER = "FilterExpression"
KEY_CONDITION = "KeyConditionExpression"
UPDATE = "UpdateExpression"
PROJECTION = "ProjectionExpression"
CONDITION_KINDS = frozenset({CONDITION, FILTER, KEY_CONDITION})
KINDS = CONDITION_KINDS | {UPDATE, PROJECTION}

MAX_EXPRESSION_BYTES = 4096
MAX_PATH_DEPTH = 32
MAX_IN_OPERANDS = 100
CONDITION_FUNCTIONS = {"attribute_exists": 1, "attribute_not_exists": 1, "attribute_type": 2,
                       "begins_with": 2, "contains": 2}
UPDATE_FUNCTIONS = {"if_not_exists": 2, "list_append": 2}
_CONDITION_NODES = {"attribute_exists": ast.AttributeExists, "attribute_not_exists": ast.AttributeNotExists,
                    "attribute_type": ast.AttributeType, "begins_with": ast.BeginsWith, "contains": ast.Contains}
_NEEDS_PATH = ("attribute_exists", "attribute_not_exists", "attribute_type")
_COMPARATORS = frozenset(ast.COMPARATORS)
_CONDITION_KEYWORDS = frozenset({"AND", "OR", "NOT", "BETWEEN", "IN"})
_UPDATE_CLAUSES = ("SET", "REMOVE", "ADD", "DELETE")
_PRIORITY = {
    "condition": ("parens", "unknown_function", "misused_function", "reserved", "nesting", "in_operands"),
    UPDATE: ("reserved", "unknown_function", "section", "nesting"),
    PROJECTION: ("reserved", "nesting"),
}


@dataclass(frozen=True, slots=True, eq=False)
class Rejected:
    """A function call the grammar accepts but no AST node can represent (``attribute_exists(a, b)``,
    ``if_not_exists(:v, a)``).  It carries its error, the category ranking it (see resolve.py) and
    its operands (whose placeholders are still checked first); resolve.py always raises on it."""

    category: str
    error: DynamoError
    operands: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class _Call:
    """A function call before its context (condition or operand) is known."""

    name: str
    args: tuple[Any, ...]


class _Fail(Exception):
    """Internal: this alternative does not match (the furthest failure is the syntax error)."""


@functools.lru_cache(maxsize=4096)
def parse(text: str, kind: str) -> Any:
    """``text`` as an unresolved AST: a Condition, an ``ast.Update`` or an ``ast.Projection``."""
    if kind not in KINDS:
        raise ValueError(f"unknown expression kind: {kind!r}")
    if text == "":
        raise errors.expression_empty(kind)
    size = len(text.encode("utf-8"))
    if size > MAX_EXPRESSION_BYTES:
        raise errors.expression_too_large(kind, size)
    return _Parser(text, kind).run()


class _Parser:
    def __init__(self, text: str, kind: str) -> None:
        self.text, self.kind = text, kind
        self.toks = tk.tokenize(text)
        self.pos = self.furthest = 0
        self.issues: dict[str, DynamoError] = {}
        self.groups: dict[int, int] = {}  # "(" index -> ")" index of grouping parentheses
        self.in_condition = kind in CONDITION_KINDS
        self.keywords = _CONDITION_KEYWORDS if self.in_condition else frozenset(
            _UPDATE_CLAUSES if kind == UPDATE else ())

    def run(self) -> Any:
        try:
            node = self.top()
            if self.peek().kind != tk.EOF:
                self.fail()
        except (_Fail, RecursionError):
            bad = self.toks[self.furthest]
            near = tk.near(self.text, self.toks, self.furthest)
            raise errors.expression_syntax(self.kind, bad.display, near) from None
        for category in _PRIORITY["condition" if self.in_condition else self.kind]:
            if category in self.issues:
                raise self.issues[category]
        return node

    def top(self) -> Any:
        if self.in_condition:
            return self.or_condition()
        return self.update() if self.kind == UPDATE else self.projection()

    # --- tokens and bookkeeping ----------------------------------------------------------------

    def peek(self, ahead: int = 0) -> tk.Token:
        return self.toks[min(self.pos + ahead, len(self.toks) - 1)]

    def fail(self) -> NoReturn:
        self.furthest = max(self.furthest, self.pos)
        raise _Fail

    def punct(self, text: str) -> bool:
        tok = self.toks[self.pos]
        if tok.kind == tk.PUNCT and tok.text == text:
            self.pos += 1
            return True
        return False

    def expect(self, text: str) -> None:
        if not self.punct(text):
            self.fail()

    def keyword(self, word: str) -> bool:
        tok = self.toks[self.pos]
        if tok.kind == tk.NAME and tok.text.upper() == word:
            self.pos += 1
            return True
        return False

    def note(self, category: str, error: DynamoError) -> None:
        self.issues.setdefault(category, error)

    def save(self) -> tuple:
        return self.pos, dict(self.issues), dict(self.groups)

    def restore(self, state: tuple) -> None:
        self.pos, self.issues, self.groups = state[0], state[1], state[2]

    def group(self, start: int) -> None:
        """Record the grouping parentheses opened at ``start`` and just closed; ``((x))`` is an error."""
        if self.in_condition:
            close = self.pos - 1
            self.groups[start] = close
            if self.groups.get(start + 1) == close - 1:
                self.note("parens", errors.redundant_parentheses(self.kind))

    # --- conditions ----------------------------------------------------------------------------

    def or_condition(self) -> Any:
        node = self.and_condition()
        while self.keyword("OR"):
            node = ast.Or(node, self.and_condition())
        return node

    def and_condition(self) -> Any:
        node = self.not_condition()
        while self.keyword("AND"):
            node = ast.And(node, self.not_condition())
        return node

    def not_condition(self) -> Any:
        negations = 0
        while self.keyword("NOT"):
            negations += 1
        node = self.primary_condition()
        for _ in range(negations):
            node = ast.Not(node)
        return node

    def primary_condition(self) -> Any:
        if self.peek().text == "(" and self.peek().kind == tk.PUNCT:
            state = self.save()
            try:
                return self.simple_condition()  # "(a) = b": the parentheses hold an operand
            except _Fail:
                self.restore(state)
            start = self.pos
            self.pos += 1
            node = self.or_condition()
            self.expect(")")
            self.group(start)
            return node
        return self.simple_condition()

    def simple_condition(self) -> Any:
        raw = self.raw_operand()
        tok = self.peek()
        if tok.kind == tk.PUNCT and tok.text in _COMPARATORS:
            self.pos += 1
            left = self.as_operand(raw)
            return ast.Compare(tok.text, left, self.operand())
        if self.keyword("BETWEEN"):
            operand, low = self.as_operand(raw), self.operand()
            if not self.keyword("AND"):
                self.fail()
            return ast.Between(operand, low, self.operand())
        if self.keyword("IN"):
            operand = self.as_operand(raw)
            self.expect("(")
            options = [self.operand()]
            while self.punct(","):
                options.append(self.operand())
            self.expect(")")
            if len(options) > MAX_IN_OPERANDS:
                self.note("in_operands", errors.in_too_many_operands(self.kind, len(options)))
            return ast.In(operand, tuple(options))
        if isinstance(raw, _Call):
            return self.as_condition(raw)
        self.fail()

    def as_condition(self, call: _Call) -> Any:
        name, args, kind = call.name, call.args, self.kind
        if name not in CONDITION_FUNCTIONS:
            return self.misplaced(call)
        if len(args) != CONDITION_FUNCTIONS[name]:
            return Rejected("operand", errors.operand_count(kind, name, len(args)), args)
        if name in _NEEDS_PATH and not isinstance(args[0], ast.Path):
            return Rejected("function", errors.requires_document_path(kind, name), args)
        return _CONDITION_NODES[name](*args)

    def misplaced(self, call: _Call) -> Rejected:
        """A function where its kind may not be: recorded for the end of the parse."""
        name, kind = call.name, self.kind
        if self.kind == UPDATE:
            known = name in CONDITION_FUNCTIONS or name == "size"
            error = errors.function_not_in_update(kind, name) if known else errors.unknown_function(kind, name)
            category = "unknown_function"
        elif name in CONDITION_FUNCTIONS or name == "size":
            error, category = errors.function_misused(kind, name), "misused_function"
        elif name in UPDATE_FUNCTIONS:
            error, category = errors.function_not_in_condition(kind, name), "misused_function"
        else:
            error, category = errors.unknown_function(kind, name), "unknown_function"
        self.note(category, error)
        return Rejected(category, error, call.args)

    # --- operands and paths --------------------------------------------------------------------

    def operand(self) -> Any:
        return self.as_operand(self.raw_operand())

    def raw_operand(self) -> Any:
        tok = self.peek()
        if tok.kind == tk.PUNCT and tok.text == "(":
            start = self.pos
            self.pos += 1
            inner = self.operand()
            self.expect(")")
            self.group(start)
            if self.in_condition and isinstance(inner, ast.Path):
                return self.path_tail(list(inner.elements))  # "(a.b).c" is the path a.b.c
            return inner
        if tok.kind == tk.VALUE_REF:
            self.pos += 1
            return ast.ValuePlaceholder(tok.text)
        if tok.kind == tk.NAME and tok.text.upper() not in self.keywords and self.peek(1).text == "(":
            return self.call()
        return self.path()

    def call(self) -> _Call:
        name = self.peek().text
        self.pos += 2
        args = [self.operand()]
        while self.punct(","):
            args.append(self.operand())
        self.expect(")")
        return _Call(name, tuple(args))

    def as_operand(self, raw: Any) -> Any:
        if not isinstance(raw, _Call):
            return raw
        name, args = raw.name, raw.args
        if self.kind == UPDATE and name in UPDATE_FUNCTIONS:
            if len(args) != 2:
                return Rejected("function", errors.operand_count(self.kind, name, len(args)), args)
            if name == "list_append":
                return ast.ListAppend(args[0], args[1])
            if not isinstance(args[0], ast.Path):
                return Rejected("function", errors.requires_document_path(self.kind, name), args)
            return ast.IfNotExists(args[0], args[1])
        if self.in_condition and name == "size":
            if len(args) != 1:
                return Rejected("operand", errors.operand_count(self.kind, name, len(args)), args)
            return ast.Size(args[0])  # a non-path argument is folded or refused by resolve.py
        return self.misplaced(raw)

    def path(self) -> ast.Path:
        return self.path_tail([self.path_name()])

    def path_tail(self, elements: list) -> ast.Path:
        while True:
            if self.punct("."):
                elements.append(self.path_name())
            elif self.punct("["):
                tok = self.peek()
                if tok.kind != tk.NUMBER:
                    self.fail()
                self.pos += 1
                self.expect("]")
                elements.append(int(tok.text))
            else:
                break
        if len(elements) > MAX_PATH_DEPTH:
            self.note("nesting", errors.path_too_deep(self.kind, len(elements)))
        return ast.Path(tuple(elements))

    def path_name(self) -> str | ast.NamePlaceholder:
        tok = self.peek()
        if tok.kind == tk.NAME_REF:
            self.pos += 1
            return ast.NamePlaceholder(tok.text)
        if tok.kind != tk.NAME or tok.text.upper() in self.keywords:
            self.fail()
        self.pos += 1
        if is_reserved(tok.text):
            self.note("reserved", errors.reserved_keyword(self.kind, tok.text))
        return tok.text

    # --- updates and projections ---------------------------------------------------------------

    def update(self) -> ast.Update:
        parts: dict[str, list] = {clause: [] for clause in _UPDATE_CLAUSES}
        order: list[str] = []
        while True:
            tok = self.peek()
            clause = tok.text.upper() if tok.kind == tk.NAME else ""
            if clause not in parts:
                self.fail()
            self.pos += 1
            if clause in order:
                self.note("section", errors.section_repeated(self.kind, clause))
            else:
                order.append(clause)
            action = _ACTIONS[clause]
            parts[clause].append(action(self))
            while self.punct(","):
                parts[clause].append(action(self))
            if self.peek().kind == tk.EOF:
                return ast.Update(tuple(parts["SET"]), tuple(parts["REMOVE"]), tuple(parts["ADD"]),
                                  tuple(parts["DELETE"]), clauses=tuple(order))

    def set_action(self) -> ast.SetAction:
        path = self.path()
        self.expect("=")
        return ast.SetAction(path, self.set_value())

    def set_value(self) -> Any:
        if self.peek().kind == tk.PUNCT and self.peek().text == "(":
            state = self.save()
            try:
                return self.arithmetic()  # "(a) + b": the parentheses hold an operand
            except _Fail:
                self.restore(state)
            self.pos += 1
            value = self.set_value()
            self.expect(")")
            return value
        return self.arithmetic()

    def arithmetic(self) -> Any:
        left = self.operand()
        tok = self.peek()
        if tok.kind == tk.PUNCT and tok.text in ("+", "-"):
            self.pos += 1
            return ast.Arithmetic(tok.text, left, self.operand())
        return left

    def value_action(self, node: type) -> Any:
        path = self.path()
        tok = self.peek()
        if tok.kind != tk.VALUE_REF:
            self.fail()
        self.pos += 1
        return node(path, ast.ValuePlaceholder(tok.text))

    def projection(self) -> ast.Projection:
        paths = [self.path()]
        while self.punct(","):
            paths.append(self.path())
        return ast.Projection(tuple(paths))


_ACTIONS = {
    "SET": _Parser.set_action,
    "REMOVE": lambda parser: ast.RemoveAction(parser.path()),
    "ADD": lambda parser: parser.value_action(ast.AddAction),
    "DELETE": lambda parser: parser.value_action(ast.DeleteAction),
}


from .unparse import unparse  # noqa: E402, F401  (re-exported: parse's inverse)
