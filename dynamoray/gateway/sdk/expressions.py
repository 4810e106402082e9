"""Condition, key-condition, update and projection builders that never put a name or a value in
the expression text.

    Attr("status").eq("open") & Attr("deleted").not_exists()
    Key("pk").eq("user#1") & Key("sk").begins_with("order#")
    Update().set("status", "paid").add("version", 1).remove("draft")

Rendering goes through one :class:`Placeholders` per request: every attribute name becomes
``#n<i>`` and every value ``:v<i>``, so names that are reserved words, or hold ``.``, ``-``, spaces
or anything else, are never a problem, and no value can change the expression's meaning.

A path is written ``"a.b[2].c"`` (split on dots, ``[n]`` is a list index), or given as a list of
segments taken literally (``Attr(["a.b", 2])``: the attribute named ``a.b``, element 2), or built
with ``[]``: ``Attr("a")["b.c"][0]``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Union

from .convert import WireValue, to_wire

Segment = Union[str, int]
_PART = re.compile(r"([^\[\]]+)((?:\[\d+\])*)")
_INDEX = re.compile(r"\[(\d+)\]")


def parse_path(text: str) -> tuple[Segment, ...]:
    """``"a.b[2]"`` -> ``("a", "b", 2)``; raises ValueError for an unparsable path."""
    segments: list[Segment] = []
    for part in text.split("."):
        match = _PART.fullmatch(part)
        if match is None:
            raise ValueError(f"Invalid attribute path {text!r}: use Attr([...]) for names with dots or brackets")
        segments.append(match.group(1))
        segments.extend(int(i) for i in _INDEX.findall(match.group(2)))
    return tuple(segments)


class Placeholders:
    """Allocates the ``#n``/``:v`` placeholders of one request (the same name gets one placeholder)."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, WireValue] = {}
        self._by_name: dict[str, str] = {}

    def name(self, name: str) -> str:
        placeholder = self._by_name.get(name)
        if placeholder is None:
            placeholder = self._by_name[name] = f"#n{len(self._by_name)}"
            self.names[placeholder] = name
        return placeholder

    def value(self, value: Any) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = to_wire(value)
        return placeholder

    def path(self, segments: Sequence[Segment]) -> str:
        out = []
        for segment in segments:
            if isinstance(segment, int):
                out.append(f"[{segment}]")
            else:
                out.append(("." if out else "") + self.name(segment))
        return "".join(out)

    def params(self) -> dict[str, Any]:
        """``ExpressionAttributeNames``/``ExpressionAttributeValues`` for the request, when used."""
        out: dict[str, Any] = {}
        if self.names:
            out["ExpressionAttributeNames"] = self.names
        if self.values:
            out["ExpressionAttributeValues"] = self.values
        return out


# --- operands --------------------------------------------------------------------------------------


class Operand:
    """Something that renders to an operand: a path, ``size(path)``, a function, arithmetic."""

    def render(self, p: Placeholders) -> str:
        raise NotImplementedError

    def eq(self, value: Any) -> Condition:
        return _Compare(self, "=", value)

    def ne(self, value: Any) -> Condition:
        return _Compare(self, "<>", value)

    def lt(self, value: Any) -> Condition:
        return _Compare(self, "<", value)

    def lte(self, value: Any) -> Condition:
        return _Compare(self, "<=", value)

    def gt(self, value: Any) -> Condition:
        return _Compare(self, ">", value)

    def gte(self, value: Any) -> Condition:
        return _Compare(self, ">=", value)

    def between(self, low: Any, high: Any) -> Condition:
        return _Between(self, low, high)

    def is_in(self, values: Iterable[Any]) -> Condition:
        return _In(self, tuple(values))

    def __add__(self, other: Any) -> Operand:
        return _Arithmetic(self, "+", other)

    def __sub__(self, other: Any) -> Operand:
        return _Arithmetic(self, "-", other)


