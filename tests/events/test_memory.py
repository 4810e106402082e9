import pytest

from dynamoray.events.memory import MemoryLog

from .contract import EventLogContract


class TestMemoryLog(EventLogContract):
    @pytest.fixture
    def log(self, clock):
        log = MemoryLog(clock=clock)
        yield log
        log.close()
