"""Two baselines the Thai-aware model must beat: exact PID, and a generic Splink model.

Both return the same frame as ``linkage.cluster.cluster``: ``unique_id``, ``source``,
``record_key``, ``cluster_id`` (smallest ``unique_id`` of the cluster), ``cluster_size``.
"""

from __future__ import annotations

import logging

import pandas as pd
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink.clustering import cluster_pairwise_predictions_at_threshold

from linkage.backends import duckdb_connection
from linkage.prepare import PID_TRUSTED, prepare


def _clusters(frame: pd.DataFrame, group: pd.Series) -> pd.DataFrame:
    out = frame[["unique_id", "source", "record_key"]].copy()
    out["cluster_id"] = out.groupby(group.to_numpy())["unique_id"].transform("min")
    out["cluster_size"] = out.groupby("cluster_id")["unique_id"].transform("size")
    return out


def exact_pid_baseline(persons: pd.DataFrame) -> pd.DataFrame:
    """Records sharing a valid PID (check digit holds) form a cluster; the rest are singletons."""
    frame = prepare(persons)
    trusted = frame["pid"].where(frame["pid_status"].isin(PID_TRUSTED))
    return _clusters(frame, ("pid|" + trusted).fillna("rec|" + frame["unique_id"]))


def plain_settings() -> SettingsCreator:
    """A generic Splink model: library comparisons on the raw standard columns."""
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            cl.ExactMatch("pid"),
            cl.NameComparison("given_name"),
            cl.NameComparison("family_name"),
            cl.DateOfBirthComparison("birth_date", input_is_string=False),
            cl.ExactMatch("sex"),
            cl.ExactMatch("district_code"),
        ],
        # The same frequency-capped keys as the pipeline (pid; family+given name; family name +
        # birth date): uncapped name blocks grow quadratically and at 1M children exhaust memory.
        blocking_rules_to_generate_predictions=[
            block_on("bk_pid"),
            block_on("bk_family_given"),
            block_on("bk_family_dob"),
        ],
        retain_matching_columns=False,
        linker_uid="plain-baseline",
    )


def plain_splink_baseline(
    persons: pd.DataFrame, seed: int = 42, threshold: float = 0.5, max_pairs: float = 1e6
) -> pd.DataFrame:
    """Generic Splink: EM-trained library comparisons, connected components at ``threshold``."""
    frame = prepare(persons)
    columns = [
        "unique_id",
        "source",
        "record_key",
        "pid",
        "given_name",
        "family_name",
        "birth_date",
        "sex",
        "district_code",
        "bk_pid",
        "bk_family_given",
        "bk_family_dob",
        "bk_given_year",
    ]
    db_api = DuckDBAPI(duckdb_connection())  # same memory limit as the pipeline's linker
    table = db_api.register(frame[columns], table_name="plain_input")
    linker = Linker(table, plain_settings(), log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("pid", "birth_date")], recall=0.6
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
    for rule in (block_on("bk_pid"), block_on("bk_family_dob"), block_on("bk_given_year")):
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True
        )
    scored = linker.inference.predict(threshold_match_probability=threshold, warning_mode="never")
    edges = scored.as_pandas_dataframe()[["unique_id_l", "unique_id_r", "match_probability"]]
    components = cluster_pairwise_predictions_at_threshold(
        frame[["unique_id"]], edges, db_api, "unique_id", threshold_match_probability=threshold
    ).as_pandas_dataframe()
    group = frame["unique_id"].map(components.set_index("unique_id")["cluster_id"])
    return _clusters(frame, group.fillna(frame["unique_id"]).astype("str"))
