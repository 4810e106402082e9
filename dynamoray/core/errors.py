"""Every DynamoDB error dynamoray can raise, with its wire name, message and HTTP status.

One exception type, :class:`DynamoError`, carries the error's wire name (``ValidationException``,
``ConditionalCheckFailedException``, ...), its message, the HTTP status and any extra fields the
wire shape has (``Item`` for a failed condition, ``CancellationReasons`` for a cancelled
transaction).  Code anywhere raises it through the named constructors below; the gateway alone
turns it into HTTP (``DynamoError.wire_body``).  Messages follow DynamoDB's own wording, typos
included, so that clients matching on them keep working.
"""

from __future__ import annotations

from typing import Any

# The namespace DynamoDB puts in front of the error name in ``__type``.
_DYNAMODB_NS = "com.amazonaws.dynamodb.v20120810#"
_CORAL_VALIDATE_NS = "com.amazon.coral.validate#"
_CORAL_SERVICE_NS = "com.amazon.coral.service#"

_NAMESPACES = {
    "ValidationException": _CORAL_VALIDATE_NS,
    "SerializationException": _CORAL_SERVICE_NS,
    "UnrecognizedClientException": _CORAL_SERVICE_NS,
    "MissingAuthenticationTokenException": _CORAL_SERVICE_NS,
    "InvalidSignatureException": _CORAL_SERVICE_NS,
    "IncompleteSignatureException": _CORAL_SERVICE_NS,
    "AccessDeniedException": _CORAL_SERVICE_NS,
    "UnknownOperationException": _CORAL_SERVICE_NS,
    "InternalFailure": _CORAL_SERVICE_NS,
    "ServiceUnavailable": _CORAL_SERVICE_NS,
}


class DynamoError(Exception):
    """A DynamoDB error: ``error_type`` is the wire name, ``status`` the HTTP status."""

    __slots__ = ("error_type", "message", "status", "extra")

    def __init__(self, error_type: str, message: str, status: int = 400, **extra: Any) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message
        self.status = status
        self.extra = extra

    @property
    def wire_type(self) -> str:
        return _NAMESPACES.get(self.error_type, _DYNAMODB_NS) + self.error_type

    def wire_body(self) -> dict[str, Any]:
        """The JSON body DynamoDB sends for this error."""
        body: dict[str, Any] = {"__type": self.wire_type, "message": self.message}
        body.update(self.extra)
        return body

    def __reduce__(self):  # keep the error intact across process (Ray) boundaries
        return (_rebuild, (self.error_type, self.message, self.status, self.extra))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, DynamoError)
            and (self.error_type, self.message, self.status, self.extra)
            == (other.error_type, other.message, other.status, other.extra)
        )

    __hash__ = Exception.__hash__


def _rebuild(error_type: str, message: str, status: int, extra: dict) -> DynamoError:
    return DynamoError(error_type, message, status, **extra)


# --- validation -------------------------------------------------------------------------------

INVALID_PARAMS = "One or more parameter values were invalid: "
INVALID_PARAMS_ARE = "One or more parameter values are not valid. "


def validation(message: str) -> DynamoError:
    return DynamoError("ValidationException", message)


def invalid_parameter(detail: str) -> DynamoError:
    """``One or more parameter values were invalid: <detail>``."""
    return validation(INVALID_PARAMS + detail)


def serialization(message: str) -> DynamoError:
    return DynamoError("SerializationException", message)


# Request-shape checks (dynamoray.schemas.validate): the coral framework's wording.
JAVA_NS = "com.amazonaws.dynamodb.v20120810."
UNEXPECTED_FIELD = "Unexpected field type"
UNEXPECTED_VALUE = "Unexpected value type in payload"
UNEXPECTED_TOKEN = "Unexpected token received from parser"
STRUCTURE_NOT_EXPECTED = "Start of structure or map found where not expected"
NOT_BASE64 = "only base-64-encoded strings are convertible to bytes"
PARAMETERIZED_CAST = (
    "class sun.reflect.generics.reflectiveObjects.ParameterizedTypeImpl cannot be cast to class "
    "java.lang.Class (sun.reflect.generics.reflectiveObjects.ParameterizedTypeImpl and "
    "java.lang.Class are in module java.base of loader 'bootstrap')"
)


def not_convertible(json_kind: str, java_type: str) -> DynamoError:
    """``NUMBER_VALUE cannot be converted to String`` and the like."""
    return serialization(f"{json_kind} cannot be converted to {java_type}")


def unrecognized_collection(java_type: str) -> DynamoError:
    return serialization(f"Unrecognized collection type {java_type}")


MEMBER_NOT_NULL = "Member must not be null"


def constraint_text(kind: str, bound: Any) -> str:
    """One constraint as coral words it; ``kind`` is min_len, max_len, min, max, pattern, enum or nested."""
    return {
        "min_len": "Member must have length greater than or equal to {}",
        "max_len": "Member must have length less than or equal to {}",
        "min": "Member must have value greater than or equal to {}",
        "max": "Member must have value less than or equal to {}",
        "pattern": "Member must satisfy regular expression pattern: {}",
        "enum": "Member must satisfy enum value set: [{}]",
        "keys": "Map keys must satisfy constraint: [{}]",
        "values": "Map value must satisfy constraint: [{}]",
        "members": "Member must satisfy constraint: [{}]",
    }[kind].format(bound)


def constraint_violation(rendered: str, path: str, constraint: str) -> str:
    """``Value 'x' at 'tableName' failed to satisfy constraint: ...`` (``rendered`` already quoted)."""
    return f"Value {rendered} at '{path}' failed to satisfy constraint: {constraint}"


def constraint_violations(violations: list[str]) -> DynamoError:
    """``N validation error(s) detected: a; b``."""
    n = len(violations)
    return validation(f"{n} validation error{'s' if n > 1 else ''} detected: " + "; ".join(violations))


def parameter_required(name: str) -> DynamoError:
    return validation(f"The parameter '{name}' is required but was not present in the request")


def table_name_length() -> DynamoError:
    return validation("TableName must be at least 3 characters long and at most 255 characters long")


def invalid_expression(kind: str, detail: str) -> DynamoError:
    """``Invalid <kind>: <detail>``, e.g. kind ``ConditionExpression``."""
    return validation(f"Invalid {kind}: {detail}")


def expression_syntax(kind: str, token: str, near: str) -> DynamoError:
    return invalid_expression(kind, f'Syntax error; token: "{token}", near: "{near}"')


def reserved_keyword(kind: str, word: str) -> DynamoError:
    return invalid_expression(kind, f"Attribute name is a reserved keyword; reserved keyword: {word}")


# --- expression front-end (core/expressions: parser.py, resolve.py, keycond.py) ------------------
# ``kind`` is the request parameter (ConditionExpression, UpdateExpression, ...).


