"""dynamoray's typed Python SDK: plain Python values in and out, sync and asyncio.

    from dynamoray.gateway.sdk import Attr, Client, Key, Update

    with Client() as client:                       # $DYNAMORAY_ENDPOINT, botocore's credentials
        table = client.create_table("orders", hash_key=("customer", "S"), range_key=("n", "N"))
        table.put({"customer": "ada", "n": 1, "total": 12})
        table.update({"customer": "ada", "n": 1}, Update().add("total", 3))
        for order in table.query(Key("customer").eq("ada")): ...

See ``docs/sdk.md``.  Importing the SDK imports neither Ray nor the server.
"""

from .accelerator import AcceleratorConfig
from .backups import Progress, RichProgress, TextProgress
from .batch import AsyncBatchWriter, BatchWriter
from .client_async import AsyncClient
from .client_sync import Client
from .errors import (
    AccessDeniedException,
    BackupInUseException,
    BackupNotFoundException,
    CancellationReason,
    ChecksumMismatchError,
    ConditionalCheckFailedException,
    ContinuousBackupsUnavailableException,
    DynamoDBError,
    EndpointConnectionError,
    ExpiredIteratorException,
    IdempotentParameterMismatchException,
    InternalServerError,
    InvalidRestoreTimeException,
    ItemCollectionSizeLimitExceededException,
    LimitExceededException,
    NoCredentialsError,
    PointInTimeRecoveryUnavailableException,
    ProvisionedThroughputExceededException,
    RequestLimitExceeded,
    ResourceInUseException,
    ResourceNotFoundException,
    SerializationException,
    TableAlreadyExistsException,
    TableInUseException,
    TableNotFoundException,
    ThrottlingException,
    TransactionCanceledException,
    TransactionConflictException,
    TransactionInProgressException,
    TrimmedDataAccessException,
    UnprocessedItemsError,
    UnrecognizedClientException,
    ValidationException,
    WaiterTimeoutError,
)
from .expressions import Attr, Condition, Key, Update, if_not_exists, list_append
from .models import HashKey, KeySchema, RangeKey
from .pagination import AsyncItems, Items, Page
from .retry import Backoff, RetryConfig, RetryQuota
from .settings import GlobalIndex
from .streams import StreamRecord
from .table import Table
from .table_async import AsyncTable
from .transactions import AsyncTransaction, Get, Transaction
from .transport import AsyncTransport, RawResponse, SyncTransport
from .waiters import Wait

__all__ = [
    "AcceleratorConfig", "AccessDeniedException", "AsyncBatchWriter", "AsyncClient", "AsyncItems", "AsyncTable",
    "AsyncTransaction",
    "AsyncTransport", "Attr", "Backoff", "BackupInUseException", "BackupNotFoundException", "BatchWriter",
    "CancellationReason", "ChecksumMismatchError", "Client", "Condition", "ConditionalCheckFailedException",
    "ContinuousBackupsUnavailableException", "DynamoDBError", "EndpointConnectionError",
    "ExpiredIteratorException", "Get", "GlobalIndex", "HashKey", "IdempotentParameterMismatchException",
    "InternalServerError", "InvalidRestoreTimeException", "ItemCollectionSizeLimitExceededException", "Items",
    "Key", "KeySchema", "LimitExceededException", "NoCredentialsError", "Page",
    "PointInTimeRecoveryUnavailableException", "Progress", "ProvisionedThroughputExceededException",
    "RangeKey", "RawResponse", "RequestLimitExceeded", "ResourceInUseException", "ResourceNotFoundException",
    "RetryConfig", "RetryQuota", "RichProgress", "SerializationException", "StreamRecord", "SyncTransport",
    "Table", "TableAlreadyExistsException", "TableInUseException", "TableNotFoundException", "TextProgress",
    "ThrottlingException", "Transaction", "TransactionCanceledException", "TransactionConflictException",
    "TransactionInProgressException", "TrimmedDataAccessException", "UnprocessedItemsError",
    "UnrecognizedClientException", "Update", "ValidationException", "Wait", "WaiterTimeoutError",
    "if_not_exists", "list_append",
]
