"""The encryption bench runs end to end in a few seconds and reports every row (no timing checks)."""

import bench_encryption


def test_every_measurement_is_reported(tmp_path):
    rows = bench_encryption.per_record(tmp_path, 20)
    assert [row[0] for row in rows] == list(bench_encryption.ITEMS)
    assert all(added == 49 for *_, added in rows)  # the sealed record's overhead
    assert all(v > 0 for row in rows for v in row[1:5])
    assert [label for label, _ in bench_encryption.replay(tmp_path, 300)] == ["plain", "encrypted"]
    http = bench_encryption.over_http(tmp_path, 25)
    assert [(label, op) for label, op, _, _ in http] == [
        ("plain", "PutItem"), ("plain", "GetItem"), ("encrypted", "PutItem"), ("encrypted", "GetItem")]
    assert all(p99 >= p50 > 0 for *_, p50, p99 in http)