def expression_empty(kind: str) -> DynamoError:
    return invalid_expression(kind, "The expression can not be empty;")


def expression_too_large(kind: str, size: int) -> DynamoError:
    return invalid_expression(kind, f"Expression size has exceeded the maximum allowed size; expression size: {size}")


def redundant_parentheses(kind: str) -> DynamoError:
    return invalid_expression(kind, "The expression has redundant parentheses;")


def unknown_function(kind: str, name: str) -> DynamoError:
    return invalid_expression(kind, f"Invalid function name; function: {name}")


def function_misused(kind: str, name: str) -> DynamoError:
    """A condition function used as an operand, or ``size`` used as a condition."""
    return invalid_expression(
        kind, f"The function is not allowed to be used this way in an expression; function: {name}"
    )


def function_not_in_condition(kind: str, name: str) -> DynamoError:
    return invalid_expression(kind, f"The function is not allowed in a condition expression; function: {name}")


def function_not_in_update(kind: str, name: str) -> DynamoError:
    return invalid_expression(kind, f"The function is not allowed in an update expression; function: {name}")


def operand_count(kind: str, name: str, count: int) -> DynamoError:
    return invalid_expression(
        kind,
        "Incorrect number of operands for operator or function; "
        f"operator or function: {name}, number of operands: {count}",
    )


def operand_type(kind: str, name: str, type_name: str) -> DynamoError:
    """A constant operand of the wrong type (``type_name`` as DynamoDB prints it: S, N, M, ...)."""
    return invalid_expression(
        kind,
        f"Incorrect operand type for operator or function; operator or function: {name}, "
        f"operand type: {type_name}",
    )


def action_operand_type(kind: str, action: str, type_name: str) -> DynamoError:
    """ADD/DELETE with a constant of the wrong type (``type_name`` spelled out: STRING, MAP, ...)."""
    return invalid_expression(
        kind, f"Incorrect operand type for operator or function; operator: {action}, operand type: {type_name}"
    )


def requires_document_path(kind: str, name: str) -> DynamoError:
    return invalid_expression(kind, f"Operator or function requires a document path; operator or function: {name}")


def operands_not_distinct(kind: str, operator: str, path: str) -> DynamoError:
    return invalid_expression(
        kind,
        "The first operand must be distinct from the remaining operands for this operator or function; "
        f"operator: {operator}, first operand: {path}",
    )


def invalid_type_name(kind: str, name: str) -> DynamoError:
    return invalid_expression(
        kind, f"Invalid attribute type name found; type: {name}, valid types: {{B,NULL,SS,BOOL,L,BS,N,NS,S,M}}"
    )


def between_types(kind: str, low: str, high: str) -> DynamoError:
    """``low``/``high`` rendered as ``AttributeValue: {N:5}``."""
    return invalid_expression(
        kind,
        "The BETWEEN operator requires same data type for lower and upper bounds; "
        f"lower bound operand: {low}, upper bound operand: {high}",
    )


def between_order(kind: str, low: str, high: str) -> DynamoError:
    return invalid_expression(
        kind,
        "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; "
        f"lower bound operand: {low}, upper bound operand: {high}",
    )


def in_too_many_operands(kind: str, count: int) -> DynamoError:
    return invalid_expression(kind, f"The IN operator is provided with too many operands; number of operands: {count}")


def path_too_deep(kind: str, levels: int) -> DynamoError:
    return invalid_expression(kind, f"The document path has too many nesting levels; nesting levels: {levels}")


def section_repeated(kind: str, section: str) -> DynamoError:
    return invalid_expression(kind, f'The "{section}" section can only be used once in an update expression;')


def paths_overlap(kind: str, one: str, two: str) -> DynamoError:
    return invalid_expression(
        kind,
        "Two document paths overlap with each other; must remove or rewrite one of these paths; "
        f"path one: {one}, path two: {two}",
    )


def paths_conflict(kind: str, one: str, two: str) -> DynamoError:
    return invalid_expression(
        kind,
        "Two document paths conflict with each other; must remove or rewrite one of these paths; "
        f"path one: {one}, path two: {two}",
    )


def undefined_name(kind: str, name: str) -> DynamoError:
    return invalid_expression(
        kind, f"An expression attribute name used in the document path is not defined; attribute name: {name}"
    )


def undefined_value(kind: str, name: str) -> DynamoError:
    return invalid_expression(
        kind, f"An expression attribute value used in expression is not defined; attribute value: {name}"
    )


def attribute_names_empty() -> DynamoError:
    return validation("ExpressionAttributeNames must not be empty")


def attribute_values_empty() -> DynamoError:
    return validation("ExpressionAttributeValues must not be empty")


def attribute_names_invalid_key(key: str) -> DynamoError:
    return validation(f'ExpressionAttributeNames contains invalid key: Syntax error; key: "{key}"')


def attribute_values_invalid_key(key: str) -> DynamoError:
    return validation(f'ExpressionAttributeValues contains invalid key: Syntax error; key: "{key}"')


def attribute_values_invalid_value(detail: str, key: str) -> DynamoError:
    return validation(f"ExpressionAttributeValues contains invalid value: {detail} for key {key}")


def attribute_names_unused(keys: list[str]) -> DynamoError:
    return validation(f"Value provided in ExpressionAttributeNames unused in expressions: keys: {{{', '.join(keys)}}}")


def attribute_values_unused(keys: list[str]) -> DynamoError:
    return validation(f"Value provided in ExpressionAttributeValues unused in expressions: keys: {{{', '.join(keys)}}}")


def key_invalid_operator(operator: str) -> DynamoError:
    return validation(f"Invalid operator used in KeyConditionExpression: {operator}")


def key_nested_operations() -> DynamoError:
    return validation("KeyConditionExpressions cannot contain nested operations")


def key_nested_attributes() -> DynamoError:
    return validation("KeyConditionExpressions cannot have conditions on nested attributes")


def key_invalid_condition(detail: str) -> DynamoError:
    return validation(f"Invalid condition in KeyConditionExpression: {detail}")


def key_condition_repeated() -> DynamoError:
    return validation("KeyConditionExpressions must only contain one condition per key")


def key_condition_type() -> DynamoError:
    return invalid_parameter("Condition parameter type does not match schema type")


def number_not_convertible() -> DynamoError:
    return validation("A value provided cannot be converted into a number")


def number_not_numeric(text: str) -> DynamoError:
    """A malformed ``N`` value (PutItem/GetItem/Query wording: the text is echoed, even when empty)."""
    return validation(f"The parameter cannot be converted to a numeric value: {text}")


def number_too_precise() -> DynamoError:
    return validation("Attempting to store more than 38 significant digits in a Number")


def number_overflow() -> DynamoError:
    return validation("Number overflow. Attempting to store a number with magnitude larger than supported range")


