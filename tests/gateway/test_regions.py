"""The regions file of ``dynamoray serve --regions-file`` (gateway/regions.py)."""

from __future__ import annotations

import pytest

from dynamoray.gateway.regions import RegionMap, RegionsFileError


def test_json_and_yaml_files_with_or_without_the_regions_key(tmp_path):
    json_file = tmp_path / "regions.json"
    json_file.write_text('{"regions": {"us-east-1": {"endpoint": "http://a:1", "access_key_id": "K", '
                         '"secret_access_key": "S"}, "eu-west-1": {"endpoint": "http://b:2"}}}')
    found = RegionMap.load(json_file, "us-east-1")
    assert found.others() == ["eu-west-1"] and found.names() == {"us-east-1", "eu-west-1"}
    assert (found.regions["us-east-1"].access_key_id, found.regions["us-east-1"].secret_access_key) == ("K", "S")
    yaml_file = tmp_path / "regions.yaml"
    yaml_file.write_text("eu-west-1:\n  endpoint: http://b:2\n  kafka_bootstrap: b:9092\n")
    assert RegionMap.load(yaml_file, "us-east-1").regions["eu-west-1"].kafka_bootstrap == "b:9092"


@pytest.mark.parametrize("text, message", [
    ('["us-east-1"]', "expected a mapping"),
    ('{"eu-west-1": {"url": "http://b"}}', "region 'eu-west-1' needs an 'endpoint'"),
])
def test_malformed_files_are_refused(tmp_path, text, message):
    path = tmp_path / "regions.json"
    path.write_text(text)
    with pytest.raises(RegionsFileError, match=message):
        RegionMap.load(path, "us-east-1")
    with pytest.raises(RegionsFileError, match="cannot read the regions file"):
        RegionMap.load(tmp_path / "missing.json", "us-east-1")
