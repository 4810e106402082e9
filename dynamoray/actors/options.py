"""The only place dynamoray's plain classes become Ray actors, and where their options are set.

- Named, in the ``dynamoray`` namespace, so a gateway finds them again (``get_if_exists``).
- ``max_restarts=-1``: Ray restarts a dead actor forever; ``__init__`` runs again and the state
  comes back from the log (the catalog replays at once, a host reopens partitions on demand).
- ``max_task_retries=0``: a call in flight when the actor dies is *not* re-run on the new
  incarnation, so a write is never applied twice; the caller gets an error instead
  (``client.RemoteActor`` maps it to a retryable 503/500).
- ``num_cpus=0``: actors do not reserve a core, so a 2-core machine runs the catalog and every
  host; they are I/O-bound shells around ``core``.
- ``lifetime``: owned by the process that created them (they die with ``dynamoray serve``), or
  ``"detached"`` when a cluster's actors must outlive a gateway.
"""

from __future__ import annotations

from typing import Any

import ray

from .catalog_service import CatalogService
from .host import PartitionHost

NAMESPACE = "dynamoray"

_RemoteHost = ray.remote(PartitionHost)
_RemoteCatalog = ray.remote(CatalogService)


def _common(name: str, detached: bool) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": NAMESPACE,
        "get_if_exists": True,
        "max_restarts": -1,
        "max_task_retries": 0,
        "num_cpus": 0,
        "lifetime": "detached" if detached else None,
    }


def partition_host(name: str, *, detached: bool = False) -> Any:
    """The actor class of a partition host: async (its write pipeline is asyncio), so one host
    runs many partitions' calls concurrently."""
    return _RemoteHost.options(max_concurrency=1000, **_common(name, detached))


def catalog(name: str, *, detached: bool = False) -> Any:
    """The actor class of the catalog: synchronous, one call at a time."""
    return _RemoteCatalog.options(max_concurrency=1, **_common(name, detached))