def number_underflow() -> DynamoError:
    return validation(
        "Number underflow. Attempting to store a number with magnitude smaller than supported range"
    )


def item_too_large() -> DynamoError:
    return validation("Item size has exceeded the maximum allowed size")


def nesting_too_deep() -> DynamoError:
    return validation(
        "Nesting Levels have exceeded supported limits: "
        "Attributes in the item have nested levels beyond supported limit"
    )


def duplicate_set_members(shown: str | None) -> DynamoError:
    """``shown`` is the bracketed member list (SS), or ``None`` for a number set (no list)."""
    if shown is None:
        return invalid_parameter("Input collection contains duplicates.")
    return invalid_parameter(f"Input collection {shown} contains duplicates.")


def duplicate_binary_set_members(shown: str) -> DynamoError:
    return invalid_parameter(f"Input collection {shown}of type BS contains duplicates.")  # sic, no space


def wrong_json_type(raw: object, target: str) -> DynamoError:
    """A JSON value of the wrong kind where ``target`` (String, Boolean, ...) was expected."""
    if isinstance(raw, bool):
        return not_convertible("TRUE_VALUE" if raw else "FALSE_VALUE", target)
    if isinstance(raw, int):
        return not_convertible("NUMBER_VALUE", target)
    if isinstance(raw, float):
        return not_convertible("DECIMAL_VALUE", target)
    if isinstance(raw, list):
        return unrecognized_collection(f"class java.lang.{target}")
    if isinstance(raw, dict):
        return serialization("Start of structure or map found where not expected")
    return serialization("Unexpected value type in payload")


def wrong_container(raw: object, want: str) -> DynamoError:
    """A scalar, list or map where a ``list`` or ``map`` was expected."""
    if isinstance(raw, dict):
        return serialization("Start of structure or map found where not expected")
    if isinstance(raw, list):
        return serialization("Start of list found where not expected")
    return serialization(f"Expected {want} or null")


# --- keys ----------------------------------------------------------------------------------------


def key_schema_mismatch() -> DynamoError:
    return validation("The provided key element does not match the schema")


def missing_key(name: str) -> DynamoError:
    return invalid_parameter(f"Missing the key {name} in the item")


def key_type_mismatch(name: str, expected: str, actual: str) -> DynamoError:
    return invalid_parameter(f"Type mismatch for key {name} expected: {expected} actual: {actual}")


def empty_key_value(name: str, kind: str) -> DynamoError:
    """``kind`` is ``string`` or ``binary``."""
    return validation(
        INVALID_PARAMS_ARE
        + f"The AttributeValue for a key attribute cannot contain an empty {kind} value. Key: {name}"
    )


def hash_key_too_large() -> DynamoError:
    return invalid_parameter("Size of hashkey has exceeded the maximum size limit of2048 bytes")  # sic


def range_key_too_large() -> DynamoError:
    return invalid_parameter("Aggregated size of all range keys has exceeded the size limit of 1024 bytes")


def invalid_key_schema(detail: str) -> DynamoError:
    """``Invalid KeySchema: <detail>`` (CreateTable / UpdateTable)."""
    return validation(f"Invalid KeySchema: {detail}")


def key_attribute_without_definition() -> DynamoError:
    return invalid_key_schema("Some index key attribute have no definition")  # sic


def key_attributes_not_defined(keys: list[str], definitions: list[str]) -> DynamoError:
    return invalid_parameter(
        "Some index key attributes are not defined in AttributeDefinitions. "
        f"Keys: [{', '.join(keys)}], AttributeDefinitions: [{', '.join(definitions)}]"
    )


def key_definition_count_mismatch() -> DynamoError:
    return invalid_parameter(
        "Number of attributes in KeySchema does not exactly match number of attributes defined "
        "in AttributeDefinitions"
    )


def attribute_definitions_unused(definitions: list[str], used: list[str]) -> DynamoError:
    return invalid_parameter(
        f"Some AttributeDefinitions are not used. AttributeDefinitions: [{', '.join(definitions)}], "
        f"keys used: [{', '.join(used)}]"
    )


def hash_and_range_same_name() -> DynamoError:
    return validation("Both the Hash Key and the Range Key element in the KeySchema have the same name")


# --- secondary indexes (core/index_tables.py, core/indexes.py, Query/Scan on an index) -------------


def index_list_empty(member: str) -> DynamoError:
    """``member`` is LocalSecondaryIndexes or GlobalSecondaryIndexes."""
    return invalid_parameter(f"List of {member} is empty")


def lsi_without_table_range() -> DynamoError:
    return invalid_parameter(
        "Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex"
    )


def lsi_without_range(index: str) -> DynamoError:
    return invalid_parameter(f"Index KeySchema does not have a range key for index: {index}")


def lsi_hash_mismatch(index: str, index_hash: str, table_hash: str) -> DynamoError:
    return invalid_parameter(
        "Index KeySchema does not have the same leading hash key as table KeySchema for index: "
        f"{index}. index hash key: {index_hash}, table hash key: {table_hash}"
    )


def unknown_projection_type(kind: str | None) -> DynamoError:
    return invalid_parameter(f"Unknown ProjectionType: {'null' if kind is None else kind}")


def non_key_attributes_not_allowed(kind: str) -> DynamoError:
    return invalid_parameter(f"ProjectionType is {kind}, but NonKeyAttributes is specified")


def duplicate_index_name(index: str) -> DynamoError:
    return invalid_parameter(f"Duplicate index name: {index}")


def too_many_lsi(limit: int) -> DynamoError:
    return invalid_parameter(f"Number of LocalSecondaryIndexes exceeds per-table limit of {limit}")


def too_many_gsi(limit: int) -> DynamoError:
    return invalid_parameter(f"GlobalSecondaryIndex count exceeds the per-table limit of {limit}")


def too_many_projected_attributes(limit: int, count: int) -> DynamoError:
    return invalid_parameter(
        f"The number of NonKeyAttributes in all indexes of a table exceeds the limit of {limit}: {count}"
    )


def index_throughput_forbidden(index: str) -> DynamoError:
    return invalid_parameter(
        f"ProvisionedThroughput should not be specified for index: {index} when BillingMode is PAY_PER_REQUEST"
    )


def index_throughput_required(index: str) -> DynamoError:
    return invalid_parameter(f"ProvisionedThroughput must be specified for index: {index}")


def index_update_empty() -> DynamoError:
    return invalid_parameter(
        "One of GlobalSecondaryIndexUpdate.Update, GlobalSecondaryIndexUpdate.Create, "
        "GlobalSecondaryIndexUpdate.Delete must not be null"
    )


def index_update_ambiguous() -> DynamoError:
    return invalid_parameter(
        "Only one of GlobalSecondaryIndexUpdate.Update, GlobalSecondaryIndexUpdate.Create, "
        "GlobalSecondaryIndexUpdate.Delete can be specified"
    )


