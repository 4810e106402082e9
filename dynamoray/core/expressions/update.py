"""Apply a resolved UpdateExpression (or translated AttributeUpdates) to an item.

:func:`apply_update` is pure and safe to retry: it returns a new item and never modifies the one
it is given (unchanged sub-documents are shared between the two).  DynamoDB's semantics:

* every right-hand side (SET values, and the current values ADD and DELETE combine with) is read
  from the item *before* the update, so ``SET a = :v, b = a`` copies the old ``a``;
* list indexes refer to positions in the original list: ``REMOVE a[1] SET a[3] = :v`` replaces the
  original fourth element and removes the second; SETs past the end of a list append, in index
  order; removing a list element or map key that does not exist is a no-op;
* a path whose parent does not exist, or is not a map (``.key``) or list (``[i]``), is "invalid
  for update" (for REMOVE too), except that REMOVE on a nonexistent *item* does nothing;
* ADD adds numbers (a missing attribute counts as 0) or unions sets (missing: the empty set);
  DELETE subtracts sets, and a set left empty removes the attribute;
* ``+``, ``-``, ``list_append`` and ``if_not_exists`` read the old item; an operand that is
  missing is "an attribute that does not exist in the item", one of the wrong type is "an
  incorrect data type".

Paths are assumed not to overlap (the parser rejects overlapping and conflicting paths).
"""

from __future__ import annotations

from itertools import chain
from typing import Any, Iterable, Iterator

from .. import errors, values
from ..values import AttributeValue, Item
from . import ast
from .evaluate import get_path, operand_value
from .projection import project


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


_REMOVE = _Marker("REMOVE")  # delete the attribute / element at the path
_KEEP = _Marker("KEEP")  # leave it as it is (DELETE from a missing set), but the path must be valid

_Op = Any  # an AttributeValue to store, _REMOVE or _KEEP
_Mod = tuple[tuple[Any, ...], _Op]  # (remaining path elements, op)


# --- public API ------------------------------------------------------------------------------


def apply_update(update: ast.Update, item: Item | None) -> Item:
    """The item after ``update`` (``item`` None: the item does not exist yet)."""
    source: Item = item if item is not None else {}
    mods = [(path.elements, op) for path, op in _plan(update, source)]
    result = _apply_members(source, mods, lenient=item is None)
    for name in {elements[0] for elements, _ in mods}:
        if name in result and _depth(result[name]) > values.MAX_NESTING_DEPTH:
            raise errors.nesting_too_deep()
    return result


def check_update_keys(update: ast.Update, key_names: Iterable[str]) -> None:
    """Raise DynamoDB's error when the update touches a key attribute."""
    keys = set(key_names)
    for path in updated_paths(update):
        name = path.elements[0]
        if name in keys:
            raise errors.key_attribute_update(str(name))


def updated_paths(update: ast.Update) -> tuple[ast.Path, ...]:
    """Every path the update writes or removes (SET, REMOVE, ADD, DELETE order)."""
    actions = chain(update.sets, update.removes, update.adds, update.deletes)
    return tuple(action.path for action in actions)


def project_updated(update: ast.Update, item: Item) -> Item:
    """The updated paths of ``item`` (ReturnValues UPDATED_OLD on the old item, UPDATED_NEW on
    the new one), keeping the document structure around nested paths."""
    return project(ast.Projection(updated_paths(update)), item)


# --- planning: every new value, computed from the old item -----------------------------------


def _plan(update: ast.Update, item: Item) -> Iterator[tuple[ast.Path, _Op]]:
    for action in update.sets:
        yield action.path, _set_value(action.value, item)
    for removal in update.removes:
        yield removal.path, _REMOVE
    for add in update.adds:
        yield add.path, _add(get_path(item, add.path), _literal(add.value, item), update.legacy)
    for delete in update.deletes:
        yield delete.path, _delete(get_path(item, delete.path), _literal(delete.value, item),
                                   update.legacy)


def _set_value(operand: ast.Operand, item: Item) -> AttributeValue:
    if isinstance(operand, ast.IfNotExists):
        current = get_path(item, operand.path)
        return current if current is not None else _set_value(operand.default, item)
    if isinstance(operand, ast.ListAppend):
        first = _set_value(operand.first, item)
        second = _set_value(operand.second, item)
        if "L" not in first or "L" not in second:
            raise errors.update_operand_type()
        return {"L": first["L"] + second["L"]}
    if isinstance(operand, ast.Arithmetic):
        return _arithmetic(operand, item)
    value = operand_value(operand, item)
    if value is None:
        raise errors.update_attribute_missing()
    return value


def _arithmetic(operand: ast.Arithmetic, item: Item) -> AttributeValue:
    left = _set_value(operand.left, item)
    right = _set_value(operand.right, item)
    if "N" not in left or "N" not in right:
        raise errors.update_operand_type()
    a, b = values.to_decimal(left["N"]), values.to_decimal(right["N"])
    context = values.DECIMAL_CONTEXT
    result = context.add(a, b) if operand.op == "+" else context.subtract(a, b)
    return {"N": values.format_number(values.check_number(result))}


