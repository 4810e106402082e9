"""The accelerator bench end to end with a few calls per path (no timing checks: only that every
path produced figures and the in-process path was served from the cache)."""

import json

import bench_dax


def test_every_path_is_measured(tmp_path):
    out = tmp_path / "figures.json"
    assert bench_dax.main(["--ops", "20", "--warmup", "5", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert [f["path"].split(" (")[0] for f in figures] == [
        "boto3 -> main port", "boto3 -> accelerator", "boto3 -> dax process", "sdk -> dax process",
        "boto3 -> dax process", "sdk -> dax process", "sdk -> main port", "sdk accelerator"]
    for f in figures:
        assert f["calls"] == 20 and 0 < f["p50_us"] <= f["p99_us"], f
    assert int(figures[-1]["hits"].split()[0]) >= 20  # at least as many hits as measured calls
    process_hits, forwarded = figures[2]["hits"], figures[4]["hits"]  # the separate dax process
    assert int(process_hits.split()[1].rstrip(",")) >= 20, process_hits  # "hits N, misses M"
    assert forwarded.startswith("hits 0,"), forwarded  # its item cache off: every call forwarded