def index_update_repeated(index: str) -> DynamoError:
    return invalid_parameter(
        f"Only one global secondary index update per index is allowed simultaneously. Index: {index}"
    )


def one_online_index() -> DynamoError:
    return limit_exceeded(
        "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table"
    )


def index_already_exists() -> DynamoError:
    return validation("Attempting to create an index which already exists")


def index_not_found(index: str, table: str) -> DynamoError:
    return resource_not_found(f"Requested resource not found: Index: {index} not found for table: {table}")


def attribute_redefined(name: str, existing: str, requested: str) -> DynamoError:
    return invalid_parameter(
        "Attributes cannot be redefined. Please check that your attribute has the same type as previously "
        f"defined. Attribute: {name}, existing type: {existing}, new type: {requested}"
    )


def table_has_no_index(index: str) -> DynamoError:
    return validation(f"The table does not have the specified index: {index}")


def consistent_read_on_gsi() -> DynamoError:
    return validation("Consistent reads are not supported on global secondary indexes")


def select_all_on_gsi(index: str) -> DynamoError:
    return invalid_parameter(
        f"Select type ALL_ATTRIBUTES is not supported for global secondary index {index} "
        "because its projection type is not ALL"
    )


def index_backfilling(index: str) -> DynamoError:
    return validation(f"Cannot read from backfilling global secondary index: {index}")


def starting_key_invalid() -> DynamoError:
    return validation("The provided starting key is invalid")


def index_key_type_mismatch(name: str, expected: str, actual: str, index: str) -> DynamoError:
    return invalid_parameter(
        f"Type mismatch for Index Key {name} Expected: {expected} Actual: {actual} IndexName: {index}"
    )


def index_key_empty(index: str, name: str, kind: str) -> DynamoError:
    """``kind`` is ``string`` or ``binary``."""
    return validation(
        INVALID_PARAMS_ARE + "A value specified for a secondary index key is not supported. "
        f"The AttributeValue for a key attribute cannot contain an empty {kind} value. "
        f"IndexName: {index}, IndexKey: {name}"
    )


# --- conditions, tables and items ----------------------------------------------------------------


def conditional_check_failed(item: dict | None = None) -> DynamoError:
    extra = {"Item": item} if item is not None else {}
    return DynamoError("ConditionalCheckFailedException", "The conditional request failed", **extra)


def resource_not_found(message: str = "Requested resource not found") -> DynamoError:
    return DynamoError("ResourceNotFoundException", message)


def table_not_found(table: str) -> DynamoError:
    return resource_not_found(f"Requested resource not found: Table: {table} not found")


def resource_in_use(message: str) -> DynamoError:
    return DynamoError("ResourceInUseException", message)


def table_already_exists(table: str) -> DynamoError:
    return resource_in_use(f"Table already exists: {table}")


# --- encryption at rest (SSESpecification, KMS keys) --------------------------------------------


def sse_type_without_enabled() -> DynamoError:
    return invalid_parameter("SSEType can not be specified if Enabled is false")


def sse_key_without_enabled() -> DynamoError:
    return invalid_parameter("KMSMasterKeyId can not be specified if Enabled is false")


def sse_type_not_supported(sse_type: str) -> DynamoError:
    return invalid_parameter(f"SSEType {sse_type} is not supported")


def sse_type_required() -> DynamoError:
    return invalid_parameter("SSEType KMS is required if KMSMasterKeyId is specified")


def sse_already_default() -> DynamoError:
    return invalid_parameter("Table is already encrypted by default")


def sse_same_key() -> DynamoError:
    return invalid_parameter(
        "Table is already encrypted with given KMSMasterKeyId. Use KMSMasterKeyId parameter if you want to change "
        "Master Key"
    )


def _kms(kind: str, exception: str, detail: str, request_id: str) -> str:
    return (f"KMS {kind} error: com.amazonaws.services.kms.model.{exception}: {detail} (Service: AWSKMS; "
            f"Status Code: 400; Error Code: {exception}; Request ID: {request_id}; Proxy: null)")


def kms_key_not_found(kind: str, arn: str, request_id: str) -> DynamoError:
    """``kind``: "Alias" or "Key"; ``arn``: what was asked for, as an ARN."""
    detail = f"Alias {arn} is not found." if kind == "Alias" else f"Key '{arn}' does not exist"
    return validation(_kms("validation", "NotFoundException", detail, request_id))


def kms_key_disabled(arn: str, request_id: str) -> DynamoError:
    return validation(_kms("key disabled", "DisabledException", f"{arn} is disabled.", request_id))


def kms_refused(code: str, detail: str, request_id: str) -> DynamoError:
    """CreateTable/UpdateTable/a restore naming a KMS key that KMS refuses to use: access denied,
    a key in another state (pending deletion...), an asymmetric or signing key, KMS unreachable."""
    kind = {"AccessDeniedException": "access denied", "KMSInvalidStateException": "key state",
            "InvalidKeyUsageException": "key usage", "KMSUnreachable": "unavailable"}.get(code, "validation")
    return validation(_kms(kind, code, detail, request_id))


def kms_throttled(detail: str, request_id: str) -> DynamoError:
    """KMS throttled the server's call: DynamoDB's retryable ThrottlingException (400)."""
    return DynamoError("ThrottlingException", _kms("throttling", "ThrottlingException", detail, request_id))


def kms_inaccessible(table: str, arn: str, code: str) -> DynamoError:
    """A data-plane call on a table whose KMS key has become unusable (the table is
    INACCESSIBLE_ENCRYPTION_CREDENTIALS until the key is usable again)."""
    return validation(f"KMS key access denied error: the KMS key {arn} of table {table} is inaccessible "
                      f"({code}); the table is INACCESSIBLE_ENCRYPTION_CREDENTIALS until the key is usable again")


def encryption_off() -> DynamoError:
    return validation("Encryption at rest is off on this server (dynamoray serve --no-encryption)")


# --- time to live (UpdateTimeToLive) -------------------------------------------------------------


def ttl_already_enabled() -> DynamoError:
    return validation("TimeToLive is already enabled")


def ttl_already_disabled() -> DynamoError:
    return validation("TimeToLive is already disabled")


def ttl_other_attribute(current: str) -> DynamoError:
    """Enabling (or disabling) TTL on another attribute than the one it is active on."""
    return validation(f"TimeToLive is active on a different AttributeName: current AttributeName is {current}")


# --- backups and point-in-time recovery -----------------------------------------------------------


def backup_not_found(arn: str) -> DynamoError:
    return DynamoError("BackupNotFoundException", f"Backup not found: {arn}")


def backup_table_not_found(table: str) -> DynamoError:
    """The backup and continuous-backup operations name a missing table with their own error."""
    return DynamoError("TableNotFoundException", f"Table not found: {table}")


