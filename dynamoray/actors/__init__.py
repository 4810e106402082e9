"""Actors: the engines (in-process ``LocalEngine``, Ray ``RayEngine``) and the actors behind them.

Ray reads ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER`` once, when it is imported: set here, before any
module of this package imports ``ray``, it makes every local Ray bind to 127.0.0.1 only (an
unauthenticated Ray on the network is a known attack path).  Usage stats stay off.  An explicit
setting in the environment wins.
"""

import os

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
