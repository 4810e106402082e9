"""An exactly-once hook batch's writes, staged until they commit as one transaction.

A batch transaction is a TransactWriteItems: at most one action per item.  A hook may write an item
several times in one batch (two orders of one customer both add to the customer's total), and may
read what it wrote.  So writes are staged per item:

- An item written once and never read is committed as that very command (its own condition and
  all): no read is needed.
- An item written more than once, or read, gets a *base*: its committed image, read consistently.
  The staged commands are replayed on it in order (the same ``partition.decide`` a table runs), and
  the result is committed as one action *guarded* by the base: the condition that the item still
  has every attribute it had when it was read (``attribute_not_exists`` if it had none).  An item
  only read becomes a ConditionCheck with that guard.  If another writer changed the item in the
  meantime, the guard fails, the transaction is cancelled and the batch runs again: the batch is
  serializable.

This module is pure: the caller reads the bases and runs the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import keys, partition, values
from .commands import ConditionCheckCommand, DeleteCommand, Item, PutCommand, UpdateCommand
from .expressions import ast

USER, GUARD = "user", "guard"  # the kind of an action: the hook's own command, or a guarded merge
_MISSING = object()


@dataclass(frozen=True, slots=True)
class StagedAction:
    table: str
    command: Any
    kind: str  # USER: its condition is the hook's; GUARD: its condition checks the base
    size: int  # bytes the action writes (for the transaction's 4 MB limit)


@dataclass
class _Entry:
    table: str
    schema: keys.KeySchema
    key: Item
    commands: list = field(default_factory=list)
    base: Any = _MISSING  # the committed image (None: no item), once read


class _OneItem:
    """The view ``partition.decide`` needs: a schema and one item."""

    __slots__ = ("schema", "_item")

    def __init__(self, schema: keys.KeySchema, item: Item | None) -> None:
        self.schema = schema
        self._item = item

    def lookup(self, key: Item) -> Item | None:
        return self._item


def _identity(table: str, key: Item) -> tuple:
    return table, tuple(sorted((name, repr(value)) for name, value in key.items()))


def command_key(schema: keys.KeySchema, command: Any) -> Item:
    if isinstance(command, PutCommand):
        return keys.extract_key(schema, command.item)
    return keys.validate_key(schema, command.key)


class BatchWrites:
    """The staged writes and reads of one batch, in the order items were first touched."""

    def __init__(self) -> None:
        self._entries: dict[tuple, _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def _entry(self, table: str, schema: keys.KeySchema, key: Item) -> _Entry:
        identity = _identity(table, key)
        entry = self._entries.get(identity)
        if entry is None:
            entry = self._entries[identity] = _Entry(table, schema, dict(key))
        return entry

    def add(self, table: str, schema: keys.KeySchema, command: Any) -> None:
        """Stage a write (validates its key now, like the table would)."""
        self._entry(table, schema, command_key(schema, command)).commands.append(command)

    def staged(self, table: str, key: Item) -> bool:
        entry = self._entries.get(_identity(table, key))
        return entry is not None and bool(entry.commands)

    def has_base(self, table: str, key: Item) -> bool:
        entry = self._entries.get(_identity(table, key))
        return entry is not None and entry.base is not _MISSING

    def set_base(self, table: str, schema: keys.KeySchema, key: Item, item: Item | None) -> None:
        """Record the committed image of an item (read consistently)."""
        entry = self._entry(table, schema, keys.validate_key(schema, key))
        if entry.base is _MISSING:
            entry.base = item

    def bases_needed(self) -> list[tuple[str, Item]]:
        """Items whose base must be read before :meth:`actions`: written more than once."""
        return [(e.table, e.key) for e in self._entries.values() if e.base is _MISSING and len(e.commands) > 1]

    def current(self, table: str, key: Item) -> Item | None:
        """The item as the batch sees it: its base with the staged writes applied (the base must
        have been set).  Raises the DynamoError a staged write's condition or update raises."""
        entry = self._entries[_identity(table, key)]
        return _replay(entry)

    def actions(self) -> list[StagedAction]:
        """One action per item: what the batch transaction commits (bases must be set where
        :meth:`bases_needed` says)."""
        out = []
        for entry in self._entries.values():
            if entry.base is _MISSING:
                (command,) = entry.commands
                out.append(StagedAction(entry.table, command, USER, _command_size(command)))
            else:
                out.append(_merged(entry))
        return out


def _replay(entry: _Entry) -> Item | None:
    if entry.base is _MISSING:
        raise ValueError("the item's base was not read")
    item = entry.base
    for command in entry.commands:
        outcome = partition.decide(_OneItem(entry.schema, item), command)
        if outcome.change is not None:
            item = outcome.change.new_image
    return item


def _command_size(command: Any) -> int:
    if isinstance(command, PutCommand):
        return values.item_size(command.item)
    return values.item_size(command.key)


def _merged(entry: _Entry) -> StagedAction:
    base, new = entry.base, _replay(entry)
    key, guard = entry.key, guard_condition(entry.schema, entry.base)
    if new is None:
        command: Any = ConditionCheckCommand(key, guard) if base is None else DeleteCommand(key, guard)
    elif base is None:
        command = PutCommand(new, guard)
    elif values.values_equal({"M": base}, {"M": new}):
        command = ConditionCheckCommand(key, guard)
    else:
        command = UpdateCommand(key, diff_update(entry.schema, base, new), guard)
    size = values.item_size(new) if new is not None else values.item_size(key)
    return StagedAction(entry.table, command, GUARD, size)


def guard_condition(schema: keys.KeySchema, base: Item | None) -> ast.Condition:
    """True while the item is as ``base`` shows it: absent, or holding each of its attributes."""
    hash_path = ast.Path((schema.hash_name,))
    if base is None:
        return ast.AttributeNotExists(hash_path)
    parts: list[Any] = [ast.AttributeExists(hash_path)]
    for name in sorted(base):
        if name not in schema.names:
            parts.append(ast.Compare("=", ast.Path((name,)), ast.Literal(base[name])))
    return _balanced(parts)


def _balanced(parts: list[Any]) -> Any:
    """An AND of the parts as a balanced tree (the evaluators recurse; keep the depth small)."""
    if len(parts) == 1:
        return parts[0]
    middle = len(parts) // 2
    return ast.And(_balanced(parts[:middle]), _balanced(parts[middle:]))


def diff_update(schema: keys.KeySchema, base: Item, new: Item) -> ast.Update:
    """SET the attributes that changed or appeared, REMOVE the ones that went away."""
    sets = tuple(
        ast.SetAction(ast.Path((name,)), ast.Literal(value))
        for name, value in sorted(new.items())
        if name not in schema.names and (name not in base or not values.values_equal(base[name], value))
    )
    removes = tuple(ast.RemoveAction(ast.Path((name,))) for name in sorted(base) if name not in new)
    clauses = tuple(c for c, present in (("SET", sets), ("REMOVE", removes)) if present)
    return ast.Update(sets=sets, removes=removes, clauses=clauses)
