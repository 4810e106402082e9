"""Plain Python values <-> DynamoDB's wire attribute values, exactly and losslessly.

The conversion itself is ``dynamoray.core.values`` (``from_python``/``to_python``), the one the
server uses, so both sides agree on every number and binary:

=============================================  ==========================================
Python                                         DynamoDB
=============================================  ==========================================
``str``                                        ``S``
``int``, ``Decimal`` (38 digits, checked)      ``N`` (comes back as ``int`` when integral,
                                               else ``Decimal``)
``bytes``, ``bytearray``                       ``B`` (comes back as ``bytes``)
``set``/``frozenset`` of str, numbers, bytes   ``SS``, ``NS``, ``BS`` (come back as ``set``)
``list``, ``tuple``                            ``L`` (comes back as ``list``)
``dict``                                       ``M``
``None``                                       ``NULL``
``bool``                                       ``BOOL``
=============================================  ==========================================

``float`` is refused with boto3's ``TypeError`` ("Use Decimal types instead"): a float cannot say
which decimal it means.  A number DynamoDB would refuse (over 38 digits, out of range) raises the
same :class:`ValidationException` the server would send.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...core import values as _values
from ...core.errors import DynamoError
from .errors import ValidationException

WireValue = dict[str, Any]
WireItem = dict[str, WireValue]


def to_wire(value: Any) -> WireValue:
    """One Python value as a wire attribute value; raises TypeError for an unsupported type."""
    try:
        result: WireValue = _values.from_python(value)
    except DynamoError as error:
        raise ValidationException(error.message, status=error.status) from None
    return result


def from_wire(value: WireValue) -> Any:
    """One wire attribute value as plain Python."""
    return _values.to_python(value)


def item_to_wire(item: Mapping[str, Any]) -> WireItem:
    return {str(name): to_wire(value) for name, value in item.items()}


def item_from_wire(item: Mapping[str, WireValue]) -> dict[str, Any]:
    return {name: _values.to_python(value) for name, value in item.items()}
