"""Every DynamoDB error dynamoray can raise, with its wire name, message and HTTP status.

One exception type, :class:`DynamoError`, carries the error's wire name (``ValidationException``,
``ConditionalCheckFailedException``, ...), its message, the HTTP status and any extra fields the
wire shape has (``Item`` for a failed condition, ``CancellationReasons`` for a cancelled
transaction).  Code anywhere raises it through the named constructors of this package; the gateway
alone turns it into HTTP (``DynamoError.wire_body``).  Messages follow DynamoDB's own wording, typos
included, so that clients matching on them keep working.

All messages live here, one module per area; callers use the package, never an area module:
``from dynamoray.core import errors; raise errors.table_not_found(name)``.

- ``base``: ``DynamoError`` and the generic constructors the areas build on (``validation``,
  ``invalid_parameter``, ``serialization``, ``resource_not_found``, ``resource_in_use``,
  ``limit_exceeded``);
- ``requests`` (request shape, the service model's constraints), ``values`` (numbers, item size,
  sets), ``expressions``, ``keys``, ``indexes``, ``items`` (conditions and tables), ``updates``,
  ``legacy`` (Expected, filters, KeyConditions), ``transactions``, ``partiql``;
- ``encryption``, ``ttl``, ``backups``, ``transfers`` (export and import), ``capacity``
  (throttling, limits), ``streams``, ``global_tables``;
- ``security`` (authentication, IAM, policies), ``protocol`` (unknown operation, 500s and 503s,
  a moved partition), ``hooks``, ``extensions`` (dynamoray's own operations).

A new constructor goes into its area's module; this package re-exports every public name of every
area module (``tests/core/test_errors_package.py`` guards the list).
"""

from .base import *  # noqa: F403
from .base import _rebuild  # noqa: F401  (pickled DynamoErrors name it)
from .requests import *  # noqa: F403
from .values import *  # noqa: F403
from .expressions import *  # noqa: F403
from .keys import *  # noqa: F403
from .indexes import *  # noqa: F403
from .items import *  # noqa: F403
from .encryption import *  # noqa: F403
from .ttl import *  # noqa: F403
from .backups import *  # noqa: F403
from .transfers import *  # noqa: F403
from .capacity import *  # noqa: F403
from .updates import *  # noqa: F403
from .legacy import *  # noqa: F403
from .transactions import *  # noqa: F403
from .partiql import *  # noqa: F403
from .security import *  # noqa: F403
from .protocol import *  # noqa: F403
from .streams import *  # noqa: F403
from .hooks import *  # noqa: F403
from .global_tables import *  # noqa: F403
from .extensions import *  # noqa: F403
