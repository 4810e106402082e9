"""The typed AST shared by every kind of DynamoDB expression.

One grammar (``parser.py``) produces these nodes for condition, filter, key-condition, update and
projection expressions; ``resolve.py`` substitutes ``#name`` and ``:value`` placeholders; the
evaluators (``evaluate.py``, ``update.py``, ``projection.py``) are pure functions over items.  The
legacy request parameters (``Expected``, ``AttributeUpdates``, ``KeyConditions``, ...) are
translated into the same nodes (``legacy.py``), so there is one evaluator.

All nodes are frozen and hashable; children are reached by name, never by position.

Before resolution a path element may be a :class:`NamePlaceholder` and an operand may be a
:class:`ValuePlaceholder`; after resolution neither appears: path elements are ``str`` (attribute or
map-key names) and ``int`` (list indexes), and values are :class:`Literal`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

import orjson

# --- paths and operands ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NamePlaceholder:
    """``#name`` in a document path, before resolution."""

    name: str  # including the leading '#'


@dataclass(frozen=True, slots=True)
class Path:
    """A document path: ``a.b[2].c`` is ``Path(("a", "b", 2, "c"))``.

    The first element is always an attribute name (``str`` or placeholder); ``int`` elements are
    list indexes; later ``str`` elements are map keys."""

    elements: tuple[Union[str, int, NamePlaceholder], ...]

    def __str__(self) -> str:
        out = []
        for i, e in enumerate(self.elements):
            if isinstance(e, int):
                out.append(f"[{e}]")
            else:
                text = e.name if isinstance(e, NamePlaceholder) else e
                out.append(text if i == 0 else "." + text)
        return "".join(out)


@dataclass(frozen=True, slots=True)
class ValuePlaceholder:
    """``:value``, before resolution."""

    name: str  # including the leading ':'


@dataclass(frozen=True, slots=True)
class Literal:
    """A resolved attribute value (normalized wire form, e.g. ``{"N": "5"}``)."""

    value: Any  # AttributeValue

    def __hash__(self) -> int:  # dicts are unhashable; literals are hashed by their JSON text
        return hash(orjson.dumps(self.value, option=orjson.OPT_SORT_KEYS))


@dataclass(frozen=True, slots=True)
class Size:
    """``size(path)`` used as an operand."""

    path: Path


@dataclass(frozen=True, slots=True)
class IfNotExists:
    """``if_not_exists(path, operand)`` (update SET values only)."""

    path: Path
    default: "Operand"


@dataclass(frozen=True, slots=True)
class ListAppend:
    """``list_append(a, b)`` (update SET values only)."""

    first: "Operand"
    second: "Operand"


@dataclass(frozen=True, slots=True)
class Arithmetic:
    """``a + b`` or ``a - b`` (update SET values only)."""

    op: str  # '+' or '-'
    left: "Operand"
    right: "Operand"


Operand = Union[Path, ValuePlaceholder, Literal, Size, IfNotExists, ListAppend, Arithmetic]

# --- conditions (ConditionExpression, FilterExpression, KeyConditionExpression) ---------------

COMPARATORS = ("=", "<>", "<", "<=", ">", ">=")


@dataclass(frozen=True, slots=True)
class Compare:
    op: str  # one of COMPARATORS
    left: Operand
    right: Operand


@dataclass(frozen=True, slots=True)
class Between:
    operand: Operand
    low: Operand
    high: Operand


@dataclass(frozen=True, slots=True)
class In:
    operand: Operand
    options: tuple[Operand, ...]


@dataclass(frozen=True, slots=True)
class And:
    left: "Condition"
    right: "Condition"


@dataclass(frozen=True, slots=True)
class Or:
    left: "Condition"
    right: "Condition"


@dataclass(frozen=True, slots=True)
class Not:
    operand: "Condition"


@dataclass(frozen=True, slots=True)
class AttributeExists:
    path: Path


@dataclass(frozen=True, slots=True)
class AttributeNotExists:
    path: Path


@dataclass(frozen=True, slots=True)
class AttributeType:
    path: Path
    type: Operand  # resolves to a Literal {"S": "SS"} etc.


@dataclass(frozen=True, slots=True)
class BeginsWith:
    operand: Operand
    prefix: Operand


@dataclass(frozen=True, slots=True)
class Contains:
    operand: Operand
    value: Operand


Condition = Union[
    Compare, Between, In, And, Or, Not, AttributeExists, AttributeNotExists, AttributeType,
    BeginsWith, Contains,
]

# --- update expressions ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SetAction:
    path: Path
    value: Operand


@dataclass(frozen=True, slots=True)
class RemoveAction:
    path: Path


@dataclass(frozen=True, slots=True)
class AddAction:
    path: Path
    value: Operand


@dataclass(frozen=True, slots=True)
class DeleteAction:
    path: Path
    value: Operand


@dataclass(frozen=True, slots=True)
class Update:
    """An UpdateExpression: its clauses' actions in the order written.

    ``legacy`` marks an Update translated from the legacy ``AttributeUpdates`` parameter, whose
    semantics differ slightly: ADD also appends to lists, and a type clash is reported as
    "Type mismatch for attribute to update"."""

    sets: tuple[SetAction, ...] = ()
    removes: tuple[RemoveAction, ...] = ()
    adds: tuple[AddAction, ...] = ()
    deletes: tuple[DeleteAction, ...] = ()
    legacy: bool = False
    # The clause keywords in the order written ("SET", "REMOVE", ...), kept by the parser only so
    # that overlapping-path errors name the paths in text order; not part of equality.
    clauses: tuple[str, ...] = field(default=(), compare=False)


# --- projections -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Projection:
    paths: tuple[Path, ...]


# --- key conditions, after shape validation ---------------------------------------------------

RANGE_OPERATORS = ("=", "<", "<=", ">", ">=", "BETWEEN", "begins_with")


@dataclass(frozen=True, slots=True)
class RangeKeyCondition:
    """A validated sort-key condition: ``op`` in RANGE_OPERATORS; ``values`` has two literals for
    BETWEEN, one otherwise."""

    name: str
    op: str
    values: tuple[Any, ...]  # AttributeValues


@dataclass(frozen=True, slots=True)
class KeyCondition:
    """A validated KeyConditionExpression: equality on the hash key, optional range condition."""

    hash_name: str
    hash_value: Any  # AttributeValue
    range: RangeKeyCondition | None = None