def restore_target_exists(table: str) -> DynamoError:
    return DynamoError("TableAlreadyExistsException", f"Table already exists: {table}")


def point_in_time_recovery_unavailable(table: str) -> DynamoError:
    return DynamoError("PointInTimeRecoveryUnavailableException",
                       f"Point in time recovery is not enabled for table '{table}'")


def invalid_restore_time(earliest: str, latest: str) -> DynamoError:
    return DynamoError(
        "InvalidRestoreTimeException",
        f"Invalid restore time specified. RestoreDateTime must be between {earliest} and {latest}",
    )


def restore_in_progress(table: str) -> DynamoError:
    return DynamoError("TableInUseException", f"Table is being restored: {table}")


# --- export to S3 and import from S3 (core/exports.py, core/imports.py) -------------------------


def invalid_export_time(earliest: str, latest: str) -> DynamoError:
    return DynamoError(
        "InvalidExportTimeException",
        f"Invalid export time specified. The export time must be between {earliest} and {latest}",
    )


def export_not_found(arn: str) -> DynamoError:
    return DynamoError("ExportNotFoundException", f"Export not found: {arn}")


def import_not_found(arn: str) -> DynamoError:
    return DynamoError("ImportNotFoundException", f"Import not found: {arn}")


def export_conflict() -> DynamoError:
    return DynamoError("ExportConflictException",
                       "An export with the same ClientToken and different parameters already exists")


def import_conflict() -> DynamoError:
    return DynamoError("ImportConflictException",
                       "An import with the same ClientToken and different parameters already exists")


def limit_exceeded(message: str) -> DynamoError:
    return DynamoError("LimitExceededException", message)


def item_collection_size_limit_exceeded() -> DynamoError:
    return DynamoError(
        "ItemCollectionSizeLimitExceededException",
        "Collection size exceeded.",
    )


def provisioned_throughput_exceeded() -> DynamoError:
    return DynamoError(
        "ProvisionedThroughputExceededException",
        "The level of configured provisioned throughput for the table was exceeded. "
        "Consider increasing your provisioning level with the UpdateTable API.",
    )


def throttling(message: str = "Throughput exceeds the current capacity for one or more global secondary indexes.") -> DynamoError:
    return DynamoError("ThrottlingException", message)


ON_DEMAND_HOT_KEY = (
    "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling "
    "your table or index so please try again shortly. If exceptions persist, check if you have a hot key: "
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html"
)


def throughput_exceeded(reason: str, resource: str, provisioned: bool, index: bool = False) -> DynamoError:
    """A throttled request (``core/throttle.py``), with its ThrottlingReason (``reason`` on the
    table or index ARN ``resource``).  Provisioned tables answer ProvisionedThroughputExceeded
    (``ThrottlingReasons``); on-demand ones ThrottlingException (``throttlingReasons``, lower case
    in the service model)."""
    reasons = [{"reason": reason, "resource": resource}]
    if provisioned:
        if index and "Write" in reason:
            message = (
                "The level of configured provisioned throughput for one or more global secondary indexes of "
                "the table was exceeded. Consider increasing your provisioning level for the under-provisioned "
                "global secondary indexes with the UpdateTable API"
            )
            return DynamoError("ProvisionedThroughputExceededException", message, ThrottlingReasons=reasons)
        return DynamoError("ProvisionedThroughputExceededException", provisioned_throughput_exceeded().message,
                           ThrottlingReasons=reasons)
    if reason.endswith("MaxOnDemandThroughputExceeded"):
        return DynamoError("ThrottlingException",
                           "Throughput exceeds the maximum OnDemandThroughput configured on table or index",
                           throttlingReasons=reasons)
    return DynamoError("ThrottlingException", ON_DEMAND_HOT_KEY, throttlingReasons=reasons)


def throttling_cancellation(provisioned: bool) -> dict:
    """A transaction item's CancellationReason when its table or index is throttled."""
    message = provisioned_throughput_exceeded().message if provisioned else ON_DEMAND_HOT_KEY
    return {"Code": "ThrottlingError", "Message": message}


def mode_switch_limited(days: str) -> DynamoError:
    """UpdateTable to PAY_PER_REQUEST sooner than the switch interval allows (``gateway/throttling.py``)."""
    return limit_exceeded(f"Subscriber limit exceeded: Update to PayPerRequest mode are limited to once in {days} day(s).")


def request_limit_exceeded() -> DynamoError:
    return DynamoError(
        "RequestLimitExceeded",
        "Throughput exceeds the current throughput limit for your account. "
        "Please contact AWS Support at https://aws.amazon.com/support request a limit increase",
    )


# --- update evaluation (UpdateExpression and AttributeUpdates) -----------------------------------


def update_attribute_missing() -> DynamoError:
    return validation("The provided expression refers to an attribute that does not exist in the item")


def update_operand_type() -> DynamoError:
    return validation("An operand in the update expression has an incorrect data type")


def update_path_invalid() -> DynamoError:
    return validation("The document path provided in the update expression is invalid for update")


def update_type_mismatch() -> DynamoError:
    """A type clash in a legacy ``AttributeUpdates`` ADD/DELETE."""
    return validation("Type mismatch for attribute to update")


def key_attribute_update(name: str) -> DynamoError:
    return invalid_parameter(f"Cannot update attribute {name}. This attribute is part of the key")


def attribute_update_without_value() -> DynamoError:
    return invalid_parameter("Only DELETE action is allowed when no attribute value is specified")


def attribute_update_delete_type(kind: str) -> DynamoError:
    return invalid_parameter(f"DELETE action with value is not supported for the type {kind}")


def attribute_update_add_type(kind: str) -> DynamoError:
    return invalid_parameter(f"ADD action is not supported for the type {kind}")


# --- legacy conditions (Expected, QueryFilter/ScanFilter, KeyConditions) --------------------------


def legacy_argument_count(operator: str) -> DynamoError:
    return invalid_parameter(f"Invalid number of argument(s) for the {operator} ComparisonOperator")


def legacy_operator_type(operator: str, kind: str) -> DynamoError:
    return invalid_parameter(f"ComparisonOperator {operator} is not valid for {kind} AttributeValue type")


def legacy_mixed_types() -> DynamoError:
    return invalid_parameter("AttributeValues inside AttributeValueList must be of same type")


def legacy_between_bounds() -> DynamoError:
    return validation(
        "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound"
    )


def expected_conflict(first: str, second: str, attribute: str) -> DynamoError:
    """E.g. ``Exists and ComparisonOperator cannot be used together for Attribute: a``."""
    return invalid_parameter(f"{first} and {second} cannot be used together for Attribute: {attribute}")


def expected_missing_argument(operator: str, attribute: str) -> DynamoError:
    return invalid_parameter(
        f"Value or AttributeValueList must be used with ComparisonOperator: {operator} "
        f"for Attribute: {attribute}"
    )


