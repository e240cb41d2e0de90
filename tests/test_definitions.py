"""The code location Dagster loads: asset graph, checks, jobs, sensor and schedule."""

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
