"""Stored-procedure hooks, the pure part: a hook's settings, the registry fold, checkpoints, backoff.

A *hook* is a user function run on the change log of one table, like an AWS Lambda function behind
a DynamoDB Streams event source mapping.  Its settings (:class:`HookSpec`) mirror the mapping's:
``BatchSize``, ``StartingPosition``, ``MaximumRetryAttempts``, ``BisectBatchOnFunctionError``, an
on-failure destination (here a dead-letter topic), ``MaximumBatchingWindowInSeconds``; plus
dynamoray's own ``ExactlyOnce`` and ``Members`` (how many workers share the table's partitions).

The registry of deployed hooks is event-sourced (``HookDeployed``/``HookRemoved`` on topic
``dynamoray.hooks``) and folded by :func:`evolve`.

An exactly-once hook's position in each log partition is a *checkpoint item* in the internal table
``dynamoray.hooks`` (key ``hook`` + ``shard``, attribute ``offset``: the next offset to process).
:func:`checkpoint_put` is the conditional put that moves it, committed in one transaction with the
hook's writes: it only passes if the checkpoint still holds the offset the batch started from.

No I/O and no clock here: times come in as arguments.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Mapping

from . import errors
from .commands import Item, PutCommand
from .expressions import ast
from .keys import KeySchema
from ..schemas.events import HookDeployed, HookRemoved

TRIM_HORIZON, LATEST = "TRIM_HORIZON", "LATEST"
DLQ, DISCARD = "DLQ", "DISCARD"
VIEW_TYPES = ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES")

CHECKPOINT_TABLE = "dynamoray.hooks"
HOOK_ATTR, SHARD_ATTR, OFFSET_ATTR, UPDATED_ATTR = "hook", "shard", "offset", "updated"
CHECKPOINT_SCHEMA = KeySchema(HOOK_ATTR, "S", SHARD_ATTR, "S")
MAX_TRANSACTION_ACTIONS = 100  # TransactWriteItems' limit: the hook's writes + the checkpoint
MAX_BATCH_WRITES = MAX_TRANSACTION_ACTIONS - 1

MAX_BATCH_SIZE = 10_000
MAX_RETRIES = 10_000
MAX_MEMBERS = 16
MAX_WINDOW_SECONDS = 300
_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TABLE_RE = re.compile(r"[a-zA-Z0-9_.-]{3,255}")


def group_of(name: str) -> str:
    """The consumer group of a hook's members."""
    return f"dynamoray.hooks.{name}"


def dead_letter_topic(name: str) -> str:
    """The dead-letter topic of a hook: failed batches, with their error."""
    return f"dynamoray.hooks.{name}.dlq"


# --- settings ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HookSpec:
    name: str
    table: str
    batch_size: int = 100
    starting_position: str = TRIM_HORIZON
    maximum_retry_attempts: int = -1  # -1: retry until it succeeds (Lambda's default)
    bisect_batch_on_error: bool = False
    on_failure: str = DLQ
    exactly_once: bool = True
    members: int = 1
    batch_window: float = 0.0  # seconds to wait for a full batch (MaximumBatchingWindowInSeconds)
    view_type: str = "NEW_AND_OLD_IMAGES"

    def to_wire(self) -> dict[str, Any]:
        return {wire: getattr(self, field) for field, wire in _WIRE.items()}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# python field -> the admin API's member (Lambda's names where Lambda has one)
_WIRE = {
    "name": "HookName", "table": "TableName", "batch_size": "BatchSize",
    "starting_position": "StartingPosition", "maximum_retry_attempts": "MaximumRetryAttempts",
    "bisect_batch_on_error": "BisectBatchOnFunctionError", "on_failure": "OnFailure",
    "exactly_once": "ExactlyOnce", "members": "Members", "batch_window": "MaximumBatchingWindowInSeconds",
    "view_type": "StreamViewType",
}
_MEMBER = {wire: wire[0].lower() + wire[1:] for wire in _WIRE.values()}


