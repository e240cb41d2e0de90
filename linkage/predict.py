"""Score candidate record pairs with a trained model artefact (DuckDB or Spark, no retraining)."""

from __future__ import annotations

import copy

import pandas as pd

from linkage.backends import Backend
from linkage.model import ModelArtefact, linker_for
from linkage.prepare import prepare, ranked_ids

PAIR_COLUMNS = ("unique_id_l", "unique_id_r", "match_probability", "match_weight")


def predict(
    persons: pd.DataFrame,
    artefact: ModelArtefact,
    threshold: float = 0.5,
    db_path: str | None = None,
    term_frequencies_from: pd.DataFrame | None = None,
    backend: Backend | None = None,
    gammas: bool = False,
) -> pd.DataFrame:
    """Score every pair the model's blocking rules generate and keep those at/above ``threshold``.

    Args:
        persons: Standardised PERSON records (or a ``prepare``d frame).
        artefact: The trained model.
        threshold: Minimum ``match_probability`` kept. Pass the lower bound of the clerical
            review band to also keep uncertain pairs.
        db_path: Optional DuckDB database file, for inputs larger than memory; default in-memory.
        term_frequencies_from: The whole population (``prepare``d) when ``persons`` is only a
            part of it: name frequencies then come from the population, so a pair scores
            exactly as it would in a run over everyone.
        backend: Where the SQL runs (``linkage.backends``); default in-process DuckDB. The same
            artefact scores the same pairs on every backend.
        gammas: Also return one ``gamma_<c>`` column per comparison (the level reached; -1 =
            null). Off by default: Splink then materialises every compared column and every
            Bayes factor of both records of every pair, which at a million records costs more
            than the scoring itself.

    Returns:
        One row per scored pair: ``unique_id_l``, ``unique_id_r`` (``l < r``),
        ``match_probability``, ``match_weight``, ``source_l``, ``source_r`` (and the
        ``gamma_<c>`` columns if asked for), sorted by the two ids.
    """
    model = copy.deepcopy(artefact.settings)
    # Output options, not model parameters: Splink emits gamma_* only with both flags on.
    model.update(retain_matching_columns=gammas, retain_intermediate_calculation_columns=gammas)
    frame = prepare(persons)
    # Splink joins, compares and sorts integer ids faster than text ones (~1.5 s of ~8.5 s at
    # a million records): each record is scored under the rank of its unique_id, so that
    # ``l < r`` holds for the ranks exactly when it holds for the ids, and the ids are put back.
    ids, ranks = ranked_ids(frame["unique_id"])
    linker = linker_for(frame.assign(unique_id=ranks), model, db_path, backend)
    if term_frequencies_from is not None:
        _register_term_frequencies(linker, model, term_frequencies_from)
    scored = linker.inference.predict(threshold_match_probability=threshold, warning_mode="never")
    names = [c.unquote().name for c in scored.columns]
    wanted = [*PAIR_COLUMNS, "source_l", "source_r", *(c for c in names if c.startswith("gamma_"))]
    # Select (and on DuckDB sort) in SQL: the scored table also carries every compared column,
    # both sides, and DuckDB sorts in parallel. The names are plain identifiers, left unquoted:
    # DuckDB quotes with "..." and Spark with `...`.
    select = ", ".join(wanted)
    on_duckdb = (backend or Backend()).name == "duckdb"
    order = " ORDER BY unique_id_l, unique_id_r" if on_duckdb else ""
    kept = linker.misc.query_sql(f"SELECT {select} FROM {scored.physical_name}{order}")
    scored.drop_table_from_database_and_remove_from_cache()
    table = kept.as_pyarrow_table()
    kept.drop_table_from_database_and_remove_from_cache()
    for side in ("unique_id_l", "unique_id_r"):
        at = table.schema.get_field_index(side)
        table = table.set_column(at, side, ids.take(table[side]))
    pairs = table.to_pandas()  # Arrow strings, no Python objects
    if not on_duckdb:  # Spark may re-read even a sorted table unordered: sort here, once
        pairs = pairs.sort_values(["unique_id_l", "unique_id_r"], ignore_index=True)
    return pairs


def _register_term_frequencies(linker, model: dict, population: pd.DataFrame) -> None:
    """Register Splink's term-frequency lookups computed over ``population`` (same formula as
    Splink's own: count of the value / count of non-null values)."""
    columns = {
        level["tf_adjustment_column"]
        for comparison in model["comparisons"]
        for level in comparison["comparison_levels"]
        if level.get("tf_adjustment_column")
    }
    for column in sorted(columns):
        values = population[column].dropna()
        counts = values.value_counts()
        tf = pd.DataFrame(
            {column: counts.index.astype(object), f"tf_{column}": counts.to_numpy() / len(values)}
        )
        table = linker.table_management.register_table(tf, f"_teumtem_tf_{column}", overwrite=True)
        linker.table_management.register_term_frequency_lookup(table, column)
