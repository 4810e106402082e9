"""Time to live, the pure part: which items have expired, UpdateTimeToLive's rules, and the scan
filter a sweep looks for expired items with.

As on DynamoDB:

- An item has expired when its TTL attribute is a **top-level Number** (epoch seconds) strictly
  before the current time.  Any other type (a string, a set or list of numbers, a map) and a
  missing attribute are ignored, and so is a value more than five years in the past
  (:data:`MAX_AGE_SECONDS`), which is most likely a timestamp in another unit.
- Expired items stay readable until a sweep deletes them; the deletion is a write like any other
  (in the log, the stream, backups), made by the service principal :data:`SERVICE_PRINCIPAL`.
- The setting is ``{"TimeToLiveStatus": "ENABLED", "AttributeName": name}`` or
  ``{"TimeToLiveStatus": "DISABLED"}`` (DescribeTimeToLive's TimeToLiveDescription).  dynamoray
  applies a change as soon as it is durable, so it never reports ENABLING or DISABLING, and it does
  not enforce DynamoDB's one-change-per-hour rule.

The clock is an argument everywhere (``now``: whole seconds since the epoch).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from . import errors, values
from .expressions import ast

MAX_AGE_SECONDS = 5 * 365 * 24 * 3600  # five (365-day) years
SERVICE_PRINCIPAL = "dynamodb.amazonaws.com"
SERVICE = "Service"  # the principal type of a TTL deletion (stream records' userIdentity.Type)
ENABLED, DISABLED = "ENABLED", "DISABLED"
ACTIVE_STATES = ("ENABLED", "ENABLING", "DISABLING")  # TTL is on an attribute in these

Setting = dict[str, Any]


def expiry_time(item: dict | None, attribute: str) -> Decimal | None:
    """The item's expiry (epoch seconds) when its TTL attribute is a top-level Number, else None."""
    if item is None:
        return None
    value = item.get(attribute)
    if not isinstance(value, dict) or "N" not in value:
        return None
    return values.to_decimal(value["N"])


def is_expired(item: dict | None, attribute: str, now: int) -> bool:
    """Whether a sweep at ``now`` deletes the item: its expiry is before ``now`` and at most
    five years before it."""
    expiry = expiry_time(item, attribute)
    return expiry is not None and now - MAX_AGE_SECONDS <= expiry < now


def expiry_filter(attribute: str, now: int) -> ast.Condition:
    """A (resolved) filter that holds exactly for the items :func:`is_expired` holds for: a
    comparison with a Number is false for any other type, as in a FilterExpression."""
    path = ast.Path((attribute,))
    low = ast.Literal({"N": values.format_number(Decimal(now - MAX_AGE_SECONDS))})
    high = ast.Literal({"N": values.format_number(Decimal(now))})
    return ast.And(ast.Compare(">=", path, low), ast.Compare("<", path, high))


# --- the setting -------------------------------------------------------------------------------


def attribute_of(setting: Setting | None) -> str | None:
    """The attribute items expire on, or None when TTL is off."""
    if setting is None or setting.get("TimeToLiveStatus") not in ACTIVE_STATES:
        return None
    return setting.get("AttributeName")


def describe(setting: Setting | None) -> Setting:
    """DescribeTimeToLive's TimeToLiveDescription."""
    return dict(setting) if setting else {"TimeToLiveStatus": DISABLED}


def update_setting(current: Setting | None, enabled: bool, attribute: str) -> Setting:
    """UpdateTimeToLive: the new setting, or the ValidationException DynamoDB gives.  The
    attribute is checked first: naming another attribute than the active one is refused whether
    enabling or disabling."""
    active = attribute_of(current)
    if active is not None and active != attribute:
        raise errors.ttl_other_attribute(active)
    if enabled:
        if active is not None:
            raise errors.ttl_already_enabled()
        return {"TimeToLiveStatus": ENABLED, "AttributeName": attribute}
    if active is None:
        raise errors.ttl_already_disabled()
    return {"TimeToLiveStatus": DISABLED}
