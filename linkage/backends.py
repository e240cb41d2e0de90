"""Where Splink runs its SQL: DuckDB on one machine (the default) or Spark for national scale.

A ``Backend`` makes a fresh Splink database API for each linker (a Splink API caches its
intermediate tables by name, so two linkers must not share one) and adapts the prepared frame to
what the engine accepts. The model artefact does not change with the backend: a model trained on
DuckDB scores on Spark (``linkage.model.for_dialect`` renders its comparisons in Spark SQL).

Spark needs Splink's similarity UDF jar on its classpath (Jaro-Winkler and Damerau-Levenshtein are
not Spark built-ins) and a checkpoint directory, where Splink writes intermediate tables as
Parquet to cut Spark's lineage; on a cluster that directory must be on storage every executor
reaches. ``spark_session`` sets both. pyspark is an optional dependency (``pip install
'teumtem[spark]'``) and is imported only when a Spark backend is asked for.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from splink import DuckDBAPI

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from splink import SparkAPI

BACKENDS = ("duckdb", "spark")  # also the Splink SQL dialect each one speaks
ENV_BACKEND = "TEUMTEM_LINKAGE_BACKEND"
ENV_SPARK_MASTER = "TEUMTEM_SPARK_MASTER"
ENV_SPARK_CHECKPOINT_DIR = "TEUMTEM_SPARK_CHECKPOINT_DIR"
DEFAULT_SPARK_MASTER = "local[2]"
_QUIET_LOG4J = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
"""


ENV_DUCKDB_MEMORY = "TEUMTEM_DUCKDB_MEMORY_LIMIT"
# DuckDB's own default is 80% of RAM, which it fills as a cache before it spills; beside the
# pandas frames of a 1M-child load that is more than the machine has.
DEFAULT_DUCKDB_MEMORY = "4GB"


def duckdb_connection(db_path: str | None = None):
    """A DuckDB connection for Splink with a bounded memory limit (env
    ``TEUMTEM_DUCKDB_MEMORY_LIMIT``, default 4GB) and a spill directory in the system temp."""
    import duckdb

    limit = os.environ.get(ENV_DUCKDB_MEMORY, DEFAULT_DUCKDB_MEMORY)
    spill = Path(tempfile.gettempdir()) / "teumtem-duckdb-spill"
    spill.mkdir(parents=True, exist_ok=True)
    config = {"memory_limit": limit, "temp_directory": str(spill)}
    return duckdb.connect(db_path or ":memory:", config=config)


@dataclass(frozen=True)
class Backend:
    """A Splink backend: ``duckdb`` (in-process, default) or ``spark`` over ``spark``.

    Attributes:
        name: ``"duckdb"`` or ``"spark"``; also the Splink SQL dialect.
        spark: The Spark session (from ``spark_session``); required for ``"spark"``.
        break_lineage_method: How Splink cuts Spark lineage between steps: ``"parquet"`` (to the
            checkpoint directory; scales), ``"persist"`` or ``"checkpoint"``.
        num_partitions: Partitions Splink repartitions to after blocking; ``None`` = half of
            ``spark.sql.shuffle.partitions``.
    """

    name: str = "duckdb"
    spark: SparkSession | None = None
    break_lineage_method: str = "parquet"
    num_partitions: int | None = None

    def __post_init__(self) -> None:
        if self.name not in BACKENDS:
            raise ValueError(f"unknown linkage backend {self.name!r}; expected one of {BACKENDS}")
        if self.name == "spark" and self.spark is None:
            raise ValueError("the spark backend needs a Spark session (see spark_session)")

    def db_api(self, db_path: str | None = None) -> DuckDBAPI | SparkAPI:
        """A new Splink database API (``db_path``: DuckDB file; ignored by Spark)."""
        if self.name == "duckdb":
            return DuckDBAPI(duckdb_connection(db_path))
        from splink import SparkAPI

        return SparkAPI(
            spark_session=self.spark,
            break_lineage_method=self.break_lineage_method,
            num_partitions_on_repartition=self.num_partitions,
        )

    def register(self, db_api: DuckDBAPI | SparkAPI, frame: pd.DataFrame) -> Any:
        """Register a prepared frame with ``db_api`` as a linker's input; Splink's table handle."""
        if self.name == "duckdb":
            return db_api.register(frame, table_name="linkage_input")
        # A Spark session outlives its linkers and keeps their temporary views: a fixed name
        # would collide with the previous linker's input.
        name = f"linkage_input_{uuid.uuid4().hex[:12]}"
        return db_api.register(spark_frame(frame), table_name=name)


