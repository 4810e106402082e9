"""CatalogService as a plain class: the catalog event-sourced on its topic, rebuilt on restart."""

from __future__ import annotations

import pytest

from dynamoray.actors.catalog_service import CATALOG_TOPIC, CatalogService
from dynamoray.actors.records import table_topic
from dynamoray.core.errors import DynamoError
from dynamoray.events.memory import MemoryLog

from .helpers import description


@pytest.fixture
def log():
    return MemoryLog()


def service(log) -> CatalogService:
    return CatalogService(lambda: log)


def test_create_records_the_table_and_creates_its_topic(log):
    catalog = service(log)
    desc = description("orders")
    assert catalog.create_table(desc) == desc
    assert catalog.describe("orders") == desc
    assert catalog.lookup("orders") == desc and catalog.lookup("nope") is None
    assert catalog.list_tables() == ["orders"]
    assert catalog.all_tables() == [desc]
    assert log.partition_count(table_topic(desc["TableId"])) == 1


def test_errors_are_dynamodb_errors(log):
    catalog = service(log)
    catalog.create_table(description("orders"))
    with pytest.raises(DynamoError) as dup:
        catalog.create_table(description("orders"))
    assert (dup.value.error_type, dup.value.message) == (
        "ResourceInUseException", "Table already exists: orders")
    calls = (lambda: catalog.describe("x"), lambda: catalog.delete_table("x"), lambda: catalog.get_tags("x"),
             lambda: catalog.set_ttl("x", {}), lambda: catalog.replace_table("x", description("x")))
    for call in calls:
        with pytest.raises(DynamoError) as missing:
            call()
        assert (missing.value.error_type, missing.value.message) == (
            "ResourceNotFoundException", "Requested resource not found: Table: x not found")


def test_a_restarted_catalog_comes_back_from_its_topic(log):
    catalog = service(log)
    kept, gone = description("kept"), description("gone")
    catalog.create_table(kept)
    catalog.create_table(gone)
    catalog.set_tags("kept", {"team": "a"})
    catalog.set_ttl("kept", {"TimeToLiveStatus": "ENABLED", "AttributeName": "exp"})
    updated = {**kept, "DeletionProtectionEnabled": True}
    assert catalog.replace_table("kept", updated) == updated
    assert catalog.delete_table("gone") == gone

    again = service(log)  # what Ray does on restart: __init__ again
    assert again.list_tables() == ["kept"]
    assert again.describe("kept") == updated
    assert again.get_tags("kept") == {"team": "a"}
    assert again.get_ttl("kept") == {"TimeToLiveStatus": "ENABLED", "AttributeName": "exp"}


def test_a_failed_append_rebuilds_the_state_from_the_log(log):
    catalog = service(log)
    catalog.create_table(description("t"))
    log.open_writer(CATALOG_TOPIC, 0)  # someone else took the catalog topic over: fenced
    with pytest.raises(DynamoError) as caught:
        catalog.set_tags("t", {"lost": "yes"})
    assert (caught.value.error_type, caught.value.status) == ("InternalServerError", 500)
    assert catalog.get_tags("t") == {}  # the failed change is not in the state
    catalog.set_tags("t", {"kept": "yes"})  # the rebuilt catalog is the writer again
    assert service(log).get_tags("t") == {"kept": "yes"}


def test_results_are_copies(log):
    catalog = service(log)
    catalog.create_table(description("t"))
    catalog.describe("t")["TableName"] = "mutated"
    catalog.get_tags("t")["x"] = "y"
    assert catalog.describe("t")["TableName"] == "t" and catalog.get_tags("t") == {}
