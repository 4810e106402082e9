"""The DynamoDB and DynamoDB Streams service models, straight from botocore.

botocore ships AWS's own description of every operation: its input and output shapes, the
required members and the constraints (lengths, ranges, enums, patterns). This module loads the two
models once, on first use, and answers questions about them; ``validate.py`` compiles request
checkers from the same shapes. Nothing here is hand-written per operation.
"""

from __future__ import annotations

import functools

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape, StructureShape

SERVICES = ("dynamodb", "dynamodbstreams")


@functools.cache
def service_model(service: str) -> ServiceModel:
    """The botocore model of ``service`` ("dynamodb" or "dynamodbstreams"), loaded once."""
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}; expected one of {SERVICES}")
    return botocore.session.get_session().get_service_model(service)


@functools.cache
def operation_names(service: str) -> frozenset[str]:
    """Every operation the service's model defines, e.g. ``GetItem``."""
    return frozenset(service_model(service).operation_names)


def operation_model(service: str, operation: str) -> OperationModel:
    """The operation's model; ``KeyError`` if the service has no such operation."""
    if operation not in operation_names(service):
        raise KeyError(operation)
    return service_model(service).operation_model(operation)


def input_shape(service: str, operation: str) -> StructureShape | None:
    return operation_model(service, operation).input_shape


def output_shape(service: str, operation: str) -> StructureShape | None:
    return operation_model(service, operation).output_shape


def shape(service: str, name: str) -> Shape:
    """A named shape, e.g. ``shape("dynamodb", "TableName")``."""
    return service_model(service).shape_for(name)


def target_prefix(service: str) -> str:
    """The ``X-Amz-Target`` prefix, e.g. ``DynamoDB_20120810``."""
    return service_model(service).metadata["targetPrefix"]


@functools.cache
def _targets() -> dict[str, str]:
    return {target_prefix(s): s for s in SERVICES}


def resolve_target(target: str) -> tuple[str, str] | None:
    """``DynamoDB_20120810.GetItem`` -> ``("dynamodb", "GetItem")``; None when unknown."""
    prefix, _, operation = target.partition(".")
    service = _targets().get(prefix)
    if service is None or operation not in operation_names(service):
        return None
    return service, operation