def spark_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of a prepared frame that Spark's pandas conversion accepts, values unchanged.

    Arrow-backed columns (``birth_date`` is ``date32``) become Python objects (``datetime.date``
    or ``None``), pandas' ``str`` columns become objects with ``None`` for missing, nullable
    integers become objects with ``None`` for ``<NA>``; Splink's own cleaning step cannot fill
    a ``date32`` column with NaN.
    """
    out = {}
    for column, values in frame.items():
        dtype = values.dtype
        if isinstance(dtype, pd.ArrowDtype) or pd.api.types.is_string_dtype(dtype):
            objects = values.astype(object)
        elif isinstance(dtype, pd.api.extensions.ExtensionDtype) and not isinstance(
            dtype, pd.CategoricalDtype
        ):
            objects = values.astype(object)
        else:
            out[column] = values
            continue
        out[column] = objects.where(values.notna(), None)
    return pd.DataFrame(out, index=frame.index)


def spark_session(
    master: str = DEFAULT_SPARK_MASTER,
    checkpoint_dir: str | Path | None = None,
    *,
    local_dir: str | Path | None = None,
    app_name: str = "teumtem-linkage",
    conf: Mapping[str, str] | None = None,
) -> SparkSession:
    """Start (or join) a Spark session that Splink can link on.

    Args:
        master: Spark master URL: ``local[2]``, ``spark://host:7077``, ``k8s://https://...``.
        checkpoint_dir: Where Splink writes intermediate Parquet; must be shared storage
            (``hdfs://``, ``s3a://``, a mounted volume) on a cluster. Default: a new temp dir.
        local_dir: Spark's scratch space and SQL warehouse. Default: a new temp dir, so nothing
            is written into the working directory.
        app_name: Name shown in the Spark UI.
        conf: Extra Spark settings, applied last.

    Returns:
        The session, with the similarity jar loaded, time zone UTC (date arithmetic must not
        shift with daylight saving) and driver logging at ERROR.
    """
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    scratch = Path(local_dir or tempfile.mkdtemp(prefix="teumtem-spark-"))
    scratch.mkdir(parents=True, exist_ok=True)
    log4j = scratch / "log4j2.properties"
    log4j.write_text(_QUIET_LOG4J, encoding="utf-8")
    settings = {
        "spark.jars": similarity_jar_location(),
        "spark.sql.session.timeZone": "UTC",
        "spark.local.dir": str(scratch / "local"),
        "spark.sql.warehouse.dir": str(scratch / "warehouse"),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile=file:{log4j}",
        "spark.ui.showConsoleProgress": "false",
    }
    if master.startswith("local"):
        cores = str(_local_cores(master))
        settings.update(
            {
                "spark.sql.shuffle.partitions": cores,
                "spark.default.parallelism": cores,
                "spark.ui.enabled": "false",
            }
        )
    settings.update(conf or {})
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    spark.sparkContext.setCheckpointDir(str(checkpoint_dir or scratch / "checkpoints"))
    return spark


def _local_cores(master: str) -> int:
    """Worker threads of a ``local[N]`` master (``local`` = 1, ``local[*]`` = all cores).

    Used as the shuffle partitions of a local session: Spark's default of 200 leaves a small
    job waiting on empty tasks (one partition per core ran Splink's prediction 20% faster
    than four per core on 1,500 records).
    """
    inside = master.partition("[")[2].split(",")[0].rstrip("]").strip()
    if not inside:
        return 1
    return max(1, int(inside)) if inside.isdigit() else os.cpu_count() or 1


def backend_from_env(environ: Mapping[str, str] | None = None) -> Backend:
    """The backend the environment asks for (read when linkage runs, never at import).

    ``TEUMTEM_LINKAGE_BACKEND``: ``duckdb`` (default) or ``spark``. For Spark,
    ``TEUMTEM_SPARK_MASTER`` (default ``local[2]``) and ``TEUMTEM_SPARK_CHECKPOINT_DIR``
    (default: a temp dir, fine for ``local[*]`` only) configure ``spark_session``.
    """
    env: Mapping[str, Any] = os.environ if environ is None else environ
    name = (env.get(ENV_BACKEND) or "duckdb").strip().lower()
    if name != "spark":
        return Backend(name)
    spark = spark_session(
        (env.get(ENV_SPARK_MASTER) or DEFAULT_SPARK_MASTER).strip(),
        env.get(ENV_SPARK_CHECKPOINT_DIR) or None,
    )
    return Backend("spark", spark=spark)
