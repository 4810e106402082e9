"""Two regions for the global-table tests on the Ray engine: ``EAST`` on a ``RayEngine`` (catalog
and partition host actors on the session's Ray) and ``WEST`` on the local engine, sharing one
regions map, so that replication crosses from one engine kind to the other."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .global_regions import Region, regions_map

EAST, WEST = "us-east-1", "eu-west-1"


@contextmanager
def ray_and_local_regions(root: Path) -> Iterator[dict[str, Region]]:
    """Both regions started under ``root`` (one directory each), stopped after the block."""
    mapping = regions_map([EAST, WEST])
    found = {EAST: Region(EAST, root / EAST, mapping, engine="ray").start(),
             WEST: Region(WEST, root / WEST, mapping).start()}
    try:
        yield found
    finally:
        for region in found.values():
            region.stop()
