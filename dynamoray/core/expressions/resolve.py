"""Phase 3 of the expression front-end: substitute placeholders and validate, in one tree walk.

``resolve_condition`` / ``resolve_update`` / ``resolve_projection`` take a parsed AST (see
parser.py) and the request's ExpressionAttributeNames / ExpressionAttributeValues (values already
validated and normalized).  They return a ``Resolution``: the resolved AST, in which every path
element is a ``str`` or ``int`` and every value an ``ast.Literal``, plus the placeholders it used.

Everything DynamoDB checks before touching an item is checked here: undefined placeholders,
operand counts and types of constants, ``attribute_type`` names, BETWEEN bounds, operands that
must be distinct, overlapping or conflicting document paths.  The walk notes the first problem of
each category and raises the highest-ranked one at the end (``_PRIORITY``), which is how DynamoDB
chooses among several errors.  ``size(:value)`` is folded into a number here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from .. import errors, values
from ..errors import DynamoError
from . import ast
from .evaluate import size_of
from .parser import KEY_CONDITION, PROJECTION, UPDATE, Rejected

_PRIORITY = {
    "condition": ("undefined", "operand", "distinct", "function"),
    UPDATE: ("undefined_name", "undefined_value", "overlap", "conflict", "operand", "function"),
    PROJECTION: ("undefined", "overlap", "conflict"),
}
_SCALARS = frozenset({"S", "N", "B"})
_TYPE_NAMES = frozenset({"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"})
_ANY_TYPE = "{NS,SS,L,BS,N,M,B,BOOL,NULL,S}"  # how DynamoDB shows a non-constant type operand
_SPELLED = {"S": "STRING", "N": "NUMBER", "B": "BINARY", "NULL": "NULL", "BOOL": "BOOLEAN",
            "L": "LIST", "M": "MAP"}
_DEFAULT_ORDER = ("SET", "REMOVE", "ADD", "DELETE")


@dataclass(frozen=True, slots=True)
class Resolution:
    """A resolved AST and the placeholders (``#n``, ``:v``) it used."""

    node: Any
    names: frozenset[str]
    values: frozenset[str]


def resolve_condition(cond: Any, names: Mapping[str, str] | None, values_: Mapping[str, Any] | None,
                      kind: str) -> Resolution:
    """A parsed Condition/Filter/KeyCondition expression, resolved and validated."""
    walker = _Resolver(kind, names, values_)
    return walker.finish(walker.condition(cond), "condition")


def resolve_update(update: ast.Update, names: Mapping[str, str] | None,
                   values_: Mapping[str, Any] | None) -> Resolution:
    walker = _Resolver(UPDATE, names, values_)
    return walker.finish(walker.update(update), UPDATE)


def resolve_projection(projection: ast.Projection, names: Mapping[str, str] | None) -> Resolution:
    walker = _Resolver(PROJECTION, names, None)
    paths = tuple(walker.path(path) for path in projection.paths)
    walker.overlaps(paths)
    return walker.finish(ast.Projection(paths), PROJECTION)


def static_type(operand: Any) -> str | None:
    """The type an operand is known to have before any item is read (None for paths)."""
    if isinstance(operand, ast.Literal):
        return values.type_of(operand.value)
    if isinstance(operand, (ast.Size, ast.Arithmetic)):
        return "N"
    if isinstance(operand, ast.ListAppend):
        return "L"
    if isinstance(operand, ast.IfNotExists):
        return static_type(operand.default)
    return None


def path_text(path: ast.Path) -> str:
    """A path as DynamoDB prints it in messages: ``[a, b, [2]]``."""
    return "[" + ", ".join(f"[{e}]" if isinstance(e, int) else str(e) for e in path.elements) + "]"


def _shown(value: Any) -> str:
    (kind, raw), = value.items()
    return f"AttributeValue: {{{kind}:{raw}}}"


class _Resolver:
    def __init__(self, kind: str, names: Mapping[str, str] | None, values_: Mapping[str, Any] | None):
        self.kind = kind
        self.names = names or {}
        self.values = values_ or {}
        self.used_names: set[str] = set()
        self.used_values: set[str] = set()
        self.issues: dict[str, DynamoError] = {}
        self.name_category = "undefined_name" if kind == UPDATE else "undefined"
        self.value_category = "undefined_value" if kind == UPDATE else "undefined"

    def note(self, category: str, error: DynamoError) -> None:
        self.issues.setdefault(category, error)

    def finish(self, node: Any, rank: str) -> Resolution:
        for category in _PRIORITY[rank]:
            if category in self.issues:
                raise self.issues[category]
        return Resolution(node, frozenset(self.used_names), frozenset(self.used_values))

    def rejected(self, node: Rejected) -> Rejected:
        for operand in node.operands:
            self.operand(operand)
        error = node.error
        self.note(node.category, DynamoError(error.error_type, error.message, error.status, **error.extra))
        return node

    # --- paths and operands --------------------------------------------------------------------

    def path(self, path: ast.Path) -> ast.Path:
        if not any(type(e) is ast.NamePlaceholder for e in path.elements):
            return path
        out = []
        for element in path.elements:
            if type(element) is ast.NamePlaceholder:
                name = self.names.get(element.name)
                if name is None:
                    self.note(self.name_category, errors.undefined_name(self.kind, element.name))
                    out.append(element)
                    continue
                self.used_names.add(element.name)
                element = name
            out.append(element)
        return ast.Path(tuple(out))

    def operand(self, op: Any) -> Any:
        handler = _OPERANDS.get(type(op))
        if handler is None:
            raise TypeError(f"not an operand: {op!r}")
        return handler(self, op)

    def value(self, op: ast.ValuePlaceholder) -> Any:
        value = self.values.get(op.name)
        if value is None:
            self.note(self.value_category, errors.undefined_value(self.kind, op.name))
            return op
        self.used_values.add(op.name)
        return ast.Literal(value)

    def size(self, op: ast.Size) -> Any:
        arg = self.operand(op.path)
        kind = static_type(arg)
        if kind in ("N", "BOOL", "NULL"):
            self.note("function", errors.operand_type(self.kind, "size", kind))
        elif isinstance(arg, ast.Literal) and self.kind != KEY_CONDITION:  # keycond.py refuses size()
            return ast.Literal({"N": str(size_of(arg.value))})  # size of a constant is a constant
        return ast.Size(arg)

    def arithmetic(self, op: ast.Arithmetic) -> ast.Arithmetic:
        left, right = self.operand(op.left), self.operand(op.right)
        self.constant_types(op.op, (left, right), ("N",))
        return ast.Arithmetic(op.op, left, right)

    def list_append(self, op: ast.ListAppend) -> ast.ListAppend:
        first, second = self.operand(op.first), self.operand(op.second)
        self.constant_types("list_append", (first, second), ("L",))
        return ast.ListAppend(first, second)

    def constant_types(self, name: str, operands: tuple, allowed: tuple[str, ...]) -> None:
        """The first constant operand whose type is not ``allowed`` is an error."""
        for operand in operands:
            kind = values.type_of(operand.value) if isinstance(operand, ast.Literal) else None
            if kind is not None and kind not in allowed:
                self.note("function", errors.operand_type(self.kind, name, kind))
                return

    # --- conditions ----------------------------------------------------------------------------

    def condition(self, cond: Any) -> Any:
        handler = _CONDITIONS.get(type(cond))
        if handler is None:
            raise TypeError(f"not a condition: {cond!r}")
        return handler(self, cond)

    def distinct(self, operator: str, first: Any, rest: tuple) -> None:
        if isinstance(first, ast.Path) and any(first == other for other in rest):
            self.note("distinct", errors.operands_not_distinct(self.kind, operator, path_text(first)))

    def orderable(self, operator: str, operands: tuple) -> None:
        """Only strings, numbers and binaries can be ordered."""
        for operand in operands:
            kind = static_type(operand)
            if kind is not None and kind not in _SCALARS:
                self.note("function", errors.operand_type(self.kind, operator, kind))
                return

    def compare(self, cond: ast.Compare) -> ast.Compare:
        left, right = self.operand(cond.left), self.operand(cond.right)
        self.distinct(cond.op, left, (right,))
        if cond.op not in ("=", "<>"):
            self.orderable(cond.op, (left, right))
        return ast.Compare(cond.op, left, right)

    def between(self, cond: ast.Between) -> ast.Between:
        operand, low, high = self.operand(cond.operand), self.operand(cond.low), self.operand(cond.high)
        self.distinct("BETWEEN", operand, (low, high))
        self.orderable("BETWEEN", (operand, low, high))
        if isinstance(low, ast.Literal) and isinstance(high, ast.Literal):
            if values.type_of(low.value) != values.type_of(high.value):
                self.note("function", errors.between_types(self.kind, _shown(low.value), _shown(high.value)))
            elif (values.compare_scalars(low.value, high.value) or 0) > 0:
                self.note("function", errors.between_order(self.kind, _shown(low.value), _shown(high.value)))
        return ast.Between(operand, low, high)

    def in_(self, cond: ast.In) -> ast.In:
        operand = self.operand(cond.operand)
        options = tuple(self.operand(option) for option in cond.options)
        self.distinct("IN", operand, options)
        return ast.In(operand, options)

    def attribute_type(self, cond: ast.AttributeType) -> ast.AttributeType:
        path, type_operand = self.path(cond.path), self.operand(cond.type)
        self.distinct("attribute_type", path, (type_operand,))
        kind = static_type(type_operand)
        if kind != "S":
            if not isinstance(type_operand, ast.ValuePlaceholder):  # undefined: reported already
                self.note("function", errors.operand_type(self.kind, "attribute_type", kind or _ANY_TYPE))
        elif isinstance(type_operand, ast.Literal) and type_operand.value["S"] not in _TYPE_NAMES:
            self.note("function", errors.invalid_type_name(self.kind, type_operand.value["S"]))
        return ast.AttributeType(path, type_operand)

    def begins_with(self, cond: ast.BeginsWith) -> ast.BeginsWith:
        operand, prefix = self.operand(cond.operand), self.operand(cond.prefix)
        self.distinct("begins_with", operand, (prefix,))
        for each in (operand, prefix):
            kind = static_type(each)
            if kind is not None and kind not in ("S", "B"):
                self.note("function", errors.operand_type(self.kind, "begins_with", kind))
                break
        return ast.BeginsWith(operand, prefix)

    def contains(self, cond: ast.Contains) -> ast.Contains:
        operand, value = self.operand(cond.operand), self.operand(cond.value)
        self.distinct("contains", operand, (value,))
        return ast.Contains(operand, value)

    # --- updates and paths that must not overlap -----------------------------------------------

    def update(self, update: ast.Update) -> ast.Update:
        groups: dict[str, tuple] = {"SET": (), "REMOVE": (), "ADD": (), "DELETE": ()}
        targets: list[ast.Path] = []
        for clause in update.clauses or _DEFAULT_ORDER:
            groups[clause] = tuple(_ACTIONS[clause](self, action) for action in _actions(update, clause))
            targets.extend(action.path for action in groups[clause])
        self.overlaps(targets)
        return ast.Update(groups["SET"], groups["REMOVE"], groups["ADD"], groups["DELETE"],
                          clauses=update.clauses)

    def add_action(self, action: ast.AddAction) -> ast.AddAction:
        path, value = self.path(action.path), self.operand(action.value)
        kind = static_type(value)
        if kind is not None and kind != "N" and kind not in values.SET_TYPES:
            self.note("operand", errors.action_operand_type(self.kind, "ADD", _SPELLED[kind]))
        return ast.AddAction(path, value)

    def delete_action(self, action: ast.DeleteAction) -> ast.DeleteAction:
        path, value = self.path(action.path), self.operand(action.value)
        kind = static_type(value)
        if kind is not None and kind not in values.SET_TYPES:
            self.note("operand", errors.action_operand_type(self.kind, "DELETE", _SPELLED[kind]))
        return ast.DeleteAction(path, value)

    def overlaps(self, paths: list[ast.Path] | tuple[ast.Path, ...]) -> None:
        """Two paths where one is a prefix of the other overlap; two that use the same step as a
        map key and as a list index conflict.  The first overlap outranks any conflict."""
        conflict = None
        by_root: dict[Any, list[ast.Path]] = {}
        for later in paths:
            earlier_paths = by_root.setdefault(later.elements[0], [])
            for earlier in earlier_paths:
                relation = _relation(earlier.elements, later.elements)
                if relation == "overlap":
                    self.note("overlap", errors.paths_overlap(self.kind, path_text(earlier), path_text(later)))
                    return
                if relation == "conflict" and conflict is None:
                    conflict = (earlier, later)
            earlier_paths.append(later)
        if conflict is not None:
            self.note("conflict", errors.paths_conflict(self.kind, path_text(conflict[0]), path_text(conflict[1])))


def _relation(one: tuple, two: tuple) -> str | None:
    for a, b in zip(one, two):
        if isinstance(a, int) != isinstance(b, int):
            return "conflict"
        if a != b:
            return None
    return "overlap"


def _actions(update: ast.Update, clause: str) -> tuple:
    return {"SET": update.sets, "REMOVE": update.removes, "ADD": update.adds, "DELETE": update.deletes}[clause]


def _logical(walker: _Resolver, cond: Any) -> Any:
    """AND/OR/NOT, walked without deep recursion and resolved into a shallow tree, so that the
    (recursive) evaluators handle any expression that fits in 4 KB: ``NOT NOT x`` is ``x``, and a
    chain of more than ``_FLAT_CHAIN`` conditions joined by one operator becomes a balanced tree."""
    if isinstance(cond, ast.Not):
        negations = 0
        while isinstance(cond, ast.Not):
            negations, cond = negations + 1, cond.operand
        node = walker.condition(cond)
        return ast.Not(node) if negations % 2 else node
    kind, rights = type(cond), []
    while type(cond) is kind:
        rights.append(cond.right)
        cond = cond.left
    nodes = [walker.condition(cond)]
    nodes.extend(walker.condition(right) for right in reversed(rights))
    return _chain(kind, nodes)


_FLAT_CHAIN = 32


def _chain(kind: type, nodes: list) -> Any:
    if len(nodes) > _FLAT_CHAIN:
        middle = len(nodes) // 2
        return kind(_chain(kind, nodes[:middle]), _chain(kind, nodes[middle:]))
    node = nodes[0]
    for other in nodes[1:]:
        node = kind(node, other)
    return node


_OPERANDS = {
    ast.Path: _Resolver.path,
    ast.ValuePlaceholder: _Resolver.value,
    ast.Literal: lambda walker, op: op,
    ast.Size: _Resolver.size,
    ast.IfNotExists: lambda walker, op: ast.IfNotExists(walker.path(op.path), walker.operand(op.default)),
    ast.ListAppend: _Resolver.list_append,
    ast.Arithmetic: _Resolver.arithmetic,
    Rejected: _Resolver.rejected,
}
_CONDITIONS = {
    ast.Compare: _Resolver.compare,
    ast.Between: _Resolver.between,
    ast.In: _Resolver.in_,
    ast.And: _logical,
    ast.Or: _logical,
    ast.Not: _logical,
    ast.AttributeExists: lambda walker, cond: ast.AttributeExists(walker.path(cond.path)),
    ast.AttributeNotExists: lambda walker, cond: ast.AttributeNotExists(walker.path(cond.path)),
    ast.AttributeType: _Resolver.attribute_type,
    ast.BeginsWith: _Resolver.begins_with,
    ast.Contains: _Resolver.contains,
    Rejected: _Resolver.rejected,
}
_ACTIONS = {
    "SET": lambda walker, a: ast.SetAction(walker.path(a.path), walker.operand(a.value)),
    "REMOVE": lambda walker, a: ast.RemoveAction(walker.path(a.path)),
    "ADD": _Resolver.add_action,
    "DELETE": _Resolver.delete_action,
}
