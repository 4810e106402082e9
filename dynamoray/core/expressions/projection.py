"""Apply a projection (ProjectionExpression, AttributesToGet) to an item.

DynamoDB keeps the document structure around each projected path and drops everything else:
projecting ``a.b[1]`` yields ``{"a": {"M": {"b": {"L": [<element 1>]}}}}``.  Several indexes
into one list produce a compacted list ordered by the original index (``l[2], l[0]`` gives
``[l[0], l[2]]``); paths that do not exist in the item are skipped, and a container left with
nothing projected in it is omitted.  The item is never modified; projected values are shared
with it, not copied (items are treated as immutable).
"""

from __future__ import annotations

from typing import Union

from ..values import AttributeValue, Item
from . import ast

_WHOLE = None  # a tree leaf: the whole value at this path is projected
_Tree = dict[Union[str, int], "_Tree | None"]


def project(projection: ast.Projection, item: Item) -> Item:
    """The projected copy of ``item`` (an empty dict when nothing matched)."""
    return _project_map(item, path_tree(projection.paths))


def path_tree(paths: tuple[ast.Path, ...]) -> _Tree:
    """The paths merged into a tree of path elements; a path covering another one wins."""
    tree: _Tree = {}
    for path in paths:
        node = tree
        *parents, last = path.elements
        for element in parents:
            child = node.setdefault(element, {})  # type: ignore[arg-type]
            if child is _WHOLE:
                break
            node = child
        else:
            node[last] = _WHOLE  # type: ignore[index]
    return tree


def _project_map(members: dict[str, AttributeValue], tree: _Tree) -> dict[str, AttributeValue]:
    out: dict[str, AttributeValue] = {}
    for name, subtree in tree.items():
        if not isinstance(name, str) or name not in members:
            continue
        picked = _pick(members[name], subtree)
        if picked is not None:
            out[name] = picked
    return out


def _pick(value: AttributeValue, subtree: _Tree | None) -> AttributeValue | None:
    if subtree is _WHOLE:
        return value
    if "M" in value:
        members = _project_map(value["M"], subtree)
        return {"M": members} if members else None
    if "L" in value:
        elements = value["L"]
        indexes = sorted(i for i in subtree if isinstance(i, int) and 0 <= i < len(elements))
        picked = [p for p in (_pick(elements[i], subtree[i]) for i in indexes) if p is not None]
        return {"L": picked} if picked else None
    return None
