"""Attribute values written as PartiQL literals: the inverse of the value grammar.

``render({"M": {"a": {"NS": ["1", "2"]}}})`` is ``{'a': <<1, 2>>}``.  Binary values have no
PartiQL literal (DynamoDB takes them only as parameters), so they raise ValueError.
"""

from __future__ import annotations

from typing import Any


def quote(text: str) -> str:
    """A single-quoted PartiQL string."""
    return "'" + text.replace("'", "''") + "'"


def identifier(name: str) -> str:
    """A double-quoted PartiQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def render(value: dict[str, Any]) -> str:
    (kind, raw), = value.items()
    if kind == "S":
        return quote(raw)
    if kind == "N":
        return raw
    if kind == "BOOL":
        return "TRUE" if raw else "FALSE"
    if kind == "NULL":
        return "NULL"
    if kind == "SS":
        return "<<" + ", ".join(quote(m) for m in raw) + ">>"
    if kind == "NS":
        return "<<" + ", ".join(raw) + ">>"
    if kind == "L":
        return "[" + ", ".join(render(e) for e in raw) + "]"
    if kind == "M":
        return "{" + ", ".join(f"{quote(k)}: {render(v)}" for k, v in raw.items()) + "}"
    raise ValueError(f"no PartiQL literal for a {kind} value")