def expected_list_without_operator(attribute: str) -> DynamoError:
    return invalid_parameter(
        f"AttributeValueList can only be used with a ComparisonOperator for Attribute: {attribute}"
    )


def expected_value_required(exists: str, attribute: str) -> DynamoError:
    """``exists`` is how the request spelled Exists: ``null`` (absent) or ``true``."""
    return invalid_parameter(f"Value must be provided when Exists is {exists} for Attribute: {attribute}")


def expected_value_forbidden(attribute: str) -> DynamoError:
    return invalid_parameter(f"Value cannot be used when Exists is false for Attribute: {attribute}")


def conditional_operator_without_conditions() -> DynamoError:
    return validation("ConditionalOperator cannot be used without Filter or Expected")


def conditional_operator_single_condition() -> DynamoError:
    return validation("ConditionalOperator can only be used when Filter or Expected has two or more elements")


def mixed_expression_parameters(legacy: list[str], expression: list[str]) -> DynamoError:
    return validation(
        "Can not use both expression and non-expression parameters in the same request: "
        f"Non-expression parameters: {{{', '.join(legacy)}}} "
        f"Expression parameters: {{{', '.join(expression)}}}"
    )


def duplicate_attribute_to_get(name: str) -> DynamoError:
    return invalid_parameter(f"Duplicate value in attribute name: {name}")


def key_conditions_length() -> DynamoError:
    return validation("Conditions can be of length 1 or 2 only")


def key_condition_missed(name: str) -> DynamoError:
    return validation(f"Query condition missed key schema element: {name}")


def key_condition_not_supported() -> DynamoError:
    return validation("Query key condition not supported")


def key_condition_not_indexable() -> DynamoError:
    return validation("Attempted conditional constraint is not an indexable operation")


# --- transactions --------------------------------------------------------------------------------


def transaction_canceled(reasons: list[dict]) -> DynamoError:
    codes = ", ".join(r.get("Code", "None") for r in reasons)
    return DynamoError(
        "TransactionCanceledException",
        f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
        CancellationReasons=reasons,
    )


def transaction_conflict() -> DynamoError:
    return DynamoError(
        "TransactionConflictException",
        "Transaction is ongoing for the item",
    )


def transaction_in_progress() -> DynamoError:
    return DynamoError("TransactionInProgressException", "Transaction is in progress")


def transaction_multiple_operations() -> DynamoError:
    """Two actions of one TransactWriteItems/TransactGetItems on the same item."""
    return validation("Transaction request cannot include multiple operations on one item")


def transact_item_one_action() -> DynamoError:
    """A TransactWriteItem with none, or more than one, of its four actions."""
    return validation("TransactItems can only contain one of Check, Put, Update or Delete")


# --- PartiQL (core/partiql; ExecuteStatement, BatchExecuteStatement, ExecuteTransaction) ----------


def partiql_syntax(detail: str) -> DynamoError:
    return validation(f"Statement wasn't well formed, can't be processed: {detail}")


def partiql_parameter_count() -> DynamoError:
    return validation("Number of parameters in request and statement don't match.")


def partiql_incomplete_key() -> DynamoError:
    return validation("Where clause does not contain a mandatory equality on all key attributes")


def partiql_repeated_key_condition(name: str) -> DynamoError:
    return validation(f"Multiple conditions on same key {name}. Only single item Update/Insert/Delete are supported")


def partiql_key_type(name: str) -> DynamoError:
    return validation(f"Key attribute's data type should match its data type in table's schema: Key {name}")


def partiql_duplicate_item() -> DynamoError:
    return DynamoError("DuplicateItemException", "Duplicate primary key exists in table")


def partiql_unsupported_clause(clause: str) -> DynamoError:
    return validation(f"Unsupported clause: {clause}")


def partiql_unsupported_operation(what: str) -> DynamoError:
    return validation(f"Unsupported operation: {what}")


def partiql_unsupported_token(token: str) -> DynamoError:
    return validation(f"Unsupported token in expression: {token}")


def partiql_unrecognized_function(name: str) -> DynamoError:
    return validation(f"Unrecognized function: {name}")


def partiql_alias() -> DynamoError:
    return validation("Aliasing is not supported")


def partiql_star_with_attributes() -> DynamoError:
    return validation("Other attributes should not be present in the projection when '*' is used.")


def partiql_duplicate_identifiers(name: str) -> DynamoError:
    return validation(f"Duplicate identifiers in select clause: {name}")


def partiql_single_source() -> DynamoError:
    return validation("Only select from a single table or index is supported.")


def partiql_source_components() -> DynamoError:
    return validation("A path may contain at most 2 components in the FROM clause")


def partiql_not_on_index() -> DynamoError:
    return validation("This operation is not supported on an index")


def partiql_insert_several() -> DynamoError:
    return validation('Unsupported operation: Inserting multiple items in a single statement is not supported, '
                      'use "INSERT INTO tableName VALUE item" instead')


def partiql_insert_format() -> DynamoError:
    return validation("Unsupported format in item expression. Please use struct format {...} to express item "
                      "values for insert statement.")


def partiql_insert_returning() -> DynamoError:
    return validation("RETURNING is not supported in INSERT")


def partiql_delete_returning(shown: str) -> DynamoError:
    return validation(f"Invalid returning clause: RETURNING {shown}. Only RETURNING ALL OLD * is allowed in "
                      "DELETE statements.")


def partiql_returning_star() -> DynamoError:
    return validation("Expected '*' after ( MODIFIED | ALL ) ( NEW | OLD ) in RETURNING clause")


def partiql_empty_bag() -> DynamoError:
    return validation("Empty bags are not supported")


def partiql_bag_type() -> DynamoError:
    return validation("Unsupported data type in Bag. DynamoDB only supports either numbers or strings in bags")


def partiql_missing_comparison() -> DynamoError:
    return validation("MISSING must be compared using IS operator")


def partiql_tuple_key_type(actual: str, under: str) -> DynamoError:
    return validation(f"Tuple keys must be of type String. Actual type: {actual} under {under}")


def partiql_duplicate_tuple_key(key: str, under: str) -> DynamoError:
    return validation(f"Duplicate keys in tuple. Key: {key} under {under}")


def partiql_in_operands() -> DynamoError:
    return validation("IN operator must have a left hand argument of type Variable Reference and right hand "
                      "argument of type Seq with at least one member")


def partiql_set_function_arguments(function: str) -> DynamoError:
    return validation(f"SET_{function} must have exactly two arguments")


def partiql_set_function_target(function: str) -> DynamoError:
    return validation(f"The first argument to SET_{function} must equal the assignment value")


def partiql_set_function_value(function: str) -> DynamoError:
    return validation(f"The second argument to SET_{function} must be a value with type SET")


