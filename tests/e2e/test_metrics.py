"""``GET /health`` and ``GET /metrics`` (Prometheus text) on every engine, through HTTP."""

from __future__ import annotations

import requests
from prometheus_client.parser import text_string_to_metric_families

from .conftest import create, unique


def samples(endpoint: str) -> dict[tuple[str, tuple], float]:
    answer = requests.get(f"{endpoint}/metrics", timeout=30)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(answer.text) for s in family.samples}


def test_health_answers_200(server):
    answer = requests.get(f"{server.endpoint}/health", timeout=30)
    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})


def test_unknown_paths_and_methods_are_refused(server):
    assert requests.get(f"{server.endpoint}/nope", timeout=30).status_code == 404
    assert requests.delete(f"{server.endpoint}/", timeout=30).status_code == 405


def test_metrics_count_reads_by_replica_and_report_follower_lag(server, ddb, request):
    table = create(ddb, [("p", "S", "HASH")], name=unique("metrics"))
    ddb.put_item(TableName=table, Item={"p": {"S": "a"}, "v": {"S": "1"}})
    assert ddb.get_item(TableName=table, Key={"p": {"S": "a"}})["Item"]["v"] == {"S": "1"}
    ddb.get_item(TableName=table, Key={"p": {"S": "a"}}, ConsistentRead=True)
    found = samples(server.endpoint)
    engine = request.node.callspec.params["server"]
    if engine != "ray":  # the local engine has one copy of each table and no replica metrics
        assert not any(name.startswith("dynamoray_replica_lag") for name, _ in found)
        return
    eventual = found[("dynamoray_reads_total", (("consistency", "eventual"), ("replica", "gateway")))]
    strong = found[("dynamoray_reads_total", (("consistency", "strong"), ("replica", "leader")))]
    assert eventual >= 1 and strong >= 1
    lag = found[("dynamoray_replica_lag_records", (("replica", "gateway"), ("table", table)))]
    assert lag == 0  # the follower caught up before it served the read, and nothing came since
    assert found[("dynamoray_replica_lag_seconds", (("replica", "gateway"), ("table", table)))] == 0
