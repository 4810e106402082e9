"""Phase 3: bind the request's ``Parameters`` to the statement's ``?``.

:func:`bind` returns the statement with every :class:`~.syntax.Param`, ``ListValue`` and
``MapValue`` replaced by an ``ast.Literal``; the parameters are validated like any attribute
value (``values.validate_value``).  Fewer parameters than ``?`` is DynamoDB's "Number of
parameters in request and statement don't match."; extra parameters are ignored, as DynamoDB
does.  The tree is rebuilt, never modified, and its literals are copied: the parsed tree is
cached and shared between requests, while the values of a request may end up in stored items.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any, Sequence

from .. import errors, values
from ..expressions import ast
from .syntax import ListValue, MapValue, Param, Parsed


def bind(parsed: Parsed, parameters: Sequence[Any] | None) -> Any:
    """The statement of ``parsed`` with its parameters substituted (a ``syntax`` statement made
    of ``ast`` nodes only)."""
    given = list(parameters or ())
    if len(given) < parsed.parameters:
        raise errors.partiql_parameter_count()
    bound = [values.validate_value(p) for p in given[:parsed.parameters]]
    return _walk(parsed.statement, bound)


def value_of(node: Any, bound: list) -> dict:
    """The attribute value of a bound or unbound value node."""
    if isinstance(node, ast.Literal):
        return node.value
    if isinstance(node, Param):
        return bound[node.index]
    if isinstance(node, ListValue):
        return {"L": [value_of(e, bound) for e in node.elements]}
    if isinstance(node, MapValue):
        return {"M": {k: value_of(v, bound) for k, v in node.entries}}
    raise TypeError(f"not a value: {node!r}")


def _walk(node: Any, bound: list) -> Any:
    if isinstance(node, (Param, ListValue, MapValue)):
        return ast.Literal(copy.deepcopy(value_of(node, bound)))
    if isinstance(node, ast.Literal):
        return ast.Literal(copy.deepcopy(node.value))
    if isinstance(node, tuple):
        return tuple(_walk(n, bound) for n in node)
    if dataclasses.is_dataclass(node) and not isinstance(node, (ast.Literal, ast.Path)):
        changes = {f.name: _walk(getattr(node, f.name), bound) for f in dataclasses.fields(node)}
        return dataclasses.replace(node, **changes)
    return node
