"""The Splink model: settings as code, deterministic training, and the versioned model artefact.

Link type: ``dedupe_only`` over ONE frame holding every source's records, with
``unique_id = source || '|' || record_key`` and ``source`` as an ordinary column. The same child
appears several times *within* a source (CPIS opens a case row per case, a child moves school or is
registered at two health centres), so within-source pairs must be scored exactly like cross-source
pairs. ``link_and_dedupe`` would score the same pairs but needs one registered table per source
and composite ids (``source_dataset`` + ``unique_id``) in every output; one frame with a globally
unique id keeps pairs, clusters and the review queue keyed by one string, and ``source`` stays an
ordinary column the cluster step reads (one roster entry per child per month).

Training (``train``): u by random sampling with a fixed seed, then EM over the sessions of
``comparisons.training_blocking_rules``, the prior from ``comparisons.deterministic_rules``. The
artefact is Splink's settings JSON plus ``model_version``, ``sha256`` of the canonical JSON (keys
sorted, probabilities rounded to 12 significant digits so float summation order in DuckDB's threads
cannot change the hash) and ``trained_at``. Prediction loads an artefact; it never retrains.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from splink import Linker, SettingsCreator

from linkage import comparisons as comp
from linkage.backends import Backend
from linkage.prepare import prepare, ranked_ids

LINKER_UID = "teumtem"
M_FLOOR = 1e-3  # no level's m below this: EM sends unobserved levels to ~0, a veto on one slip
U_FLOOR = 1e-8  # a level never seen among random pairs (u = 0) would give an infinite weight
# Share of true pairs the deterministic rules find (0.80 measured on simulated extracts).
PRIOR_RECALL = 0.8
# EM sessions keep one block in ceil(records / this) (``comparisons.training_blocking_rules``):
# below it training sees every pair; at 1M children (1.35M records) one block in 5.
EM_RECORDS = 300_000


def settings() -> SettingsCreator:
    """The untrained model: comparisons, prediction blocking rules, dedupe over one frame."""
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=comp.comparisons(),
        blocking_rules_to_generate_predictions=comp.prediction_blocking_rules(),
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
        additional_columns_to_retain=["source"],
        max_iterations=25,
        em_convergence=0.0001,
        linker_uid=LINKER_UID,
    )


def _round(value: Any) -> Any:
    if isinstance(value, float) and math.isfinite(value) and value != 0.0:
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_round(v) for v in value]
    return value


def canonical_json(settings_dict: dict[str, Any]) -> str:
    """The JSON whose sha256 identifies a model: sorted keys, compact, rounded floats."""
    return json.dumps(
        _round(settings_dict), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


@dataclass(frozen=True)
class ModelArtefact:
    """A trained model: Splink settings JSON, its hash and when it was trained."""

    settings: dict[str, Any]
    sha256: str
    model_version: str
    trained_at: str
    training: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_settings(
        cls,
        settings_dict: dict[str, Any],
        training: dict[str, Any] | None = None,
        trained_at: str | None = None,
    ) -> ModelArtefact:
        """Wrap a Splink settings dict, computing its hash and version."""
        clean = json.loads(canonical_json(settings_dict))
        digest = hashlib.sha256(canonical_json(clean).encode("utf-8")).hexdigest()
        return cls(
            settings=clean,
            sha256=digest,
            model_version=f"{comp.SPEC_VERSION}+{digest[:12]}",
            trained_at=trained_at or datetime.now(UTC).isoformat(timespec="seconds"),
            training=training or {},
        )

    def save(self, path: str | Path) -> Path:
        """Write the artefact as JSON (UTF-8) and return the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        body = {
            "model_version": self.model_version,
            "sha256": self.sha256,
            "trained_at": self.trained_at,
            "training": self.training,
            "settings": self.settings,
        }
        path.write_text(
            json.dumps(body, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8"
        )
        return path

    @classmethod
    def load(cls, path: str | Path) -> ModelArtefact:
        """Read an artefact written by ``save``; ``ValueError`` if the hash does not match."""
        body = json.loads(Path(path).read_text(encoding="utf-8"))
        artefact = cls.from_settings(body["settings"], body.get("training"), body["trained_at"])
        if artefact.sha256 != body["sha256"]:
            raise ValueError(f"model artefact {path} does not match its sha256")
        return artefact


def linker_for(
    linkage_input: pd.DataFrame,
    model: SettingsCreator | dict[str, Any],
    db_path: str | None = None,
    backend: Backend | None = None,
) -> Linker:
    """A Splink linker over a prepared frame.

    Args:
        linkage_input: A ``prepare``d frame.
        model: The untrained ``settings()`` or a trained settings dict (any dialect).
        db_path: DuckDB database file; default in-memory. Ignored by Spark.
        backend: Where the SQL runs; default in-process DuckDB.
    """
    backend = backend or Backend()
    if isinstance(model, dict):
        model = for_dialect(model, backend.name)
    db_api = backend.db_api(db_path)
    table = backend.register(db_api, linkage_input)
    # log_level=None: Splink adds no handler of its own and leaves its logger as the caller set
    # it (the CLI keeps EM notes out of the operator's terminal; Dagster captures them).
    return Linker(table, model, log_level=None)


def for_dialect(settings_dict: dict[str, Any], dialect: str) -> dict[str, Any]:
    """A trained settings dict with its comparison SQL in ``dialect`` (returned as is if it
    already is).

    A saved model holds each level's SQL in the dialect it was trained on. Translating that text
    is not enough (DuckDB's ``jaro_winkler_similarity`` is Splink's ``jaro_winkler`` UDF on
    Spark, ``EPOCH`` date arithmetic has no Spark twin), so the comparisons are rendered again
    from ``settings()`` in both dialects: the model's SQL must equal the rendering in its own
    dialect, level by level (the artefact was made by this code), and takes the rendering in
    ``dialect``. Probabilities and everything else are kept. Blocking rules carry their own
    dialect and Splink translates them.

    Raises:
        ValueError: The model's comparisons are not those of this code's ``settings()``.
    """
    source = settings_dict.get("sql_dialect", "duckdb")
    if source == dialect:
        return settings_dict
    ours, theirs = (settings().create_settings_dict(d)["comparisons"] for d in (source, dialect))
    model = json.loads(json.dumps(settings_dict))
    if len(model["comparisons"]) != len(ours):
        raise ValueError("model comparisons differ from this code's; retrain the model")
    for saved, mine, target in zip(model["comparisons"], ours, theirs, strict=True):
        levels = saved["comparison_levels"]
        mine_sql = [lv["sql_condition"] for lv in mine["comparison_levels"]]
        if [lv["sql_condition"] for lv in levels] != mine_sql:
            raise ValueError(
                f"comparison {saved.get('output_column_name')!r} of the model differs from this "
                f"code's ({source} SQL); retrain the model"
            )
        for level, rendered in zip(levels, target["comparison_levels"], strict=True):
            level["sql_condition"] = rendered["sql_condition"]
    model["sql_dialect"] = dialect
    return model


def _floor(probabilities: list[float | None], floor: float) -> list[float]:
    raised = [max(p or 0.0, floor) for p in probabilities]
    total = sum(raised)
    return [p / total for p in raised]


def regularise(settings_dict: dict[str, Any]) -> dict[str, Any]:
    """Floor every non-null level's m and u (then renormalise per comparison).

    EM estimates m only from what the training pairs show. A level never reached by a true match
    in training (a moved child's area, a one-digit slip in a mother's PID) gets m ~ 1e-11, i.e. a
    weight of -35 that no other evidence can outvote; a floor of 1e-3 keeps it a strong but
    finite penalty (about -10). Untrained levels (m or u missing) get the floor too.
    """
    for comparison in settings_dict["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        for key, floor in (("m_probability", M_FLOOR), ("u_probability", U_FLOOR)):
            for level, value in zip(
                levels, _floor([lv.get(key) for lv in levels], floor), strict=True
            ):
                level[key] = value
    return settings_dict


def train(
    persons: pd.DataFrame,
    seed: int = 42,
    max_pairs: float = 1e6,
    backend: Backend | None = None,
) -> ModelArtefact:
    """Train the model on standardised PERSON records (or a ``prepare``d frame).

    Args:
        persons: PERSON records of all sources.
        seed: Seed of the u sampling; with the same data and seed the artefact hash is the same.
        max_pairs: Pairs sampled to estimate u. 1e6 (Splink's default) and 2e6 gave the same
            precision, recall and twins merged at 100k and 1M children; 1e6 trains ~2 s faster
            (u sampling is a fixed cost: most of the training time at 100k).
        backend: Where the SQL runs; default in-process DuckDB. The hash is reproducible per
            backend (u sampling and EM sums differ between engines), not across them.

    Returns:
        The trained ``ModelArtefact``.
    """
    linkage_input = prepare(persons)
    # Integer ids (ranks of the unique_ids) train the same parameters faster (see predict).
    ranks = ranked_ids(linkage_input["unique_id"])[1]
    linker = linker_for(linkage_input.assign(unique_id=ranks), settings(), backend=backend)
    training = linker.training
    training.estimate_probability_two_random_records_match(
        comp.deterministic_rules(), recall=PRIOR_RECALL
    )
    training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
    sample_every = max(1, math.ceil(len(linkage_input) / EM_RECORDS))
    for rule in comp.training_blocking_rules(sample_every):
        training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True
        )
    model = regularise(linker.misc.save_model_to_json())
    info = {
        "seed": seed,
        "records": len(linkage_input),
        "max_pairs": max_pairs,
        "em_block_sample_every": sample_every,
        "spec_version": comp.SPEC_VERSION,
    }
    return ModelArtefact.from_settings(model, training=info)
