"""The inverse of parser.parse: expression text for an unresolved AST (tests and tools).

``parse(unparse(node), kind) == node`` for every AST the parser can produce: conditions get the
fewest parentheses DynamoDB's precedence needs (never redundant ones), updates keep their clause
order.  Literals have no text form, so unparse works on ASTs before resolution.
"""

from __future__ import annotations

from typing import Any

from . import ast

_CLAUSE_ORDER = ("SET", "REMOVE", "ADD", "DELETE")


def unparse(node: Any) -> str:
    """Expression text for an unresolved AST that ``parse`` turns back into the same AST."""
    if isinstance(node, ast.Update):
        return _unparse_update(node)
    if isinstance(node, ast.Projection):
        return ", ".join(str(path) for path in node.paths)
    if isinstance(node, _CONDITIONS):
        return _condition_text(node, 0)
    return _operand_text(node)


_BINDING = {ast.Or: 1, ast.And: 2, ast.Not: 3}


def _condition_text(node: Any, minimum: int) -> str:
    if isinstance(node, ast.Or):
        text = f"{_condition_text(node.left, 1)} OR {_condition_text(node.right, 2)}"
    elif isinstance(node, ast.And):
        text = f"{_condition_text(node.left, 2)} AND {_condition_text(node.right, 3)}"
    elif isinstance(node, ast.Not):
        text = f"NOT {_condition_text(node.operand, 3)}"
    else:
        text = _leaf_text(node)
    return f"({text})" if _BINDING.get(type(node), 4) < minimum else text


def _leaf_text(node: Any) -> str:
    o = _operand_text
    if isinstance(node, ast.Compare):
        return f"{o(node.left)} {node.op} {o(node.right)}"
    if isinstance(node, ast.Between):
        return f"{o(node.operand)} BETWEEN {o(node.low)} AND {o(node.high)}"
    if isinstance(node, ast.In):
        return f"{o(node.operand)} IN ({', '.join(o(option) for option in node.options)})"
    if isinstance(node, ast.AttributeExists):
        return f"attribute_exists({node.path})"
    if isinstance(node, ast.AttributeNotExists):
        return f"attribute_not_exists({node.path})"
    if isinstance(node, ast.AttributeType):
        return f"attribute_type({node.path}, {o(node.type)})"
    if isinstance(node, ast.BeginsWith):
        return f"begins_with({o(node.operand)}, {o(node.prefix)})"
    if isinstance(node, ast.Contains):
        return f"contains({o(node.operand)}, {o(node.value)})"
    raise TypeError(f"not a condition node: {node!r}")


def _operand_text(node: Any) -> str:
    if isinstance(node, ast.Path):
        return str(node)
    if isinstance(node, ast.ValuePlaceholder):
        return node.name
    if isinstance(node, ast.Size):
        return f"size({_operand_text(node.path)})"
    if isinstance(node, ast.IfNotExists):
        return f"if_not_exists({node.path}, {_operand_text(node.default)})"
    if isinstance(node, ast.ListAppend):
        return f"list_append({_operand_text(node.first)}, {_operand_text(node.second)})"
    if isinstance(node, ast.Arithmetic):
        return f"{_operand_text(node.left)} {node.op} {_operand_text(node.right)}"
    raise TypeError(f"no expression text for {node!r} (unparse works before resolution)")


def _unparse_update(update: ast.Update) -> str:
    groups = {
        "SET": [f"{a.path} = {_operand_text(a.value)}" for a in update.sets],
        "REMOVE": [str(a.path) for a in update.removes],
        "ADD": [f"{a.path} {_operand_text(a.value)}" for a in update.adds],
        "DELETE": [f"{a.path} {_operand_text(a.value)}" for a in update.deletes],
    }
    order = update.clauses or _CLAUSE_ORDER
    return " ".join(f"{clause} {', '.join(groups[clause])}" for clause in order if groups[clause])


_CONDITIONS = (ast.Compare, ast.Between, ast.In, ast.And, ast.Or, ast.Not, ast.AttributeExists,
               ast.AttributeNotExists, ast.AttributeType, ast.BeginsWith, ast.Contains)
