"""The event schemas are contracts: ids are permanent and versions only append fields."""

import dataclasses
from collections import defaultdict
from importlib import resources

import fastavro
import pytest

from dynamoray.schemas import events as ev


def _versions():
    by_name = defaultdict(dict)
    for _schema_id, name, version in ev.SCHEMA_IDS:
        by_name[name][version] = ev.load_schema(name, version)
    return by_name


def test_ids_are_unique_and_every_schema_file_is_registered():
    ids = [i for i, _, _ in ev.SCHEMA_IDS]
    assert len(ids) == len(set(ids)) and ids == sorted(ids)
    shipped = {p.name for p in resources.files("dynamoray.schemas").iterdir() if p.name.endswith(".avsc")}
    assert shipped == {ev.schema_file(n, v) for _, n, v in ev.SCHEMA_IDS}


def test_every_schema_parses_and_is_named_after_its_event():
    for name, versions in _versions().items():
        assert sorted(versions) == list(range(1, len(versions) + 1)), name
        for schema in versions.values():
            fastavro.parse_schema(schema)
            assert schema["name"] == name and schema["namespace"] == "dynamoray.events"


def _symbols(field):
    t = field["type"]
    return t.get("symbols") if isinstance(t, dict) else None


@pytest.mark.parametrize("name", sorted(_versions()))
def test_versions_only_append_fields_with_defaults(name):
    versions = _versions()[name]
    for v in range(2, len(versions) + 1):
        before, after = versions[v - 1]["fields"], versions[v]["fields"]
        assert [f["name"] for f in after[: len(before)]] == [f["name"] for f in before]
        for old, new in zip(before, after):
            if _symbols(old):
                assert _symbols(new)[: len(_symbols(old))] == _symbols(old)
        assert all("default" in f for f in after[len(before):])


@pytest.mark.parametrize("name", sorted(ev.EVENT_TYPES))
def test_models_match_their_newest_schema(name):
    versions = _versions()[name]
    fields = versions[max(versions)]["fields"]
    model = dataclasses.fields(ev.EVENT_TYPES[name])
    assert [f.name for f in model] == [f["name"] for f in fields]
    for mf, sf in zip(model, fields):
        if sf.get("default", "absent") is None:
            assert mf.default is None, mf.name
    assert dataclasses.is_dataclass(ev.EVENT_TYPES[name]) and ev.EVENT_TYPES[name].__dataclass_params__.frozen
