"""The regions of a deployment (``dynamoray serve --region NAME --regions-file FILE``) and the
signed client one region uses to call another's replication endpoint.

The file is JSON or YAML, mapping each region's name to how to reach it::

    {"regions": {
       "us-east-1": {"endpoint": "http://127.0.0.1:8001",
                     "access_key_id": "AKDR...", "secret_access_key": "..."},
       "eu-west-1": {"endpoint": "http://127.0.0.1:8002",
                     "access_key_id": "AKDR...", "secret_access_key": "...",
                     "kafka_bootstrap": "127.0.0.1:9093"}}}

(the top-level ``regions`` key may be left out).  The credentials are the ones the *other*
regions sign with when they call that region: its root credentials, or any key of it the root
made.  The file may list the local region too; its entry is not used to call anything.
``kafka_bootstrap`` is the region's Kafka cluster: when both regions of a pair list it, their
replicated changes go topic to topic between the clusters (``actors/mirror.py``; the region's own
entry, with its root credentials, is then needed too), and only control calls use the endpoint.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

REPLICATION_PREFIX = "DynamoRayReplication_20191121"
REPLICATION_SERVICE = "dynamorayreplication"
CONTENT_TYPE = "application/x-amz-json-1.0"


class RegionsFileError(ValueError):
    """The regions file cannot be read or is malformed."""


@dataclass(frozen=True)
class Region:
    name: str
    endpoint: str
    access_key_id: str = ""
    secret_access_key: str = ""
    kafka_bootstrap: str | None = None


@dataclass(frozen=True)
class RegionMap:
    local: str
    regions: dict[str, Region]

    @classmethod
    def load(cls, path: str | Path, local: str) -> RegionMap:
        try:
            text = Path(path).read_text()
        except OSError as error:
            raise RegionsFileError(f"cannot read the regions file {path}: {error.strerror or error}") from None
        try:
            raw = json.loads(text)
        except ValueError:
            try:
                import yaml
            except ImportError:  # pragma: no cover - pyyaml ships with the test extras
                raise RegionsFileError(f"{path}: not JSON (install pyyaml to read YAML)") from None
            try:
                raw = yaml.safe_load(text)
            except yaml.YAMLError as error:
                raise RegionsFileError(f"{path}: {error}") from None
        return cls.from_mapping(raw, local, str(path))

    @classmethod
    def from_mapping(cls, raw: Any, local: str, where: str = "regions") -> RegionMap:
        if isinstance(raw, dict) and isinstance(raw.get("regions"), dict):
            raw = raw["regions"]
        if not isinstance(raw, dict):
            raise RegionsFileError(f"{where}: expected a mapping of region names to endpoints")
        regions = {}
        for name, entry in raw.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("endpoint"), str):
                raise RegionsFileError(f"{where}: region {name!r} needs an 'endpoint'")
            regions[name] = Region(name, entry["endpoint"], str(entry.get("access_key_id", "")),
                                   str(entry.get("secret_access_key", "")), entry.get("kafka_bootstrap"))
        return cls(local, regions)

    def others(self) -> list[str]:
        return sorted(name for name in self.regions if name != self.local)

    def names(self) -> set[str]:
        return set(self.regions) | {self.local}


class ReplicationCallError(Exception):
    def __init__(self, region: str, code: str, message: str, status: int) -> None:
        super().__init__(f"{region}: {code}: {message}")
        self.code = code
        self.message = message
        self.status = status


class RegionClient:
    """Calls other regions' replication endpoints (SigV4, JSON 1.0), one connection pool."""

    def __init__(self, regions: RegionMap, timeout: float = 30.0, ssl: Any = None) -> None:
        self.regions = regions
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._ssl = ssl
        self._session: aiohttp.ClientSession | None = None

    async def call(self, region: str, operation: str, body: dict) -> dict:
        target = self.regions.regions[region]
        url = target.endpoint.rstrip("/") + "/"
        data = orjson.dumps(body)
        request = AWSRequest(method="POST", url=url, data=data, headers={
            "Content-Type": CONTENT_TYPE, "X-Amz-Target": f"{REPLICATION_PREFIX}.{operation}"})
        SigV4Auth(Credentials(target.access_key_id, target.secret_access_key), "dynamodb", region).add_auth(request)
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        async with self._session.post(url, data=data, headers=dict(request.headers), ssl=self._ssl) as response:
            payload = await response.read()
            if response.status != 200:
                found = _json(payload)
                code = str(found.get("__type", "UnknownError")).rsplit("#", 1)[-1]
                raise ReplicationCallError(region, code, str(found.get("message", found.get("Message", ""))),
                                           response.status)
            return _json(payload)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _json(raw: bytes) -> dict:
    try:
        value = orjson.loads(raw or b"{}")
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


# --- what replicators send through -----------------------------------------------------------------


def mirrored(regions: RegionMap, region: str) -> bool:
    """Whether changes to ``region`` go topic to topic: both regions list ``kafka_bootstrap``."""
    here, there = regions.regions.get(regions.local), regions.regions.get(region)
    return bool(here and here.kafka_bootstrap and there and there.kafka_bootstrap and there.secret_access_key)


class Outbound:
    """What replicators send through: ``ApplyChanges`` topic to topic when the target is mirrored
    (``actors/mirror.py``), every other call to the target's replication endpoint."""

    def __init__(self, regions: RegionMap, kafka_logs: Any, client: RegionClient | None = None) -> None:
        self.regions, self.kafka_logs = regions, kafka_logs
        self.client = client or RegionClient(regions)
        self._senders: dict[str, Any] = {}  # target region -> MirrorSender

    async def call(self, region: str, operation_name: str, body: dict) -> dict:
        if operation_name == "ApplyChanges" and mirrored(self.regions, region):
            sender = self._senders.get(region)
            if sender is None:
                from ..actors.mirror import MirrorSender

                target = self.regions.regions[region]
                sender = MirrorSender(self.kafka_logs(target.kafka_bootstrap), self.regions.local,
                                      target.secret_access_key)
                self._senders[region] = sender
            return await sender.send(body)
        return await self.client.call(region, operation_name, body)

    async def close(self) -> None:
        for sender in self._senders.values():
            await asyncio.to_thread(sender.close)
        self._senders.clear()
        await self.client.close()


@dataclass(frozen=True)
class OutboundSpec:
    """A picklable recipe of an :class:`Outbound` (a replicator worker makes its own)."""

    regions: RegionMap
    kafka_logs: Any

    def __call__(self) -> Outbound:
        return Outbound(self.regions, self.kafka_logs)
