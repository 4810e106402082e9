"""Shared by the tests of rebuilds in the backups' worker process (``actors/backup_rebuild.py``):
backups (``test_backup_rebuild.py``), point-in-time restores and forks (``test_restore_rebuild.py``)."""

from __future__ import annotations

import pytest

from dynamoray.actors import backup_rebuild


@pytest.fixture(autouse=True, scope="module")
def stop_the_worker():
    """The worker process is shared by the whole server (here: the test module); stop it after."""
    yield
    backup_rebuild.shutdown()


def refuse_here(*_args, **_kwargs):
    """Patched over a rebuild function in this process: only the child may rebuild."""
    raise AssertionError("rebuilt in the server's process")


class Broken:
    """A picklable log factory that fails in the child."""

    def __call__(self):
        raise OSError("no log here")