def partiql_order_by_without_where() -> DynamoError:
    return validation("Must have WHERE clause in the statement when using ORDER BY clause.")


def partiql_order_by_without_hash() -> DynamoError:
    return validation("Must have at least one non-optional hash key condition in WHERE clause when using ORDER BY clause.")


def partiql_order_by_not_key(name: str) -> DynamoError:
    return validation(f"Variable reference {name} in ORDER BY clause must be part of the primary key")


def partiql_order_by_hash_required() -> DynamoError:
    return validation("Must have hash key in ORDER BY clause when more than one hash key condition specified in "
                      "WHERE clause.")


def partiql_too_many_reads() -> DynamoError:
    return validation("Too many decomposed read operations for a given query.")


def partiql_invalid_next_token() -> DynamoError:
    return validation("Invalid NextToken")


def partiql_next_token_mismatch() -> DynamoError:
    return validation("NextToken does not match request")


def partiql_exists_outside_transaction() -> DynamoError:
    return validation("EXISTS can only be used in ExecuteTransaction write requests.")


def partiql_exists_key() -> DynamoError:
    return validation("EXISTS() must contain a single item read with additional condition")


def partiql_batch_mixed() -> DynamoError:
    return validation("Read and write requests together in the same batch is not supported.")


def partiql_batch_select() -> DynamoError:
    return validation("Only single item select is supported")


def partiql_batch_duplicates() -> DynamoError:
    """Two statements of one BatchExecuteStatement on the same item."""
    return validation("Provided list of item keys contains duplicates")


def partiql_transaction_mixed() -> DynamoError:
    return validation("ExecuteTransaction API does not support both read and write operations in the same request.")


def partiql_transaction_select() -> DynamoError:
    return validation("Select statements within ExecuteTransaction must specify the primary key in the where clause.")


def partiql_transaction_index() -> DynamoError:
    return validation("Reads on indices are not supported within transactions.")


def partiql_transaction_unsupported() -> DynamoError:
    return validation("Unsupported operation in transaction.")


def transaction_too_large() -> DynamoError:
    """The items of one transaction add up to more than 4 MB (wording not checked against AWS)."""
    return validation("Transaction request size has exceeded the maximum allowed size of 4 MB")


def idempotent_parameter_mismatch() -> DynamoError:
    return DynamoError(
        "IdempotentParameterMismatchException",
        "Specified ClientRequestToken has already been used with a different request.",
    )


# --- security and protocol -----------------------------------------------------------------------


def unrecognized_client() -> DynamoError:
    return DynamoError("UnrecognizedClientException", "The security token included in the request is invalid.")


def missing_authentication_token() -> DynamoError:
    return DynamoError("MissingAuthenticationTokenException", "Request is missing Authentication Token")


def invalid_signature(message: str) -> DynamoError:
    return DynamoError("InvalidSignatureException", message)


def access_denied(message: str) -> DynamoError:
    return DynamoError("AccessDeniedException", message)


def internal_table(principal_arn: str, action: str, resource: str) -> DynamoError:
    """A call naming one of the server's own tables (core/internal_tables.py) by anyone but root."""
    return access_denied(f"User: {principal_arn} is not authorized to perform: {action} on resource: {resource} "
                         "because it is an internal table of the server")


def not_authorized(principal_arn: str, action: str, resource: str, denied_by: str | None) -> DynamoError:
    """DynamoDB's AccessDeniedException for an IAM decision (``denied_by``: an explicit deny's source)."""
    head = f"User: {principal_arn} is not authorized to perform: {action} on resource: {resource}"
    if denied_by is not None:
        article = "an" if denied_by == "identity" else "a"
        return access_denied(f"{head} with an explicit deny in {article} {denied_by}-based policy")
    return access_denied(f"{head} because no identity-based policy allows the {action} action")


def policy_not_found(arn: str, revision: str | None = None) -> DynamoError:
    if revision is None:
        message = f"Resource-based policy not found for the provided ResourceArn: {arn}"
    else:
        message = (f"Resource-based policy with the expected revision id {revision} not found for the "
                   f"provided ResourceArn: {arn}")
    return DynamoError("PolicyNotFoundException", message)


def invalid_resource_policy(detail: str) -> DynamoError:
    return validation(f"Invalid resource-based policy document: {detail}")


# IAM's own errors (the admin API, ``DynamoRayAdmin_20261126``), with IAM's wire names and wording.


def no_such_entity(message: str) -> DynamoError:
    return DynamoError("NoSuchEntity", message, status=404)


def entity_already_exists(message: str) -> DynamoError:
    return DynamoError("EntityAlreadyExists", message, status=409)


def malformed_policy_document(message: str) -> DynamoError:
    return DynamoError("MalformedPolicyDocument", message)


def delete_conflict(message: str) -> DynamoError:
    return DynamoError("DeleteConflict", message, status=409)


def iam_limit_exceeded(message: str) -> DynamoError:
    return DynamoError("LimitExceeded", message, status=409)


def iam_validation(message: str) -> DynamoError:
    return DynamoError("ValidationError", message)


def unknown_operation() -> DynamoError:
    return DynamoError("UnknownOperationException", "")


def internal_server_error(message: str = "Internal server error") -> DynamoError:
    return DynamoError("InternalServerError", message, status=500)


def service_unavailable(message: str = "The service is currently unavailable or busy.") -> DynamoError:
    """503: retryable; the SDKs back off and retry it (a partition is restarting, say)."""
    return DynamoError("ServiceUnavailable", message, status=503)


PARTITION_MOVED = "ServiceUnavailable"  # what a "moved" answer looks like if it ever reached a client


def partition_moved(version: int) -> DynamoError:
    """A host's answer for shards it does not own (any more): the engine re-reads the table's
    partition map (at least ``version``) and retries.  A 503, should it ever reach a client."""
    return DynamoError(PARTITION_MOVED, "The partition moved; retry the request.", status=503,
                       moved_version=version)


def is_partition_moved(error: DynamoError) -> bool:
    return error.error_type == PARTITION_MOVED and "moved_version" in error.extra


def partition_move_refused(reason: str) -> DynamoError:
    """A split or move of a table's range that cannot be made (now): the admin API's answer."""
    return DynamoError("ValidationException", f"The partition cannot be moved: {reason}")


# --- streams -------------------------------------------------------------------------------------


def expired_iterator(message: str) -> DynamoError:
    return DynamoError("ExpiredIteratorException", message)


def trimmed_data_access(message: str) -> DynamoError:
    return DynamoError("TrimmedDataAccessException", message)


def _java_date(ms: int) -> str:
    """A UTC time the way Java's ``Date.toString`` prints it (``Tue Jun 13 18:37:38 UTC 2017``)."""
    import datetime

    moment = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
    return moment.strftime("%a %b %d %H:%M:%S UTC %Y")