def _operand(value: Any, p: Placeholders) -> str:
    return value.render(p) if isinstance(value, Operand) else p.value(value)


class Attr(Operand):
    """An attribute path in a condition, filter, update or projection."""

    def __init__(self, path: str | Sequence[Segment]) -> None:
        self.segments: tuple[Segment, ...] = parse_path(path) if isinstance(path, str) else tuple(path)
        if not self.segments or not isinstance(self.segments[0], str):
            raise ValueError("An attribute path starts with a name")

    def __getitem__(self, segment: Segment) -> Attr:
        return type(self)((*self.segments, segment))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self.segments)!r})"

    def render(self, p: Placeholders) -> str:
        return p.path(self.segments)

    def begins_with(self, prefix: Any) -> Condition:
        return _Function("begins_with", (self, prefix))

    def contains(self, value: Any) -> Condition:
        return _Function("contains", (self, value))

    def exists(self) -> Condition:
        return _Function("attribute_exists", (self,))

    def not_exists(self) -> Condition:
        return _Function("attribute_not_exists", (self,))

    def attribute_type(self, type_name: str) -> Condition:
        """``type_name`` is a DynamoDB type: S, N, B, SS, NS, BS, M, L, NULL or BOOL."""
        return _Function("attribute_type", (self, type_name))

    def size(self) -> Operand:
        return _Call("size", (self,))


class Key(Attr):
    """A key attribute in a key condition: ``Key("pk").eq(1) & Key("sk").between(1, 9)``."""


def if_not_exists(path: Attr | str, default: Any) -> Operand:
    """``if_not_exists(path, default)`` in an update's SET."""
    return _Call("if_not_exists", (_as_attr(path), default))


def list_append(first: Any, second: Any) -> Operand:
    """``list_append(first, second)`` in an update's SET (each a path or a list value)."""
    return _Call("list_append", (first, second))


def _as_attr(path: Attr | str | Sequence[Segment]) -> Attr:
    return path if isinstance(path, Attr) else Attr(path)


@dataclass(frozen=True, eq=False)
class _Call(Operand):
    function: str
    args: tuple[Any, ...]

    def render(self, p: Placeholders) -> str:
        return f"{self.function}({', '.join(_operand(a, p) for a in self.args)})"


@dataclass(frozen=True, eq=False)
class _Arithmetic(Operand):
    left: Any
    op: str
    right: Any

    def render(self, p: Placeholders) -> str:
        return f"{_operand(self.left, p)} {self.op} {_operand(self.right, p)}"


# --- conditions ------------------------------------------------------------------------------------


class Condition:
    """A condition: combine with ``&`` (AND), ``|`` (OR) and ``~`` (NOT)."""

    def render(self, p: Placeholders) -> str:
        raise NotImplementedError

    def __and__(self, other: Condition) -> Condition:
        return _Logical("AND", self, other)

    def __or__(self, other: Condition) -> Condition:
        return _Logical("OR", self, other)

    def __invert__(self) -> Condition:
        return _Not(self)


@dataclass(frozen=True, eq=False)
class _Compare(Condition):
    left: Operand
    op: str
    right: Any

    def render(self, p: Placeholders) -> str:
        return f"{self.left.render(p)} {self.op} {_operand(self.right, p)}"


@dataclass(frozen=True, eq=False)
class _Between(Condition):
    operand: Operand
    low: Any
    high: Any

    def render(self, p: Placeholders) -> str:
        return f"{self.operand.render(p)} BETWEEN {_operand(self.low, p)} AND {_operand(self.high, p)}"


@dataclass(frozen=True, eq=False)
class _In(Condition):
    operand: Operand
    values: tuple[Any, ...]

    def render(self, p: Placeholders) -> str:
        if not self.values:
            raise ValueError("is_in() needs at least one value")
        return f"{self.operand.render(p)} IN ({', '.join(_operand(v, p) for v in self.values)})"


