from tests.e2e.conftest import server  # noqa: F401 - the same live gateway fixture
