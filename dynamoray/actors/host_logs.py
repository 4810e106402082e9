"""How a partition host gets log handles: one shared log, or a fresh handle per open partition.

Separate from ``host.py`` because it is configuration, not hosting: the cluster (``cluster.py``)
picks one of these and sends it, pickled, to every host, and the host only calls ``acquire``,
``release`` and ``close``.  ``host.py`` re-exports every name here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

from ..events.log import EventLog


class TopicLogs(Protocol):
    """Gives each open partition a log to use, and takes it back when the partition closes."""

    def acquire(self, topic: str) -> EventLog: ...

    def release(self, topic: str, log: EventLog) -> None: ...

    def close(self) -> None: ...


class SharedLog:
    """Every partition uses one log (the memory log in tests; a Kafka client, which is shared)."""

    def __init__(self, log: EventLog) -> None:
        self.log = log

    def acquire(self, topic: str) -> EventLog:
        return self.log

    def release(self, topic: str, log: EventLog) -> None:
        pass

    def close(self) -> None:
        self.log.close()


@dataclass(frozen=True)
class LogPerTopic:
    """A fresh log handle per open partition, closed when it hibernates.

    The embedded log keeps every topic it touched open (two SQLite connections and a committer
    thread each) until the log itself is closed; one handle per partition is what lets a
    hibernated partition hold no file or thread.  Picklable, so it can be sent to an actor.
    """

    factory: Callable[[], EventLog]

    def acquire(self, topic: str) -> EventLog:
        return self.factory()

    def release(self, topic: str, log: EventLog) -> None:
        log.close()

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class EmbeddedLogAt:
    """A picklable factory of :class:`~dynamoray.events.embedded.EmbeddedLog` on ``directory``:
    each process (catalog, every host) opens the data directory itself."""

    directory: str
    synchronous: str = "FULL"

    def __call__(self) -> EventLog:
        from ..events.embedded import EmbeddedLog

        return EmbeddedLog(self.directory, synchronous=self.synchronous)
