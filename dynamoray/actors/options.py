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
from .coordinator import TransactionCoordinator
from .hook_worker import HookWorker
from .host import PartitionHost
from .replicator_worker import ReplicatorWorker

NAMESPACE = "dynamoray"

_RemoteHost = ray.remote(PartitionHost)
_RemoteCatalog = ray.remote(CatalogService)
_RemoteCoordinator = ray.remote(TransactionCoordinator)
_RemoteHookWorker = ray.remote(HookWorker)
_RemoteReplicator = ray.remote(ReplicatorWorker)


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


def partition_host(name: str, *, detached: bool = False, zone: str | None = None) -> Any:
    """The actor class of a partition host: async (its write pipeline is asyncio), so one host
    runs many partitions' calls concurrently.  ``zone``: prefer a node labelled with that zone
    (:func:`zone_placement`)."""
    return _RemoteHost.options(**host_options(name, detached=detached, zone=zone))


def host_options(name: str, *, detached: bool = False, zone: str | None = None) -> dict[str, Any]:
    return {"max_concurrency": 1000, **zone_placement(zone), **_common(name, detached)}


# --- zones ------------------------------------------------------------------------------------------
# A Ray node in zone "zone-a" carries the node label ``dynamoray.io/zone=zone-a`` (``ray start
# --labels dynamoray.io/zone=zone-a``, ``labels:`` of a node type in ``ray_cluster.yaml``).  Host i
# prefers zone i mod len(zones), in the sorted order of the zone names.  A partition's replicas live
# on consecutive hosts (``replicas.replica_hosts``), so they are in distinct zones whenever the pool
# is a multiple of the zone count and replicas <= zones.
#
# The preference is soft: the label selector asks for the host's zone, and the fallback for any node
# outside it.  While the zone has a node, Ray (re)starts the host there; when every node of the zone
# is gone, Ray restarts it on another zone's node (or the head) instead of leaving it pending, and it
# stays there (it does not move back when the zone returns).  On one machine no node has the label,
# and hosts are placed anywhere.

ZONE_LABEL = "dynamoray.io/zone"


def zone_placement(zone: str | None) -> dict[str, Any]:
    """The actor options that place an actor in ``zone`` if it has a live node, elsewhere if not."""
    if not zone:
        return {}
    return {"label_selector": {ZONE_LABEL: zone},
            "fallback_strategy": [{"label_selector": {ZONE_LABEL: f"!{zone}"}}]}


def cluster_zones() -> list[str]:
    """The zones the Ray cluster's live nodes are labelled with, sorted (none on one machine)."""
    return sorted({node["Labels"][ZONE_LABEL] for node in ray.nodes()
                   if node.get("Alive") and ZONE_LABEL in (node.get("Labels") or {})})


def zone_of(index: int, zones: list[str]) -> str | None:
    """The zone host ``index`` prefers (round robin), or None without zones."""
    return zones[index % len(zones)] if zones else None


def catalog(name: str, *, detached: bool = False) -> Any:
    """The actor class of the catalog: synchronous, one call at a time."""
    return _RemoteCatalog.options(max_concurrency=1, **_common(name, detached))


def coordinator(name: str, *, detached: bool = False) -> Any:
    """The actor class of the transaction coordinator: async, many transactions at once (each
    waits on the hosts); it replays its topic in ``__init__``, so a restart recovers it."""
    return _RemoteCoordinator.options(max_concurrency=1000, **_common(name, detached))


def hook_worker(name: str, *, detached: bool = False) -> Any:
    """The actor class of one member of a stored-procedure hook (``hook_worker.py``): synchronous,
    its runner on a thread of its own; restarted by Ray when it dies, it resumes from its checkpoint."""
    return _RemoteHookWorker.options(max_concurrency=1, **_common(name, detached))


def replicator(name: str, *, detached: bool = False) -> Any:
    """The actor class of a global table's replicator to one region (``replicator_worker.py``):
    synchronous, its replicator on a thread of its own; restarted by Ray when it dies, it resumes
    from its checkpoint."""
    return _RemoteReplicator.options(max_concurrency=1, **_common(name, detached))