@dataclass(frozen=True, eq=False)
class _Function(Condition):
    function: str
    args: tuple[Any, ...]

    def render(self, p: Placeholders) -> str:
        return f"{self.function}({', '.join(_operand(a, p) for a in self.args)})"


@dataclass(frozen=True, eq=False)
class _Logical(Condition):
    op: str
    left: Condition
    right: Condition

    def render(self, p: Placeholders) -> str:
        return f"({self.left.render(p)}) {self.op} ({self.right.render(p)})"


@dataclass(frozen=True, eq=False)
class _Not(Condition):
    inner: Condition

    def render(self, p: Placeholders) -> str:
        return f"NOT ({self.inner.render(p)})"


# --- updates ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Update:
    """An update expression, built by chaining; each call returns a new Update.

    ``set(path, value)`` takes a plain value or an operand (``Attr("a") + 1``, ``if_not_exists(...)``,
    ``list_append(...)``); ``increment``, ``append`` and ``prepend`` are the usual shortcuts."""

    sets: tuple[tuple[Attr, Any], ...] = ()
    removes: tuple[Attr, ...] = ()
    adds: tuple[tuple[Attr, Any], ...] = ()
    deletes: tuple[tuple[Attr, Any], ...] = ()

    def set(self, path: Attr | str, value: Any) -> Update:
        return Update((*self.sets, (_as_attr(path), value)), self.removes, self.adds, self.deletes)

    def set_if_not_exists(self, path: Attr | str, value: Any) -> Update:
        attr = _as_attr(path)
        return self.set(attr, if_not_exists(attr, value))

    def increment(self, path: Attr | str, by: Any = 1) -> Update:
        """``path = if_not_exists(path, 0) + by``: works on a missing attribute too."""
        attr = _as_attr(path)
        return self.set(attr, if_not_exists(attr, 0) + by)

    def append(self, path: Attr | str, values: Sequence[Any]) -> Update:
        attr = _as_attr(path)
        return self.set(attr, list_append(if_not_exists(attr, []), list(values)))

    def prepend(self, path: Attr | str, values: Sequence[Any]) -> Update:
        attr = _as_attr(path)
        return self.set(attr, list_append(list(values), if_not_exists(attr, [])))

    def remove(self, *paths: Attr | str) -> Update:
        return Update(self.sets, (*self.removes, *(_as_attr(p) for p in paths)), self.adds, self.deletes)

    def add(self, path: Attr | str, value: Any) -> Update:
        """ADD: a number to a number, or elements to a set (creating it when missing)."""
        return Update(self.sets, self.removes, (*self.adds, (_as_attr(path), value)), self.deletes)

    def delete(self, path: Attr | str, value: Any) -> Update:
        """DELETE: elements from a set."""
        return Update(self.sets, self.removes, self.adds, (*self.deletes, (_as_attr(path), value)))

    def render(self, p: Placeholders) -> str:
        clauses = []
        if self.sets:
            clauses.append("SET " + ", ".join(f"{a.render(p)} = {_operand(v, p)}" for a, v in self.sets))
        if self.removes:
            clauses.append("REMOVE " + ", ".join(a.render(p) for a in self.removes))
        if self.adds:
            clauses.append("ADD " + ", ".join(f"{a.render(p)} {p.value(v)}" for a, v in self.adds))
        if self.deletes:
            clauses.append("DELETE " + ", ".join(f"{a.render(p)} {p.value(v)}" for a, v in self.deletes))
        if not clauses:
            raise ValueError("An Update needs at least one action")
        return " ".join(clauses)


def projection(paths: Iterable[Attr | str], p: Placeholders) -> str:
    """A ProjectionExpression for ``paths``."""
    rendered = [_as_attr(path).render(p) for path in paths]
    if not rendered:
        raise ValueError("A projection needs at least one attribute")
    return ", ".join(rendered)


__all__ = ["Attr", "Condition", "Key", "Operand", "Placeholders", "Update", "if_not_exists",
           "list_append", "parse_path", "projection"]