def _literal(operand: ast.Operand, item: Item) -> AttributeValue:
    value = operand_value(operand, item)
    if value is None:
        raise errors.update_attribute_missing()
    return value


def _add(current: AttributeValue | None, value: AttributeValue, legacy: bool) -> AttributeValue:
    kind = values.type_of(value)
    if kind != "N" and kind not in values.SET_TYPES and not (legacy and kind == "L"):
        raise errors.update_operand_type()
    if current is None:
        return value
    if kind not in current:
        raise errors.update_type_mismatch() if legacy else errors.update_operand_type()
    if kind == "N":
        total = values.DECIMAL_CONTEXT.add(values.to_decimal(current["N"]), values.to_decimal(value["N"]))
        return {"N": values.format_number(values.check_number(total))}
    if kind == "L":
        return {"L": current["L"] + value["L"]}
    present = set(current[kind])
    return {kind: current[kind] + [m for m in dict.fromkeys(value[kind]) if m not in present]}


def _delete(current: AttributeValue | None, value: AttributeValue, legacy: bool) -> _Op:
    kind = values.type_of(value)
    if kind not in values.SET_TYPES:
        raise errors.update_operand_type()
    if current is None:
        return _KEEP
    if kind not in current:
        raise errors.update_type_mismatch() if legacy else errors.update_operand_type()
    removed = set(value[kind])
    remaining = [m for m in current[kind] if m not in removed]
    return {kind: remaining} if remaining else _REMOVE


# --- applying: rebuild the touched containers, share the rest --------------------------------


def _apply_members(members: dict[str, AttributeValue], mods: list[_Mod], lenient: bool) -> dict:
    """A new map with the modifications (whose first path elements are keys of it) applied."""
    out = dict(members)
    for key, group in _group(mods).items():
        if not isinstance(key, str):
            raise errors.update_path_invalid()
        leaf, nested = _split(group)
        if leaf is not None:
            _store_member(out, key, leaf)
            continue
        child = _apply_child(members.get(key), nested, lenient)
        if child is not None:
            out[key] = child
    return out


def _store_member(out: dict, key: str, op: _Op) -> None:
    if op is _REMOVE:
        out.pop(key, None)
    elif op is not _KEEP:
        out[key] = op


def _apply_child(value: AttributeValue | None, mods: list[_Mod], lenient: bool) -> AttributeValue | None:
    """The container ``value`` with nested modifications applied; None means "leave it"."""
    if value is None:
        if lenient and all(op is _REMOVE or op is _KEEP for _, op in mods):
            return None
        raise errors.update_path_invalid()
    by_index = all(isinstance(elements[0], int) for elements, _ in mods)
    by_key = all(isinstance(elements[0], str) for elements, _ in mods)
    if by_key and "M" in value:
        return {"M": _apply_members(value["M"], mods, lenient)}
    if by_index and "L" in value:
        return {"L": _apply_elements(value["L"], mods, lenient)}
    raise errors.update_path_invalid()


def _apply_elements(elements: list[AttributeValue], mods: list[_Mod], lenient: bool) -> list:
    """A new list: in-place changes and removals by original index, then appends in index order."""
    out = list(elements)
    removed: set[int] = set()
    appended: list[tuple[int, AttributeValue]] = []
    for index, group in _group(mods).items():
        leaf, nested = _split(group)
        if index < len(elements):
            if leaf is _REMOVE:
                removed.add(index)
            elif leaf is None:
                out[index] = _apply_child(elements[index], nested, lenient)
            elif leaf is not _KEEP:
                out[index] = leaf
        elif leaf is None:
            _apply_child(None, nested, lenient)  # a path through a missing element
        elif leaf is not _REMOVE and leaf is not _KEEP:
            appended.append((index, leaf))
    kept = [value for i, value in enumerate(out) if i not in removed]
    return kept + [value for _, value in sorted(appended, key=lambda pair: pair[0])]


def _group(mods: list[_Mod]) -> dict[Any, list[_Mod]]:
    groups: dict[Any, list[_Mod]] = {}
    for elements, op in mods:
        groups.setdefault(elements[0], []).append((elements[1:], op))
    return groups


def _split(group: list[_Mod]) -> tuple[_Op | None, list[_Mod]]:
    """The op aimed at this very element (if any), and the modifications nested below it."""
    leaf = None
    nested = []
    for elements, op in group:
        if elements:
            nested.append((elements, op))
        else:
            leaf = op
    return leaf, nested


def _depth(value: AttributeValue) -> int:
    """How many lists/maps are nested in ``value`` (a scalar is 0)."""
    if "M" in value:
        return 1 + max((_depth(v) for v in value["M"].values()), default=0)
    if "L" in value:
        return 1 + max((_depth(v) for v in value["L"]), default=0)
    return 0