def iterator_expired(issued_ms: int, now_ms: int, max_age_ms: int) -> DynamoError:
    return expired_iterator(
        f"Iterator expired. The iterator was created at time {_java_date(issued_ms)} while right now it "
        f"is {_java_date(now_ms)} which is further in the future than the tolerated delay of "
        f"{max_age_ms} milliseconds."
    )


def records_trimmed() -> DynamoError:
    return trimmed_data_access(
        "The operation attempted to read past the oldest stream record in a shard: the requested "
        "records are older than the 24 hour retention period and have been trimmed"
    )


def stream_not_found(arn: str) -> DynamoError:
    return resource_not_found(f"Requested resource not found: Stream: {arn} not found")


def shard_not_found(shard_id: str, arn: str) -> DynamoError:
    return resource_not_found(f"Requested resource not found: Shard: {shard_id} in Stream: {arn} not found")


def invalid_stream_arn(arn: str) -> DynamoError:
    return validation(f"Invalid StreamArn: {arn}")


def invalid_shard_iterator() -> DynamoError:
    return validation("Invalid ShardIterator")


def invalid_sequence_number(sequence_number: str, shard_id: str) -> DynamoError:
    return validation(f"Invalid SequenceNumber {sequence_number} for shard {shard_id}")


def sequence_number_required(iterator_type: str) -> DynamoError:
    return validation(f"SequenceNumber is required when ShardIteratorType is {iterator_type}")


def sequence_number_not_allowed(iterator_type: str) -> DynamoError:
    return validation(f"SequenceNumber must not be specified when ShardIteratorType is {iterator_type}")


def timestamp_required() -> DynamoError:
    return validation("Timestamp is required when ShardIteratorType is AT_TIMESTAMP")


def timestamp_in_future() -> DynamoError:
    return validation("The Timestamp must not be in the future")


def stream_view_type_required(creating: bool) -> DynamoError:
    if creating:
        return invalid_parameter("Table is being created with a stream enabled, UpdateViewType is required")
    return invalid_parameter("If stream is being enabled then UpdateViewType is required")


def stream_view_type_forbidden(creating: bool) -> DynamoError:
    if creating:
        return invalid_parameter("Table is being created with a stream disabled, UpdateViewType should not be specified")
    return invalid_parameter("If stream is being disabled, then UpdateViewType must not be specified")


def stream_already_enabled(table: str) -> DynamoError:
    return validation(f"Table already has an enabled stream: TableName: {table}")


def no_stream_to_disable(table: str) -> DynamoError:
    return validation(f"Table has no stream to disable: TableName: {table}")


# --- hooks (the admin API's DeployHook and friends; dynamoray's own, shaped like Lambda's) --------


def hook_constraint(value: object, member: str, constraint: str) -> DynamoError:
    """A DeployHook parameter out of range, in the service model's wording."""
    return validation(f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
                      f"constraint: {constraint}")


def hook_not_found(name: str) -> DynamoError:
    return resource_not_found(f"Hook not found: {name}")


def hook_unavailable(message: str) -> DynamoError:
    return validation(f"Hooks are not available on this server: {message}")


def hook_batch_too_large(writes: int, limit: int) -> DynamoError:
    """One stream record's writes exceed what one batch transaction can hold besides its checkpoint."""
    return validation(f"A hook batch wrote {writes} items; an exactly-once batch commits at most {limit} "
                      "items with its checkpoint in one transaction")


# --- capacity, audit and usage (the admin API: gateway/admin_capacity.py) -------------------------


def capacity_feature_off(feature: str) -> DynamoError:
    """An admin call about a part of issue 10 the server runs without (``--no-audit``, ...)."""
    return validation(f"{feature} is not enabled on this server")


def capacity_parameter(message: str) -> DynamoError:
    return validation(message)


# --- global tables (core/global_tables.py, gateway/replication.py) ----------------------------------


def global_tables_off() -> DynamoError:
    return validation("Global tables are not available on this server: start it with --region and --regions-file")


def unknown_region(region: str) -> DynamoError:
    return validation(f"One or more parameter values were invalid: Region {region} is not a region of this "
                      "deployment (see --regions-file)")


def replica_in_own_region(region: str) -> DynamoError:
    return validation(f"One or more parameter values were invalid: Cannot add a replica in {region}, "
                      "the region of the table itself")


def replica_exists(table: str, region: str) -> DynamoError:
    return validation(f"Failed to create the new replica of table with name: '{table}' because a replica "
                      f"already exists in region {region}")


def replica_missing(table: str, region: str) -> DynamoError:
    return validation(f"One or more parameter values were invalid: Table {table} has no replica in region {region}")


def replica_stream_type(table: str, view_type: str) -> DynamoError:
    return validation(f"One or more parameter values were invalid: Table {table} has a stream with StreamViewType "
                      f"{view_type}; a global table needs NEW_AND_OLD_IMAGES")


def replica_stream_disabled() -> DynamoError:
    return validation("One or more parameter values were invalid: Disabling Stream is not allowed for a Global "
                      "Table replica.")


def replica_update_member() -> DynamoError:
    return validation("One or more parameter values were invalid: One of ReplicationGroupUpdate.Create, "
                      "ReplicationGroupUpdate.Update, ReplicationGroupUpdate.Delete must be specified")


def global_table_not_found(name: str) -> DynamoError:
    return DynamoError("GlobalTableNotFoundException", f"Global table with name: '{name}' does not exist")


def global_table_exists(name: str) -> DynamoError:
    return DynamoError("GlobalTableAlreadyExistsException", f"Global table with name: '{name}' already exists")


def global_member_not_found(name: str, region: str) -> DynamoError:
    return DynamoError("TableNotFoundException", f"Table: {name} not found in region: {region}")


def replica_not_found(name: str, region: str) -> DynamoError:
    return DynamoError("ReplicaNotFoundException", f"Replica for global table '{name}' not found in region {region}")


def replica_already_exists(name: str, region: str) -> DynamoError:
    return DynamoError("ReplicaAlreadyExistsException",
                       f"Replica for global table '{name}' already exists in region {region}")


def global_table_streams(name: str, region: str) -> DynamoError:
    return validation(f"One or more parameter values were invalid: Table: {name} in region: {region} does not "
                      "have streams enabled with NEW_AND_OLD_IMAGES")


# --- dynamoray extensions: table forks, stream replay, test knobs (docs/extensions.md) -----------


def fork_point(detail: str) -> DynamoError:
    """ForkTable's AtTime/AtOffsets (one of them, well formed, within the retained log)."""
    return validation(f"Invalid fork point: {detail}")


def test_knobs_disabled() -> DynamoError:
    return validation("Test knobs are not enabled on this server: start it with dynamoray serve --test-knobs")


def test_knob(detail: str) -> DynamoError:
    return validation(f"Invalid test knob: {detail}")
