"""Retries as in the AWS SDKs' *standard* retry mode.

- At most ``max_attempts`` attempts per call (3 by default, the first one included).
- Retried: throttling (``ProvisionedThroughputExceededException``, ``ThrottlingException``,
  ``RequestLimitExceeded``, ``LimitExceededException``, ``TransactionInProgressException``),
  transient failures (``InternalServerError``, ``ServiceUnavailable``, any HTTP 5xx, a connection
  error or timeout, a response that fails its CRC32 check).  Never anything else: a failed
  condition, a validation error or a cancelled transaction is the caller's business.
- Delay before retry ``n`` (1, 2, ...): full jitter, ``random() * min(max_backoff, base * 2**(n-1))``.
- A retry quota shared by all calls of one client: 500 tokens; a retry takes 5 (10 after a
  connection error or timeout); a call that succeeds gives back the cost of its last retry, or 1
  token when it needed none.  With the quota spent, errors surface at once instead of piling retries on
  a struggling server.

:class:`Backoff` is the same full-jitter schedule with a separate budget, for the batch helpers'
retries of ``UnprocessedItems``/``UnprocessedKeys``.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import ChecksumMismatchError, DynamoDBError, EndpointConnectionError

THROTTLING = frozenset({
    "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
    "LimitExceededException", "TransactionInProgressException", "Throttling", "ThrottledException",
    "TooManyRequestsException", "RequestThrottled",
})
TRANSIENT = frozenset({"InternalServerError", "InternalFailure", "ServiceUnavailable", "RequestTimeout",
                       "RequestTimeoutException", "PriorRequestNotComplete"})

INITIAL_TOKENS = 500
RETRY_COST = 5
TIMEOUT_RETRY_COST = 10
NO_RETRY_INCREMENT = 1


def is_retryable(error: DynamoDBError) -> bool:
    if isinstance(error, (EndpointConnectionError, ChecksumMismatchError)):
        return True
    return error.code in THROTTLING or error.code in TRANSIENT or error.status >= 500


def full_jitter(attempt: int, base: float, cap: float, rand: Callable[[], float]) -> float:
    """The delay before retry number ``attempt`` (1 for the first retry)."""
    return rand() * min(cap, base * 2.0 ** (attempt - 1))


class RetryQuota:
    """The token bucket of standard mode; thread-safe (a sync client may be shared by threads)."""

    def __init__(self, tokens: int = INITIAL_TOKENS) -> None:
        self.capacity = tokens
        self.available = tokens
        self._lock = threading.Lock()

    def acquire(self, error: DynamoDBError) -> int:
        """Take the cost of retrying after ``error``; 0 when the quota cannot pay it (no retry)."""
        cost = TIMEOUT_RETRY_COST if isinstance(error, EndpointConnectionError) else RETRY_COST
        with self._lock:
            if cost > self.available:
                return 0
            self.available -= cost
            return cost

    def release(self, spent: int) -> None:
        """After a successful call: give back its last retry's cost, or the no-retry increment."""
        with self._lock:
            self.available = min(self.capacity, self.available + (spent or NO_RETRY_INCREMENT))


@dataclass
class RetryConfig:
    """How a client retries.  ``rand`` and ``sleep`` can be replaced (tests)."""

    max_attempts: int = 3
    base_delay: float = 1.0
    max_backoff: float = 20.0
    quota: RetryQuota | None = field(default_factory=RetryQuota)
    rand: Callable[[], float] = random.random


class RetryState:
    """The retry bookkeeping of one call: ``should_retry(error)`` says whether to try again and
    returns the delay; ``succeeded()`` settles the quota."""

    def __init__(self, config: RetryConfig) -> None:
        self.config = config
        self.attempt = 1
        self.last_cost = 0

    def should_retry(self, error: DynamoDBError) -> float | None:
        if self.attempt >= self.config.max_attempts or not is_retryable(error):
            return None
        if self.config.quota is not None:
            cost = self.config.quota.acquire(error)
            if not cost:
                return None
            self.last_cost = cost
        delay = full_jitter(self.attempt, self.config.base_delay, self.config.max_backoff, self.config.rand)
        self.attempt += 1
        return delay

    def succeeded(self) -> None:
        if self.config.quota is not None:
            self.config.quota.release(self.last_cost)


@dataclass(frozen=True)
class Backoff:
    """Full-jitter backoff for re-sending unprocessed batch requests: ``retries`` re-sends at most."""

    retries: int = 10
    base_delay: float = 0.05
    max_backoff: float = 5.0
    rand: Callable[[], float] = random.random

    def delay(self, attempt: int) -> float:
        return full_jitter(attempt, self.base_delay, self.max_backoff, self.rand)
