"""Bad-input drill: broken deliveries fed to `run_load` on top of a good published store.

Each case copies a store that already published month 202605, adds one broken (or repeated)
delivery to a copy of the month-1 incoming folder and checks that the load says what is wrong
with which file, keeps the delivered bytes, and leaves the published store as it was.
"""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipelines import cli
from pipelines.runner import run_load
from sources.base import ExtractError
from sources.generator import generate

CHILDREN = 500
M1, M2 = "202605", "202606"
SCHOOL_M1 = f"schools/bma_students_{M1}.csv"
SCHOOL_M2 = f"schools/bma_students_{M2}.csv"
CPIS_M2 = f"cpis/cpis_cases_{M2}.csv"
EPASS_M2 = f"epassbook/epassbook_{M2}.jsonl"


def _quiet(_: str) -> None:
    return None


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _xref_count(store: Path) -> int:
    with duckdb.connect(str(store / "identity.duckdb"), read_only=True) as con:
        return con.sql("select count(*) from source_xref").fetchall()[0][0]


def _published(store: Path) -> tuple[str, int]:
    """The published version (the name `current` points at; stores are copied) and xref rows."""
    return (store / "current").resolve().name, _xref_count(store)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("drill_gen")
    generate(CHILDREN, seed=11, out_dir=out, months=2)
    return out / "incoming"


@pytest.fixture(scope="module")
def base(generated, tmp_path_factory) -> dict:
    """A store with month 202605 published, and the month-1 incoming folder it came from."""
    incoming = tmp_path_factory.mktemp("drill_in1")
    for f in generated.rglob(f"*{M1}*"):
        dest = incoming / f.relative_to(generated)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, dest)
    store = tmp_path_factory.mktemp("drill_base") / "store"
    run_load(incoming, store, progress=_quiet)
    version, rows = _published(store)
    return {"incoming": incoming, "store": store, "version": version, "rows": rows}


def _drill(base: dict, where: Path) -> tuple[Path, Path]:
    """A private copy of the published store and of the month-1 incoming folder."""
    store, incoming = where / "store", where / "incoming"
    shutil.copytree(base["store"], store, symlinks=True)
    shutil.copytree(base["incoming"], incoming)
    assert (store / "current").resolve().parent == (store / "versions").resolve()
    return store, incoming


def _school_as_utf8(generated: Path, dest: Path) -> None:
    text = (generated / SCHOOL_M2).read_bytes().decode("cp874")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(text.encode("utf-8"))


def _cpis_without(generated: Path, dest: Path, column: str) -> None:
    text = (generated / CPIS_M2).read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    out = io.StringIO()
    fields = [c for c in rows[0] if c != column]
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore", quoting=csv.QUOTE_ALL)
    writer.writeheader()
    writer.writerows(rows)
    dest.write_bytes(out.getvalue().encode("utf-8-sig"))


RETRY_BUG = (
    "assets/ingest.py:18 gives raw assets RetryPolicy(max_retries=2, delay=5), so a deterministic "
    "ExtractError is retried twice (10 s lost) and surfaces as DagsterMaxRetriesExceededError, "
    "which pipelines/runner.py:_unwrap (lines 41-48) does not unwrap; run_load raises the Dagster "
    "error and cli.main (which catches only ExtractError) crashes with a traceback, not exit 2"
)

# case -> (delivered file, how to make it, words the message must hold, bytes kept in raw zone)
CASES = {
    "wrong_encoding": (SCHOOL_M2, "utf8", ("UTF-8", "cp874"), True),
    "missing_column": (CPIS_M2, "no_birth_date", ("birth_date", "missing"), True),
    "empty_file": (EPASS_M2, "empty", ("empty",), True),
    # refused by its name before it is read: not landed, but recorded and its bytes kept
    "future_month": ("cpis/cpis_cases_209901.csv", "future", ("209901", "future"), True),
}


