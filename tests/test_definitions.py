"""The code location Dagster loads: asset graph, checks, jobs, sensor and schedule."""

import json

import dagster as dg

from pipelines.definitions import build_defs
from pipelines.resources import TeumtemStore
from schemas.columns import SOURCES


def _defs(tmp_path):
    store = TeumtemStore(incoming_dir=str(tmp_path / "in"), store_dir=str(tmp_path / "store"))
    return build_defs({"store": store})


def test_asset_graph_snapshot(tmp_path):
    graph = _defs(tmp_path).resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    expected = {f"raw/{s}" for s in SOURCES} | {f"standard/{s}" for s in SOURCES}
    expected |= {"linkage/linked_records", "linkage/golden_child", "store/published"}
    assert keys == expected
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    assert ("linkage/linked_records", "no_oversized_clusters") in checks
    assert {(f"standard/{s}", "conforms_to_standard") for s in SOURCES} <= checks
    # linkage consumes every source's standardised records
    deps = graph.get(dg.AssetKey(["linkage", "linked_records"])).parent_keys
    assert deps == {dg.AssetKey(["standard", s]) for s in SOURCES}


def test_jobs_sensor_and_schedule(tmp_path):
    defs = _defs(tmp_path)
    assert defs.resolve_job_def("ingest_month").partitions_def is not None
    assert defs.resolve_job_def("link_and_publish") is not None
    assert defs.resolve_sensor_def("incoming_files").job_name == "ingest_month"
    schedule = defs.resolve_schedule_def("monthly_link_and_publish")
    assert schedule.execution_timezone == "Asia/Bangkok"


def test_sensor_requests_the_month_of_a_new_delivery(tmp_path):
    defs = _defs(tmp_path)
    folder = tmp_path / "in" / "cpis"
    folder.mkdir(parents=True)
    header = "case_id,opened_at,child_cid,child_name,sex,birth_date,age_years,district_code,"
    header += "address_text,case_type,risk_level,status,closed_at,guardian_name,guardian_phone\n"
    (folder / "cpis_cases_202605.csv").write_bytes(b"\xef\xbb\xbf" + header.encode())
    sensor = defs.resolve_sensor_def("incoming_files")
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance, resources=defs.resources)
        result = sensor(ctx)
    assert [r.partition_key for r in result.run_requests] == ["202605"]


def test_sensor_hashes_a_file_only_when_it_changes(tmp_path, monkeypatch):
    """The sensor ticks every minute: an unchanged delivery is not read again, and a file
    replaced by other bytes is hashed and requested again."""
    from pipelines import stages

    defs = _defs(tmp_path)
    folder = tmp_path / "in" / "cpis"
    folder.mkdir(parents=True)
    header = "case_id,opened_at,child_cid,child_name,sex,birth_date,age_years,district_code,"
    header += "address_text,case_type,risk_level,status,closed_at,guardian_name,guardian_phone\n"
    path = folder / "cpis_cases_202605.csv"
    path.write_bytes(b"\xef\xbb\xbf" + header.encode())
    hashed = []
    real = stages.sha256_file
    monkeypatch.setattr(stages, "sha256_file", lambda p: hashed.append(p.name) or real(p))
    sensor = defs.resolve_sensor_def("incoming_files")
    with dg.instance_for_test() as instance:

        def tick(cursor):
            ctx = dg.build_sensor_context(
                instance=instance, resources=defs.resources, cursor=cursor
            )
            return sensor(ctx)

        first = tick(None)
        assert [r.partition_key for r in first.run_requests] == ["202605"]
        second = tick(first.cursor)
        assert not second.run_requests
        assert second.skip_reason.skip_message == "no new deliveries"
        assert hashed == ["cpis_cases_202605.csv"]  # read once, on the first tick
        replaced = folder / "tmp.csv"
        replaced.write_bytes(b"\xef\xbb\xbf" + header.encode() + b"\r\n")
        replaced.replace(path)  # a re-delivery under the same name
        third = tick(second.cursor)
        assert [r.partition_key for r in third.run_requests] == ["202605"]
        assert hashed == ["cpis_cases_202605.csv"] * 2
        # a cursor written before the checksums were kept (a bare list) is still understood
        legacy = tick(json.dumps(json.loads(third.cursor)["seen"]))
        assert not legacy.run_requests