def _int(body: Mapping[str, Any], wire: str, default: int, low: int, high: int) -> int:
    value = body.get(wire, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.hook_constraint(value, _MEMBER[wire], "Member must be an integer")
    if value < low:
        raise errors.hook_constraint(value, _MEMBER[wire], f"Member must have value greater than or equal to {low}")
    if value > high:
        raise errors.hook_constraint(value, _MEMBER[wire], f"Member must have value less than or equal to {high}")
    return value


def _choice(body: Mapping[str, Any], wire: str, default: str, allowed: tuple[str, ...]) -> str:
    value = body.get(wire, default)
    if value not in allowed:
        raise errors.hook_constraint(value, _MEMBER[wire], f"Member must satisfy enum value set: [{', '.join(allowed)}]")
    return value


def _flag(body: Mapping[str, Any], wire: str, default: bool) -> bool:
    value = body.get(wire, default)
    if not isinstance(value, bool):
        raise errors.hook_constraint(value, _MEMBER[wire], "Member must be a boolean")
    return value


def _pattern(body: Mapping[str, Any], wire: str, pattern: re.Pattern, text: str) -> str:
    value = body.get(wire)
    if value is None:
        raise errors.hook_constraint("null", _MEMBER[wire], "Member must not be null")
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise errors.hook_constraint(value, _MEMBER[wire], f"Member must satisfy regular expression pattern: {text}")
    return value


def spec_from_wire(body: Mapping[str, Any]) -> HookSpec:
    """A DeployHook request's settings, checked; ValidationException names the first bad member."""
    window = body.get("MaximumBatchingWindowInSeconds", 0)
    if isinstance(window, bool) or not isinstance(window, (int, float)) or not 0 <= window <= MAX_WINDOW_SECONDS:
        raise errors.hook_constraint(window, _MEMBER["MaximumBatchingWindowInSeconds"],
                                     f"Member must be a number from 0 to {MAX_WINDOW_SECONDS}")
    return HookSpec(
        name=_pattern(body, "HookName", _NAME_RE, "[A-Za-z0-9_-]{1,64}"),
        table=_pattern(body, "TableName", _TABLE_RE, "[a-zA-Z0-9_.-]+"),
        batch_size=_int(body, "BatchSize", 100, 1, MAX_BATCH_SIZE),
        starting_position=_choice(body, "StartingPosition", TRIM_HORIZON, (TRIM_HORIZON, LATEST)),
        maximum_retry_attempts=_int(body, "MaximumRetryAttempts", -1, -1, MAX_RETRIES),
        bisect_batch_on_error=_flag(body, "BisectBatchOnFunctionError", False),
        on_failure=_choice(body, "OnFailure", DLQ, (DLQ, DISCARD)),
        exactly_once=_flag(body, "ExactlyOnce", True),
        members=_int(body, "Members", 1, 1, MAX_MEMBERS),
        batch_window=float(window),
        view_type=_choice(body, "StreamViewType", "NEW_AND_OLD_IMAGES", VIEW_TYPES),
    )


def spec_to_wire_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The admin API members of python keyword options (``batch_size=...``; ``on_failure="dlq"``
    or ``None``); unknown options raise TypeError."""
    out: dict[str, Any] = {}
    for key, value in options.items():
        if key not in _WIRE:
            raise TypeError(f"unknown hook option: {key}")
        if key == "on_failure":
            value = DISCARD if value is None or str(value).upper() == DISCARD else str(value).upper()
        out[_WIRE[key]] = value
    return out


# --- the registry --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeployedHook:
    spec: HookSpec
    function: bytes  # the pickled function
    source: str  # where it came from, e.g. "orders_hooks:totals"
    deployed_at: int  # ms
    version: int  # deploys of this name so far


def evolve(registry: Mapping[str, DeployedHook], event: Any) -> dict[str, DeployedHook]:
    """The registry after one event (a new dict; the argument is not changed)."""
    out = dict(registry)
    if isinstance(event, HookDeployed):
        previous = registry.get(event.name)
        out[event.name] = DeployedHook(spec_from_wire(event.spec), event.function, event.source, event.deployed_at,
                                       (previous.version if previous else 0) + 1)
    elif isinstance(event, HookRemoved):
        out.pop(event.name, None)
    return out


def hook_deployed(spec: HookSpec, function: bytes, source: str, now_ms: int) -> HookDeployed:
    return HookDeployed(spec.name, spec.table, spec.to_wire(), function, source, now_ms)


def hook_removed(registry: Mapping[str, DeployedHook], name: str, now_ms: int) -> HookRemoved:
    if name not in registry:
        raise errors.hook_not_found(name)
    return HookRemoved(name, now_ms)


def describe(hook: DeployedHook) -> dict[str, Any]:
    """A hook as ListHooks/DescribeHook show it (never the function's bytes)."""
    return {**hook.spec.to_wire(), "Source": hook.source, "DeployedAt": hook.deployed_at / 1000,
            "Version": hook.version, "DeadLetterTopic": dead_letter_topic(hook.spec.name)}


# --- checkpoints ---------------------------------------------------------------------------------


def shard_of(table_id: str, partition: int) -> str:
    return f"{table_id}/{partition}"


def checkpoint_key(hook: str, table_id: str, partition: int) -> Item:
    return {HOOK_ATTR: {"S": hook}, SHARD_ATTR: {"S": shard_of(table_id, partition)}}


def checkpoint_offset(item: Item | None) -> int | None:
    """The next offset to process a checkpoint item records (None without one)."""
    if item is None or OFFSET_ATTR not in item:
        return None
    return int(item[OFFSET_ATTR]["N"])


def checkpoint_put(hook: str, table_id: str, partition: int, start: int | None, end: int, now_ms: int) -> PutCommand:
    """Move a checkpoint from ``start`` (None: there is no checkpoint item yet) to ``end``; the
    condition fails if another run already moved it, so a batch is never committed twice."""
    item = {**checkpoint_key(hook, table_id, partition), OFFSET_ATTR: {"N": str(end)},
            UPDATED_ATTR: {"N": str(now_ms)}}
    if start is None:
        condition: ast.Condition = ast.AttributeNotExists(ast.Path((HOOK_ATTR,)))
    else:
        condition = ast.Compare("=", ast.Path((OFFSET_ATTR,)), ast.Literal({"N": str(start)}))
    return PutCommand(item, condition)


def checkpoint_table_request() -> dict[str, Any]:
    """The CreateTable request of the checkpoint table."""
    return {
        "TableName": CHECKPOINT_TABLE, "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": CHECKPOINT_SCHEMA.to_wire(),
        "AttributeDefinitions": [{"AttributeName": HOOK_ATTR, "AttributeType": "S"},
                                 {"AttributeName": SHARD_ATTR, "AttributeType": "S"}],
    }


# --- retries -------------------------------------------------------------------------------------


def backoff(attempt: int, base: float, cap: float = 30.0) -> float:
    """Seconds to wait before retry ``attempt`` (1, 2, ...): ``base`` doubled each time, at most ``cap``."""
    if attempt < 1:
        return 0.0
    return min(cap, base * (2 ** min(attempt - 1, 30)))


def retries_left(spec: HookSpec, failures: int) -> bool:
    """Whether a batch that failed ``failures`` times gets another try."""
    return spec.maximum_retry_attempts < 0 or failures <= spec.maximum_retry_attempts
