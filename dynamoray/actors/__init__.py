"""Actors: the engines (in-process ``LocalEngine``, Ray ``RayEngine``) and the actors behind them.

Ray reads ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER`` once, when it is imported: set here, before any
module of this package imports ``ray``, it makes every local Ray bind to 127.0.0.1 only (an
unauthenticated Ray on the network is a known attack path).  Usage stats stay off.  Ray's worker
processes (the partition hosts among them) run at the drivers' priority: Ray's default, nice 15,
leaves a host waiting for a core behind the gateway whenever the machine is busy, and every write
waits with it (``docs/benchmarks.md``, "Hot path, sixth pass").  An explicit setting in the
environment wins.
"""

import os

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_worker_niceness", "0")