def _make(kind: str, generated: Path, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "utf8":
        _school_as_utf8(generated, path)
    elif kind == "no_birth_date":
        _cpis_without(generated, path, "birth_date")
    elif kind == "empty":
        path.write_bytes(b"")
    else:
        shutil.copyfile(generated / CPIS_M2, path)


@pytest.fixture(scope="module", params=list(CASES))
def failed(request, base, generated, tmp_path_factory) -> dict:
    """One failed load per broken delivery, with what it left behind."""
    rel, kind, words, kept = CASES[request.param]
    store, incoming = _drill(base, tmp_path_factory.mktemp(f"drill_{request.param}"))
    path = incoming / rel
    _make(kind, generated, path)
    before = _sha(path)
    with pytest.raises(Exception) as err:  # noqa: PT011 - the type is checked in its own test
        run_load(incoming, store, progress=_quiet)
    return {
        "case": request.param,
        "rel": rel,
        "words": words,
        "kept": kept,
        "store": store,
        "path": path,
        "sha": before,
        "error": err.value,
    }


def test_failed_load_message_names_file_and_problem(failed):
    message = str(failed["error"])
    assert failed["rel"] in message
    for word in failed["words"]:
        assert word.lower() in message.lower(), word


def test_failed_load_keeps_delivery_and_published_store(failed, base):
    store = failed["store"]
    assert _sha(failed["path"]) == failed["sha"]  # the incoming folder is only read
    assert _kept(store, failed["sha"]) is failed["kept"]
    assert _published(store) == (base["version"], base["rows"])
    m = _manifest(store)
    statuses = m.loc[m["file"] == failed["rel"], "status"].tolist()
    # one 'rejected' entry per attempt: the retry policy (see RETRY_BUG) reads the file 3 times
    assert set(statuses) == ({"rejected"} if failed["kept"] else set())


def test_failed_load_raises_extract_error(failed):
    assert isinstance(failed["error"], ExtractError)
    assert failed["error"].file == failed["rel"]


def _kept(store: Path, sha: str) -> bool:
    kept = store / "raw" / "_deliveries" / sha
    return kept.is_file() and _sha(kept) == sha


def _manifest(store: Path) -> pd.DataFrame:
    return pd.read_parquet(store / "raw" / "_manifest.parquet")


def test_truncated_last_json_line_is_quarantined_and_the_rest_loads(base, generated, tmp_path):
    store, incoming = _drill(base, tmp_path)
    lines = (generated / EPASS_M2).read_bytes().splitlines(keepends=True)
    path = incoming / EPASS_M2
    path.parent.mkdir(parents=True, exist_ok=True)
    last = lines[-1].decode("utf-8")  # cut mid-way at a character boundary, not mid-character
    path.write_bytes(b"".join(lines[:-1]) + last[: len(last) // 2].encode("utf-8"))
    before = _sha(path)
    summary = run_load(incoming, store, progress=_quiet)
    assert _sha(path) == before
    assert _kept(store, before)
    assert summary.months == [M1, M2]
    assert _published(store)[0] != base["version"]
    with duckdb.connect(str(store / "identity.duckdb"), read_only=True) as con:
        rules = con.sql(
            f"select rule, count(*) from quarantine where source = 'epassbook' and month = '{M2}'"
            " group by rule"
        ).fetchall()
    assert ("malformed_json", 1) in rules
    m = _manifest(store)
    row = m[m["file"] == EPASS_M2]
    assert set(row["status"]) == {"landed"}  # one manifest row per raw table of the file
    assert int(row["quarantined"].sum()) == 1


@pytest.fixture(scope="module")
def repeated(base, generated, tmp_path_factory) -> dict:
    """Month 1 re-delivered byte-identical, plus the school file copied under month 2's name."""
    where = tmp_path_factory.mktemp("drill_repeat")
    store, incoming = _drill(base, where)
    shutil.copyfile(incoming / SCHOOL_M1, incoming / SCHOOL_M2)
    try:
        run_load(incoming, store, progress=_quiet)
        error = None
    except Exception as err:  # noqa: BLE001 - asserted in test_duplicate_delivery_load_completes
        error = err
    return {"store": store, "incoming": incoming, "error": error}


DUPLICATE_BUG = (
    "a duplicate delivery under a new month lands no raw table for that month, but runner.py "
    "still selects standard/schools for it; sources/schools.py:125 conform() then raises "
    "KeyError: 'schools' (raw.tables is empty), so the whole load fails"
)


def test_duplicate_delivery_load_completes(repeated):
    assert repeated["error"] is None


def test_same_bytes_under_next_month_name_are_a_duplicate(repeated):
    store = repeated["store"]
    m = _manifest(store)
    school = m[m["file"] == SCHOOL_M2]
    assert school["status"].tolist() == ["duplicate"]
    assert school["problem"].tolist() == [f"same bytes as {SCHOOL_M1}"]
    assert not (store / "raw" / "schools" / "schools" / f"month={M2}").exists()
    # landed once only, under its first name
    landed = m[(m["sha256"] == _sha(repeated["incoming"] / SCHOOL_M1)) & (m["status"] == "landed")]
    assert landed["file"].tolist() == [SCHOOL_M1]


def test_month_redelivered_identically_publishes_nothing_new(base, repeated):
    store = repeated["store"]
    assert _published(store) == (base["version"], base["rows"])
    assert sorted(p.name for p in (store / "versions").iterdir()) == [base["version"]]


def test_cli_run_on_wrong_encoding_exits_2_without_traceback(base, generated, tmp_path, capsys):
    store, incoming = _drill(base, tmp_path)
    _school_as_utf8(generated, incoming / SCHOOL_M2)
    capsys.readouterr()
    code = cli.main(["run", "--incoming", str(incoming), "--store", str(store)])
    err = capsys.readouterr().err
    assert code == 2
    assert "load failed:" in err
    assert SCHOOL_M2 in err and "UTF-8" in err
    assert "Traceback" not in err
    assert _published(store) == (base["version"], base["rows"])
